// Frequency vectors for Honest Majority Share Shuffle: one slot per VID in a
// VID sampling interval, holding that VID's event count capped at
// max_frequency, over a ring Z_q. An EDP splits its vector into two additive
// shares, one of which travels as a 32-byte seed that the receiving worker
// expands.
//
// VIDs are the integers [0, population_size) of a population; the interval
// [start, start + width) of [0, 1) (wrapping past 1) selects the VIDs
// floor(start N) .. floor(start N) + round(width N) - 1 (mod N). VIDs should
// be assigned to people at random, as the reference's VID labeller does, so
// that an interval is a uniform sample.
#ifndef HALO_SKETCH_FREQUENCY_VECTOR_H_
#define HALO_SKETCH_FREQUENCY_VECTOR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "halo/crypto/seeded_prng.h"
#include "halo/sketch/liquid_legions.h"

namespace halo::sketch {

struct VidSamplingInterval {
  double start = 0;  // in [0, 1)
  double width = 1;  // in (0, 1]
};

struct FrequencyVectorSpec {
  uint64_t population_size = 0;
  VidSamplingInterval interval;
  uint32_t max_frequency = 1;  // 1 for reach only
  uint32_t modulus = 127;      // the ring; above max_frequency, at most 256

  // Refuses each out-of-range field by name.
  static absl::StatusOr<FrequencyVectorSpec> Create(uint64_t population_size,
                                                    VidSamplingInterval interval,
                                                    uint32_t max_frequency, uint32_t modulus);
  uint64_t FirstVid() const;
  uint64_t SlotCount() const;
  bool operator==(const FrequencyVectorSpec& other) const = default;
};

// Maps a VID to its slot in the interval, or to SlotCount() when it falls
// outside (or outside the population). Cheap enough for every event.
class SlotMapper {
 public:
  explicit SlotMapper(const FrequencyVectorSpec& spec)
      : population_(spec.population_size), first_(spec.FirstVid()), slots_(spec.SlotCount()) {}
  uint64_t operator()(uint64_t vid) const {
    if (vid >= population_) return slots_;
    const uint64_t offset = vid >= first_ ? vid - first_ : vid + population_ - first_;
    return offset < slots_ ? offset : slots_;
  }
  uint64_t slots() const { return slots_; }

 private:
  uint64_t population_;
  uint64_t first_;
  uint64_t slots_;
};

struct FrequencyVectorShares {
  std::string seed;               // expands to the first share
  std::vector<uint8_t> data;      // the second share: value - expanded mod q
};

class FrequencyVector {
 public:
  explicit FrequencyVector(const FrequencyVectorSpec& spec)
      : spec_(spec), values_(spec.SlotCount(), 0) {}

  // Counts events of VIDs inside the interval (others are ignored), capping
  // each slot at max_frequency.
  void AddEvents(absl::Span<const VidEvent> events);

  const FrequencyVectorSpec& spec() const { return spec_; }
  absl::Span<const uint8_t> values() const { return values_; }

  // Splits into two additive shares mod q, the first from a fresh seed.
  FrequencyVectorShares Split() const;

 private:
  FrequencyVectorSpec spec_;
  std::vector<uint8_t> values_;
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
      : prng_(std::move(prng)), modulus_(modulus), limit_(256 - 256 % modulus) {}
  crypto::SeededPrng prng_;
  uint32_t modulus_;
  uint32_t limit_;
  uint8_t buffer_[4096];
  size_t at_ = sizeof(buffer_);
};

// Slot-wise (a + b) mod q; refuses shares of different lengths or values
// not below q, naming the slot.
absl::StatusOr<std::vector<uint8_t>> AddShares(absl::Span<const uint8_t> a,
                                               absl::Span<const uint8_t> b, uint32_t modulus);

}  // namespace halo::sketch

#endif  // HALO_SKETCH_FREQUENCY_VECTOR_H_
