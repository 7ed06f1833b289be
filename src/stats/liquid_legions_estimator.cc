#include "halo/stats/liquid_legions_estimator.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::stats {
namespace {

// 1 - (E1(x1) - E1(x2)) / a, without the cancellation the difference of two
// large E1 values suffers for small arguments: by the series
// E1(x) = -gamma - ln x - sum_k (-x)^k / (k k!), it is
// (1/a) sum_k (-1)^(k+1) (x2^k - x1^k) / (k k!).
double OccupiedFraction(double a, double x1, double x2) {
  if (x2 <= 1) {
    double sum = 0, p1 = 1, p2 = 1, factorial = 1;
    for (int k = 1; k < 60; ++k) {
      p1 *= x1;
      p2 *= x2;
      factorial *= k;
      const double term = (p2 - p1) / (k * factorial);
      sum += (k % 2 == 1) ? term : -term;
      if (std::abs(term) < 1e-18 * std::abs(sum)) break;
    }
    return sum / a;
  }
  // std::expint(-x) is Ei(-x) = -E1(x).
  return 1 - (-std::expint(-x1) + std::expint(-x2)) / a;
}

double Derivative(double a, double m, double n) {
  if (n <= 0) return 1;
  const double c1 = a / (m * std::expm1(a));
  const double c2 = c1 * std::exp(a);
  return m / (a * n) * (std::expm1(-c2 * n) - std::expm1(-c1 * n));
}

}  // namespace

double ExpectedActiveRegisters(double a, double m, double n) {
  if (n <= 0) return 0;
  const double c1 = a / (m * std::expm1(a));
  const double c2 = c1 * std::exp(a);
  return m * OccupiedFraction(a, c1 * n, c2 * n);
}

absl::StatusOr<double> EstimateCardinality(double a, double m, double active) {
  if (!(active >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("active register count ", active, " is negative"));
  }
  if (active >= m) {
    return absl::FailedPreconditionError(absl::StrCat(
        "all ", m, " registers are active: the sketch is saturated and bounds no reach"));
  }
  if (active == 0) return 0.0;
  double lo = 0, hi = std::max(1.0, active);
  while (ExpectedActiveRegisters(a, m, hi) < active) {
    lo = hi;
    hi *= 2;
  }
  while (hi - lo > 1e-10 * hi) {
    const double mid = lo + (hi - lo) / 2;
    (ExpectedActiveRegisters(a, m, mid) < active ? lo : hi) = mid;
  }
  return lo + (hi - lo) / 2;
}

absl::StatusOr<Estimate> LiquidLegionsReach(const sketch::LiquidLegionsParams& params,
                                            const ReachInputs& inputs) {
  if (!(inputs.sampling_width > 0 && inputs.sampling_width <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("sampling width must be in (0, 1], got ", inputs.sampling_width));
  }
  if (!(inputs.noise_variance >= 0)) {
    return absl::InvalidArgumentError("noise variance must be >= 0");
  }
  const double a = params.decay_rate;
  const double m = static_cast<double>(params.size);
  // Noise can push the count below zero; no VIDs is the nearest answer.
  const double active = std::max(0.0, inputs.active_registers);
  ASSIGN_OR_RETURN(double n, EstimateCardinality(a, m, active));
  const double w = inputs.sampling_width;
  // Poissonised variance E(2n) - E(n) less the part due to a random number
  // of VIDs, n E'(n)^2: the variance for exactly n VIDs.
  const double slope = Derivative(a, m, n);
  const double active_variance = std::max(
      0.0, ExpectedActiveRegisters(a, m, 2 * n) - ExpectedActiveRegisters(a, m, n) - n * slope * slope);
  const double sampled_variance = (active_variance + inputs.noise_variance) / (slope * slope);
  const double variance = sampled_variance / (w * w) + n * (1 - w) / (w * w);
  return Estimate{n / w, std::sqrt(variance)};
}

absl::StatusOr<FrequencyDistribution> LiquidLegionsFrequency(
    absl::Span<const sketch::Register> registers, int max_frequency, const Estimate& reach) {
  if (max_frequency < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max frequency must be >= 1, got ", max_frequency));
  }
  std::vector<int64_t> histogram(max_frequency, 0);
  uint64_t destroyed = 0;
  for (const sketch::Register& r : registers) {
    if (r.destroyed) ++destroyed;
    if (r.destroyed || r.count == 0) continue;
    ++histogram[std::min<uint64_t>(r.count, max_frequency) - 1];
  }
  return FrequencyFromRegisterHistogram(histogram, 0, reach, destroyed);
}

absl::StatusOr<FrequencyDistribution> FrequencyFromRegisterHistogram(absl::Span<const int64_t> histogram,
                                                                     double bucket_noise_variance,
                                                                     const Estimate& reach,
                                                                     uint64_t destroyed_registers) {
  if (histogram.empty()) return absl::InvalidArgumentError("max frequency must be >= 1, got 0");
  if (!(bucket_noise_variance >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("bucket noise variance must be >= 0, got ", bucket_noise_variance));
  }
  const int buckets = static_cast<int>(histogram.size());
  std::vector<double> counts(buckets);
  double sampled = 0;
  for (int k = 0; k < buckets; ++k) {
    counts[k] = static_cast<double>(std::max<int64_t>(histogram[k], 0));
    sampled += counts[k];
  }
  if (sampled == 0) {
    return absl::FailedPreconditionError("no non-destroyed register to read frequencies from");
  }
  FrequencyDistribution out;
  out.sampled_registers = static_cast<uint64_t>(sampled);
  // The sampled registers are drawn without replacement from the reached
  // people, so a sketch that sees most of its audience pins the shares down.
  // The audience is at least the sampled people plus two for each destroyed
  // register, which bounds it even when noise pulls the reach estimate low.
  const double audience = std::max(reach.value, sampled + 2.0 * static_cast<double>(destroyed_registers));
  const double population_correction = std::max(0.0, 1 - sampled / audience);
  const double r_variance = reach.std_error * reach.std_error;
  for (int k = 0; k < buckets; ++k) {
    const double p = counts[k] / sampled;
    // p = c_k / sum c: noise v in every bucket moves it by
    // v ((1 - p)^2 + (K - 1) p^2) / N^2.
    const double noise_variance =
        bucket_noise_variance * ((1 - p) * (1 - p) + (buckets - 1) * p * p) / (sampled * sampled);
    const double p_variance = p * (1 - p) / sampled * population_correction + noise_variance;
    out.relative.push_back({p, std::sqrt(p_variance)});
    out.reach.push_back({p * reach.value,
                         std::sqrt(p * p * r_variance + reach.value * reach.value * p_variance +
                                   r_variance * p_variance)});
  }
  return out;
}

}  // namespace halo::stats
