// Frequency vectors for Honest Majority Share Shuffle: one slot per VID in a
// VID sampling interval, holding that VID's event count capped at
// max_frequency, over a ring Z_q. An EDP splits its vector into two additive
// shares, one of which travels as a 32-byte seed that the receiving worker
// expands.
//
// Slots follow the sampling rule of vid_sampling.h: the population's VIDs in
// their keyed order, restricted to the interval.
#ifndef HALO_SKETCH_FREQUENCY_VECTOR_H_
#define HALO_SKETCH_FREQUENCY_VECTOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "halo/common/large_buffer.h"
#include "halo/crypto/seeded_prng.h"
#include "halo/sketch/liquid_legions.h"
#include "halo/sketch/vid_sampling.h"

namespace halo::sketch {

struct FrequencyVectorSpec {
  uint64_t population_size = 0;
  VidSamplingInterval interval;
  uint32_t max_frequency = 1;  // 1 for reach only
  uint32_t modulus = 127;      // the ring; above max_frequency, at most 256

  // Refuses each out-of-range field by name.
  static absl::StatusOr<FrequencyVectorSpec> Create(uint64_t population_size,
                                                    VidSamplingInterval interval,
                                                    uint32_t max_frequency, uint32_t modulus);
  // The interval over the population, which Create has checked.
  VidSampler Sampler() const;
  uint64_t SlotCount() const { return Sampler().slots(); }
  bool operator==(const FrequencyVectorSpec& other) const {
    return population_size == other.population_size && interval.start == other.interval.start &&
           interval.width == other.interval.width && max_frequency == other.max_frequency &&
           modulus == other.modulus;
  }
};

struct FrequencyVectorShares {
  std::string seed;  // expands to the first share
  LargeBuffer data;  // the second share: value - expanded mod q
};

class FrequencyVector {
 public:
  // All slots zero. RESOURCE_EXHAUSTED when the memory cannot be had.
  static absl::StatusOr<FrequencyVector> Create(const FrequencyVectorSpec& spec);

  // Counts events of VIDs inside the interval, capping each slot at
  // max_frequency. Events outside the interval are left out; the count of
  // those whose VID is not in the population at all is returned, since no
  // slot may stand for them.
  uint64_t AddEvents(absl::Span<const VidEvent> events);

  const FrequencyVectorSpec& spec() const { return spec_; }
  absl::Span<const uint8_t> values() const { return values_.span(); }

  // Splits into two additive shares mod q, the first from a fresh seed. The
  // data share is computed in place and takes this vector's memory, so a
  // 300M-slot vector never exists twice.
  FrequencyVectorShares Split() &&;

 private:
  FrequencyVector(const FrequencyVectorSpec& spec, LargeBuffer values)
      : spec_(spec), sampler_(spec.Sampler()), values_(std::move(values)) {}
  FrequencyVectorSpec spec_;
  VidSampler sampler_;
  LargeBuffer values_;
};

// The share a seed stands for: each keystream byte b below the largest
// multiple of q that fits in a byte gives b mod q; other bytes are skipped.
absl::StatusOr<std::vector<uint8_t>> ExpandShareSeed(absl::string_view seed, uint64_t slots,
                                                     uint32_t modulus);

// The same values in pieces, for consumers that should not hold a whole
// expanded share.
class ShareSeedExpander {
 public:
  // Refuses a seed that is not 32 bytes and a modulus outside [2, 256].
  static absl::StatusOr<ShareSeedExpander> Create(absl::string_view seed, uint32_t modulus);
  // Fills `out` with the next values.
  void Next(absl::Span<uint8_t> out);

 private:
  ShareSeedExpander(crypto::SeededPrng prng, uint32_t modulus)
      : prng_(std::move(prng)), modulus_(modulus), limit_(256 - 256 % modulus) {
    for (uint32_t b = 0; b < 256; ++b) residue_[b] = static_cast<uint8_t>(b % modulus);
  }
  crypto::SeededPrng prng_;
  uint32_t modulus_;
  uint32_t limit_;
  uint8_t residue_[256];
  uint8_t buffer_[4096];
  size_t at_ = sizeof(buffer_);
};

// Slot-wise (a + b) mod q; refuses shares of different lengths or values
// not below q, naming the slot.
absl::StatusOr<std::vector<uint8_t>> AddShares(absl::Span<const uint8_t> a,
                                               absl::Span<const uint8_t> b, uint32_t modulus);

// Ring arithmetic over runs of slots, vectorised: the hot loops of share
// splitting, summing and masking.
//
// The first value in `values` not below `modulus`, or values.size() if all
// are below it.
size_t FirstOutsideRing(absl::Span<const uint8_t> values, uint32_t modulus);
// INVALID_ARGUMENT "{what}: slot N holds V, not below the ring modulus q"
// for the first such slot of `values`, which starts at `first_slot` of its
// share.
absl::Status CheckSlotsInRing(absl::Span<const uint8_t> values, uint64_t first_slot, uint32_t modulus,
                              absl::string_view what);
// sum[i] = (sum[i] + add[i]) mod q, for values below q (q <= 256).
void AddInRing(absl::Span<uint8_t> sum, absl::Span<const uint8_t> add, uint32_t modulus);
// values[i] = (values[i] - subtract[i]) mod q, for values below q.
void SubtractInRing(absl::Span<uint8_t> values, absl::Span<const uint8_t> subtract, uint32_t modulus);

}  // namespace halo::sketch

#endif  // HALO_SKETCH_FREQUENCY_VECTOR_H_
