#include "direct_result.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/dp/calibration.h"
#include "halo/stats/sampled_estimators.h"

namespace halo::edp {
namespace {

using api::v1::DifferentialPrivacyParams;
using api::v1::MeasurementResult;

// `count` with noise calibrated to `params` at `sensitivity`.
absl::StatusOr<stats::SampledCount> Noised(double count, const DifferentialPrivacyParams& params, double sensitivity,
                                           api::v1::NoiseMechanism mechanism, absl::string_view what,
                                           crypto::RandomSource& random) {
  const dp::NoiseMechanism m =
      mechanism == api::v1::GEOMETRIC ? dp::NoiseMechanism::kGeometric : dp::NoiseMechanism::kDiscreteGaussian;
  auto noise = dp::CalibratedNoise(m, {params.epsilon(), params.delta()}, sensitivity);
  if (!noise.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " privacy params: ", noise.status().message()));
  }
  return stats::SampledCount{count + static_cast<double>((*noise)->Sample(random)), (*noise)->Variance()};
}

absl::Status SetReach(const DifferentialPrivacyParams& params,
                      api::v1::NoiseMechanism mechanism, const VidTally& tally, crypto::RandomSource& random,
                      MeasurementResult& out) {
  ASSIGN_OR_RETURN(stats::SampledCount count,
                   Noised(static_cast<double>(tally.Reach()), params, 1, mechanism, "reach", random));
  ASSIGN_OR_RETURN(stats::Estimate reach, stats::SampledReach(count, tally.sampler().fraction(),
                                                              tally.sampler().order().population_size()));
  out.mutable_reach()->set_value(std::max<int64_t>(0, std::llround(reach.value)));
  out.mutable_reach()->set_standard_error(reach.std_error);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MeasurementResult> ComputeDirectResult(const api::v1::MeasurementSpec& spec,
                                                      api::v1::NoiseMechanism mechanism, const VidTally& tally,
                                                      crypto::RandomSource& random) {
  MeasurementResult out;
  const double width = tally.sampler().fraction();
  const uint64_t population = tally.sampler().order().population_size();
  if (spec.has_reach()) {
    RETURN_IF_ERROR(SetReach(spec.reach().privacy_params(), mechanism, tally, random, out));
  } else if (spec.has_reach_and_frequency()) {
    const auto& rf = spec.reach_and_frequency();
    RETURN_IF_ERROR(SetReach(rf.reach_privacy_params(), mechanism, tally, random, out));
    const std::vector<uint64_t> histogram = tally.Histogram(rf.maximum_frequency());
    std::vector<stats::SampledCount> counts;
    for (uint64_t people : histogram) {
      ASSIGN_OR_RETURN(stats::SampledCount count, Noised(static_cast<double>(people), rf.frequency_privacy_params(),
                                                         1, mechanism, "frequency", random));
      counts.push_back(count);
    }
    ASSIGN_OR_RETURN(stats::FrequencyDistribution distribution, stats::SampledFrequency(counts, width, population));
    for (const stats::Estimate& share : distribution.relative) {
      out.mutable_frequency()->add_relative_frequency(share.value);
      out.mutable_frequency()->add_standard_error(share.std_error);
    }
  } else if (spec.has_impression()) {
    const int64_t cap = spec.impression().maximum_frequency_per_user();
    ASSIGN_OR_RETURN(stats::SampledCount sum,
                     Noised(static_cast<double>(tally.Impressions(static_cast<uint64_t>(cap))),
                            spec.impression().privacy_params(), static_cast<double>(cap), mechanism, "impression",
                            random));
    ASSIGN_OR_RETURN(stats::Estimate impressions, stats::SampledCappedSum(sum, width, static_cast<double>(cap)));
    out.mutable_impression()->set_value(std::max<int64_t>(0, std::llround(impressions.value)));
    out.mutable_impression()->set_standard_error(impressions.std_error);
  } else if (spec.has_duration()) {
    const double cap = spec.duration().maximum_watch_duration_per_user_seconds();
    ASSIGN_OR_RETURN(double seconds, tally.WatchSeconds(cap));
    ASSIGN_OR_RETURN(stats::SampledCount sum, Noised(std::round(seconds), spec.duration().privacy_params(), cap,
                                                     mechanism, "duration", random));
    ASSIGN_OR_RETURN(stats::Estimate duration, stats::SampledCappedSum(sum, width, cap));
    out.mutable_watch_duration()->set_seconds(std::max(0.0, duration.value));
    out.mutable_watch_duration()->set_standard_error(duration.std_error);
  } else {
    return absl::InvalidArgumentError("the measurement spec asks for a population, which needs a population model "
                                      "this agent does not have");
  }
  return out;
}

}  // namespace halo::edp
