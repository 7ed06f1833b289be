// Reach and frequency from a Liquid Legions sketch, with standard errors.
//
// Reach inverts the expected number of active registers for n VIDs,
//   E(n) = m (1 - (E1(n c1) - E1(n c2)) / a),  c1 = a / (m (e^a - 1)),  c2 = c1 e^a,
// the closed form of sum_i 1 - exp(-n p_i) for the legionary distribution.
// Its standard error is the delta method on the variance of the active count
// for exactly n VIDs, Var = E(2n) - E(n) - n E'(n)^2 (the Poissonised
// variance less the part a random n would add), plus any DP noise added to
// that count, divided by E'(n); a VID sampling interval of width w scales reach by 1/w and
// adds the binomial sampling variance R (1 - w) / w.
#ifndef HALO_STATS_LIQUID_LEGIONS_ESTIMATOR_H_
#define HALO_STATS_LIQUID_LEGIONS_ESTIMATOR_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "halo/sketch/liquid_legions.h"
#include "halo/stats/estimate.h"

namespace halo::stats {

// E(n) above; accurate to ~1e-12 relative for every n >= 0.
double ExpectedActiveRegisters(double decay_rate, double size, double n);

// The n with E(n) = active, to 1e-9 relative. Refuses active < 0 or
// active >= m (a saturated sketch carries no reach information).
absl::StatusOr<double> EstimateCardinality(double decay_rate, double size, double active);

struct ReachInputs {
  // Active registers, possibly with DP noise added.
  double active_registers = 0;
  // Variance of the noise added to active_registers (0 if none).
  double noise_variance = 0;
  // Width of the VID sampling interval the sketch covers, in (0, 1].
  double sampling_width = 1;
};

absl::StatusOr<Estimate> LiquidLegionsReach(const sketch::LiquidLegionsParams& params,
                                            const ReachInputs& inputs);

struct FrequencyDistribution {
  // relative[k-1]: the share of reached people seen k times (the last bucket
  // is "max_frequency or more"); reach[k-1] = that share times reach.
  std::vector<Estimate> relative;
  std::vector<Estimate> reach;
  // The non-destroyed active registers the shares were read from.
  uint64_t sampled_registers = 0;
};

// The frequency distribution from the counts of non-destroyed active
// registers (each holds one VID, a uniform sample without replacement of the
// reached VIDs, hence a finite-population correction), scaled by `reach`. Refuses max_frequency < 1 and a sketch with no
// non-destroyed register.
absl::StatusOr<FrequencyDistribution> LiquidLegionsFrequency(
    absl::Span<const sketch::Register> registers, int max_frequency, const Estimate& reach);

// The same from a histogram of non-destroyed register counts (histogram[k-1]:
// registers seen k times, the last bucket "or more") to which the MPC added
// independent noise of variance `bucket_noise_variance` a bucket, as LLv2's
// last stage reveals it. Negative noisy buckets count as 0; the noise widens
// each share's error by the delta method. `destroyed_registers`, if known,
// bounds the audience as above (0 if not). Refuses an empty histogram, a
// negative variance, and a histogram whose buckets sum to nothing.
absl::StatusOr<FrequencyDistribution> FrequencyFromRegisterHistogram(absl::Span<const int64_t> histogram,
                                                                     double bucket_noise_variance,
                                                                     const Estimate& reach,
                                                                     uint64_t destroyed_registers = 0);

}  // namespace halo::stats

#endif  // HALO_STATS_LIQUID_LEGIONS_ESTIMATOR_H_
