// Estimates from counts taken over a VID sampling interval of width w, as
// HMSS frequency vectors and direct measurements give them, with standard
// errors from the methodology:
//  - VID sampling: the interval holds w N of a population of N VIDs drawn
//    without replacement, so a sampled count of people has hypergeometric
//    variance w (1 - w) R (N - R) / (N - 1) for true count R (the
//    reference's HMSS variance); N unknown (direct) is taken as infinite,
//    giving R w (1 - w).
//  - DP noise added to each count, of known variance.
// Counts are scaled by 1/w.
#ifndef HALO_STATS_SAMPLED_ESTIMATORS_H_
#define HALO_STATS_SAMPLED_ESTIMATORS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "halo/stats/estimate.h"
#include "halo/stats/liquid_legions_estimator.h"

namespace halo::stats {

struct SampledCount {
  double noisy_count = 0;     // the count over the interval, noise included
  double noise_variance = 0;  // of the noise it includes
};

// Reach of the population from a count over the interval. population_size
// 0 means unknown (infinite). Refuses a width outside (0, 1].
absl::StatusOr<Estimate> SampledReach(const SampledCount& count, double sampling_width,
                                      uint64_t population_size);

// A frequency distribution from per-frequency counts of people
// (counts[k-1] = people seen k times, the last "max or more"), each with its
// own noise.
absl::StatusOr<FrequencyDistribution> SampledFrequency(absl::Span<const SampledCount> counts,
                                                       double sampling_width,
                                                       uint64_t population_size);

// A sum over people (impressions, watch time) with each person's
// contribution capped at `cap`: scaled by 1/w; its sampling variance is
// bounded by w (1 - w) cap S, since the sum of squares is at most cap times
// the sum.
absl::StatusOr<Estimate> SampledCappedSum(const SampledCount& sum, double sampling_width,
                                          double cap);

// Histogram of a combined frequency vector: counts[k-1] = slots with value k,
// for k = 1 .. max_frequency (values above count in the last bucket).
std::vector<uint64_t> FrequencyHistogram(absl::Span<const uint8_t> values, int max_frequency);

}  // namespace halo::stats

#endif  // HALO_STATS_SAMPLED_ESTIMATORS_H_
