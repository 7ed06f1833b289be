// Liquid Legions sketches (Kreuter et al., "Privacy-Preserving Secure
// Cardinality and Frequency Estimation"): a VID lands in one of m registers
// chosen by a truncated exponential ("legionary") distribution with decay
// rate a, so a few registers stay informative however large the reach. A
// register holds the index, the VID's fingerprint (its key) and an event
// count; two different keys in one register destroy it.
//
// A sketch keeps only its active registers, sorted by index: memory grows with
// the number of active registers n, never with m.
#ifndef HALO_SKETCH_LIQUID_LEGIONS_H_
#define HALO_SKETCH_LIQUID_LEGIONS_H_

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace halo::sketch {

struct LiquidLegionsParams {
  double decay_rate = 0;    // a > 0
  uint64_t size = 0;        // m, 1 to 2^32 registers
  uint64_t seed = 0;        // fingerprint seed; every EDP of a measurement uses the same

  // Refuses a <= 0 or not finite, a > 100, and m outside [1, 2^32].
  static absl::StatusOr<LiquidLegionsParams> Create(double decay_rate, uint64_t size, uint64_t seed);
  bool operator==(const LiquidLegionsParams& other) const = default;
};

struct Register {
  uint32_t index = 0;
  bool destroyed = false;
  uint64_t key = 0;    // the fingerprint of the register's one VID; 0 when destroyed
  uint64_t count = 0;  // that VID's events; 0 when destroyed
  bool operator==(const Register& other) const = default;
};

struct VidEvent {
  uint64_t vid = 0;
  uint32_t count = 1;
};

// A stable, seeded 64-bit fingerprint of a VID; for each seed it is a
// bijection, so two VIDs never share a key.
uint64_t Fingerprint(uint64_t vid, uint64_t seed);

// The register a fingerprint falls in: the truncated exponential inverse CDF
// of its top 53 bits, floor(m * -ln(1 - u (1 - e^-a)) / a). Every party must
// compute it the same way, so there is exactly one implementation.
class RegisterIndexer {
 public:
  explicit RegisterIndexer(const LiquidLegionsParams& params)
      : scale_(-static_cast<double>(params.size) / params.decay_rate),
        mass_(-std::expm1(-params.decay_rate)),
        last_(params.size - 1) {}

  uint32_t operator()(uint64_t fingerprint) const {
    const double u = static_cast<double>(fingerprint >> 11) * 0x1.0p-53;
    // log(1 - u c) rather than log1p: the index needs x to an absolute
    // 2^-53, which this gives, at a third of log1p's cost.
    const uint64_t index = static_cast<uint64_t>(scale_ * std::log(1 - u * mass_));
    return static_cast<uint32_t>(index < last_ ? index : last_);
  }

 private:
  double scale_;
  double mass_;
  uint64_t last_;
};

inline uint32_t RegisterIndex(uint64_t fingerprint, const LiquidLegionsParams& params) {
  return RegisterIndexer(params)(fingerprint);
}

// The probability that a VID lands in register i.
double RegisterProbability(uint64_t index, const LiquidLegionsParams& params);

class LiquidLegionsSketch {
 public:
  explicit LiquidLegionsSketch(const LiquidLegionsParams& params) : params_(params) {}

  // Adds events in chunks: fingerprint, radix sort by register, merge.
  void AddEvents(absl::Span<const VidEvent> events);
  // Register-wise union: same key adds counts, different keys destroy.
  // Refuses sketches with other parameters.
  absl::Status Merge(const LiquidLegionsSketch& other);

  const LiquidLegionsParams& params() const { return params_; }
  // Active registers, sorted by index.
  absl::Span<const Register> registers() const { return registers_; }
  uint64_t ActiveRegisterCount() const { return registers_.size(); }

  // Versioned binary form: "HLLS", version 1, parameters, registers.
  std::string Serialize() const;
  // Refuses bad magic, unknown versions, bad parameters, truncated or
  // oversized payloads, unsorted or duplicate or out-of-range indexes and
  // inconsistent registers, naming the register.
  static absl::StatusOr<LiquidLegionsSketch> Deserialize(absl::string_view bytes);
  // The same checks, for registers built elsewhere (e.g. decrypted).
  static absl::StatusOr<LiquidLegionsSketch> FromRegisters(const LiquidLegionsParams& params,
                                                           std::vector<Register> registers);

 private:
  void MergeSorted(absl::Span<const Register> sorted);

  LiquidLegionsParams params_;
  std::vector<Register> registers_;
};

}  // namespace halo::sketch

#endif  // HALO_SKETCH_LIQUID_LEGIONS_H_
