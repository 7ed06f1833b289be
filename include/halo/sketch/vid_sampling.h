// The one VID sampling rule every protocol, every EDP and every truth uses.
//
// A population is the VIDs [0, N). Each VID has a position in a keyed
// pseudorandom order of the population (a keyed permutation of [0, N)), and
// u(vid) = position / N is its place in the unit interval. A sampling
// interval [start, start + width), wrapping past 1, selects the positions
// floor(N start) .. floor(N (start + width)) - 1, taken modulo N: the primary
// range first, then the wrapped range. An HMSS frequency vector has one slot
// per selected position, in that order; a sketch or a direct measurement
// counts exactly the VIDs an HMSS vector would hold.
//
// Why a keyed order: VID models hand out contiguous VID ranges by
// demographic, so an interval over raw VIDs is a sample of some people, not
// a random sample of everyone. In a pseudorandom order every VID range is
// sampled at the same rate.
//
// Where we differ from the reference: it sorts the population's VIDs by a
// keyed 64-bit fingerprint and takes a VID's index in that list, which at a
// 300,000,000-VID population is gigabytes of index. We compute the position
// directly with a keyed four-round Feistel permutation over the smallest
// power of two that covers N, walking the cycle until the value lands below
// N. The order is as random for sampling (vid_sampling_test checks that
// samples of VID ranges vary as random ones do), costs about 20 ns a VID and
// no memory, and the interval still holds exactly floor(N (start + width))
// - floor(N start) VIDs. The key is one fixed value for every deployment
// and measurement: EDPs must agree on it for their samples to overlap, and
// an EDP's privacy budget charges VID slices that must hold the same people
// measurement after measurement.
#ifndef HALO_SKETCH_VID_SAMPLING_H_
#define HALO_SKETCH_VID_SAMPLING_H_

#include <cstdint>

#include "absl/status/statusor.h"

namespace halo::sketch {

struct VidSamplingInterval {
  double start = 0;  // in [0, 1)
  double width = 1;  // in (0, 1]
};

// Positions of a population: a bijection of [0, N) to itself. Thread-safe
// and cheap to copy.
class VidOrder {
 public:
  // Refuses an empty population or one above 2^62 VIDs.
  static absl::StatusOr<VidOrder> Create(uint64_t population_size);

  uint64_t population_size() const { return population_; }
  // The position of a VID of the population (vid < population_size()).
  uint64_t Position(uint64_t vid) const;
  // u(vid) = Position(vid) / N.
  double UnitPosition(uint64_t vid) const {
    return static_cast<double>(Position(vid)) / static_cast<double>(population_);
  }

 private:
  VidOrder(uint64_t population, int left_bits, int right_bits)
      : population_(population), left_bits_(left_bits), right_bits_(right_bits) {}
  uint64_t Permute(uint64_t x) const;

  uint64_t population_;
  int left_bits_;
  int right_bits_;
};

// A sampling interval over a population's order: which VIDs it holds and
// each one's slot. Thread-safe and cheap to copy.
class VidSampler {
 public:
  // Refuses, naming the field, a start outside [0, 1), a width outside
  // (0, 1], and a population VidOrder refuses.
  static absl::StatusOr<VidSampler> Create(uint64_t population_size, VidSamplingInterval interval);

  // The slot of `vid`: its offset from the interval's first position, or
  // slots() when the VID is outside the interval or the population.
  uint64_t Slot(uint64_t vid) const {
    if (vid >= order_.population_size()) return slots_;
    if (slots_ == order_.population_size()) return Offset(order_.Position(vid));
    const uint64_t offset = Offset(order_.Position(vid));
    return offset < slots_ ? offset : slots_;
  }
  bool Contains(uint64_t vid) const {
    // The whole population needs no order.
    if (slots_ == order_.population_size()) return vid < slots_;
    return Slot(vid) != slots_;
  }
  bool InPopulation(uint64_t vid) const { return vid < order_.population_size(); }

  // The number of positions the interval holds, 1 to N.
  uint64_t slots() const { return slots_; }
  // slots() / N: the share of the population sampled, within 1/N of width.
  double fraction() const {
    return static_cast<double>(slots_) / static_cast<double>(order_.population_size());
  }
  uint64_t first_position() const { return first_; }
  const VidOrder& order() const { return order_; }
  const VidSamplingInterval& interval() const { return interval_; }

 private:
  VidSampler(VidOrder order, VidSamplingInterval interval, uint64_t first, uint64_t slots)
      : order_(order), interval_(interval), first_(first), slots_(slots) {}
  uint64_t Offset(uint64_t position) const {
    return position >= first_ ? position - first_ : position + order_.population_size() - first_;
  }

  VidOrder order_;
  VidSamplingInterval interval_;
  uint64_t first_;
  uint64_t slots_;
};

}  // namespace halo::sketch

#endif  // HALO_SKETCH_VID_SAMPLING_H_
