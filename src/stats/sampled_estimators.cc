#include "halo/stats/sampled_estimators.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::stats {
namespace {

absl::Status CheckWidth(double w) {
  if (!(w > 0 && w <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("sampling width must be in (0, 1], got ", w));
  }
  return absl::OkStatus();
}

// Variance of a sampled count of people whose population total is `total`.
double SamplingVariance(double total, double w, uint64_t population) {
  if (population == 0) return total * w * (1 - w);
  const double n = static_cast<double>(population);
  if (n <= 1) return 0;
  const double r = std::clamp(total, 0.0, n);
  return w * (1 - w) * r * (n - r) / (n - 1);
}

}  // namespace

absl::StatusOr<Estimate> SampledReach(const SampledCount& count, double w, uint64_t population) {
  RETURN_IF_ERROR(CheckWidth(w));
  const double reach = std::max(0.0, count.noisy_count) / w;
  const double variance = (SamplingVariance(reach, w, population) + count.noise_variance) / (w * w);
  return Estimate{reach, std::sqrt(variance)};
}

absl::StatusOr<FrequencyDistribution> SampledFrequency(absl::Span<const SampledCount> counts,
                                                       double w, uint64_t population) {
  RETURN_IF_ERROR(CheckWidth(w));
  if (counts.empty()) return absl::InvalidArgumentError("no frequency buckets");
  FrequencyDistribution out;
  double total = 0, total_variance = 0;
  std::vector<double> values, variances;
  for (const SampledCount& c : counts) {
    const double value = std::max(0.0, c.noisy_count);
    const double variance = SamplingVariance(value / w, w, population) + c.noise_variance;
    values.push_back(value);
    variances.push_back(variance);
    total += value;
    total_variance += variance;
  }
  for (size_t k = 0; k < counts.size(); ++k) {
    out.reach.push_back({values[k] / w, std::sqrt(variances[k]) / w});
    // Delta method for X / (X + Rest) with X and Rest independent.
    const double p = total > 0 ? values[k] / total : 0;
    const double rest_variance = total_variance - variances[k];
    const double p_variance =
        total > 0 ? ((1 - p) * (1 - p) * variances[k] + p * p * rest_variance) / (total * total) : 0;
    out.relative.push_back({p, std::sqrt(p_variance)});
  }
  out.sampled_registers = static_cast<uint64_t>(total);
  return out;
}

absl::StatusOr<Estimate> SampledCappedSum(const SampledCount& sum, double w, double cap) {
  RETURN_IF_ERROR(CheckWidth(w));
  if (!(cap > 0)) return absl::InvalidArgumentError(absl::StrCat("cap must be > 0, got ", cap));
  const double value = std::max(0.0, sum.noisy_count) / w;
  const double variance = (w * (1 - w) * cap * value + sum.noise_variance) / (w * w);
  return Estimate{value, std::sqrt(variance)};
}

std::vector<uint64_t> FrequencyHistogram(absl::Span<const uint8_t> values, int max_frequency) {
  std::vector<uint64_t> counts(std::max(1, max_frequency), 0);
  for (uint8_t v : values) {
    if (v > 0) ++counts[std::min<int>(v, max_frequency) - 1];
  }
  return counts;
}

}  // namespace halo::stats
