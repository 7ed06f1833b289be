// Every protocol under VID sampling, end to end: three duchies, four EDP
// agents whose events come from a population where VID ranges hold one age
// and gender (as a VID model hands them out), and measurements whose filters
// select by those attributes, over intervals of width 0.1, 0.5 and 1 and one
// that wraps past 1. Each result must lie within its standard errors of the
// truth counted from the files over the whole population, and over repeated
// seeds the errors must be as large as the standard errors say: their RMS in
// standard errors lies in [0.8, 1.25]. Noise is replayed from each seed, so
// the test gives the same verdict on every run.
#include <catch2/catch.hpp>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "halo/deployment/in_process_deployment.h"
#include "halo/edp/event_selection.h"
#include "halo/edp/synthetic_events.h"
#include "halo/stats/estimate.h"
#include "testing/measurement_world.h"

namespace halo::edp {
namespace {

using api::v1::Measurement;
using api::v1::MeasurementResult;

constexpr uint64_t kPopulation = 200'000;
constexpr int kMaxFrequency = 4;

// edp4 does not support HMSS, so measurements that include it run LLv2.
testing::MeasurementWorldOptions SampledWorld(uint64_t seed) {
  return {.population = kPopulation,
          .audience = 20'000,
          .seed = seed,
          .edps = {{"edp1", 0.5}, {"edp2", 0.4}, {"edp3", 0.4}, {"edp4", 0.4}},
          .without_hmss = {"edp4"},
          // The classic sketch and less noise between duchies keep LLv2
          // quick; neither changes how VIDs are sampled.
          .protocols = [](config::MeasurementProtocols& p) {
            p.set_llv2_decay_rate(12);
            p.set_llv2_sketch_size(100'000);
            for (auto* noise : {p.mutable_llv2_blinded_histogram_noise(), p.mutable_llv2_publisher_noise()}) {
              noise->set_epsilon(4);
              noise->set_delta(1e-6);
            }
          }};
}

struct Planned {
  std::string title;
  api::v1::Protocol protocol;
  mc::MeasurementRequest request;
  std::vector<std::string> edps;
  std::string filter;
};

// Checks one result against the truth: reach at 3 SE, the frequency
// distribution's buckets together at 3 SE. Adds each figure's error in
// standard errors to `z`.
void Check(const Planned& p, const MeasurementResult& result, const VidTally& truth, std::vector<double>& z) {
  const double reach = static_cast<double>(truth.Reach());
  INFO(p.title << ": reach " << result.reach().value() << " +- " << result.reach().standard_error() << " against "
               << reach);
  REQUIRE(result.reach().standard_error() > 0);
  const double reach_z = (static_cast<double>(result.reach().value()) - reach) / result.reach().standard_error();
  CHECK(std::abs(reach_z) <= 3);
  z.push_back(reach_z);
  if (p.request.type != mc::MeasurementType::kReachAndFrequency) return;
  const std::vector<uint64_t> histogram = truth.Histogram(kMaxFrequency);
  REQUIRE(result.frequency().relative_frequency_size() == kMaxFrequency);
  const double limit = stats::SimultaneousStandardErrors(3, kMaxFrequency);
  for (int k = 0; k < kMaxFrequency; ++k) {
    const double expected = static_cast<double>(histogram[k]) / reach;
    const double se = result.frequency().standard_error(k);
    INFO("frequency " << k + 1 << ": " << result.frequency().relative_frequency(k) << " +- " << se << " against "
                      << expected);
    REQUIRE(se > 0);
    const double bucket_z = (result.frequency().relative_frequency(k) - expected) / se;
    CHECK(std::abs(bucket_z) <= limit);
    z.push_back(bucket_z);
  }
}

TEST_CASE("Every protocol is right under VID sampling over a population whose VID ranges differ") {
  using T = mc::MeasurementType;
  const std::string young_women = "age < 45 && gender == \"F\"";
  const std::string older = "age >= 30";
  std::vector<double> z;
  for (uint64_t seed : {11, 12, 13}) {
    testing::MeasurementWorld w(SampledWorld(seed));
    std::vector<Planned> plan;
    for (sketch::VidSamplingInterval interval : {sketch::VidSamplingInterval{0.3, 0.1}, sketch::VidSamplingInterval{0.2, 0.5},
                                                 sketch::VidSamplingInterval{0, 1}, sketch::VidSamplingInterval{0.8, 0.4}}) {
      const std::string where = absl::StrCat(" over [", interval.start, ", ", interval.start + interval.width, ")");
      auto add = [&](std::string title, api::v1::Protocol protocol, T type, std::vector<std::string> edps,
                     const std::string& filter) {
        plan.push_back({title + where, protocol, w.Request(type, edps, filter, interval), edps, filter});
      };
      add("HMSS", api::v1::HONEST_MAJORITY_SHARE_SHUFFLE, T::kReachAndFrequency, {"edp1", "edp2", "edp3"},
          young_women);
      add("LLv2", api::v1::LIQUID_LEGIONS_V2, T::kReachAndFrequency, {"edp2", "edp4"}, older);
      add("reach-only LLv2", api::v1::REACH_ONLY_LIQUID_LEGIONS_V2, T::kReach, {"edp1", "edp4"}, young_women);
      add("direct", api::v1::DIRECT, T::kReachAndFrequency, {"edp3"}, older);
    }
    std::vector<std::string> names;
    for (const Planned& p : plan) {
      auto created = w.mc().CreateMeasurement(p.request);
      INFO(p.title << ": " << created.status().message());
      REQUIRE(created.ok());
      CHECK(created->protocol_config().protocol() == p.protocol);
      names.push_back(created->name());
    }
    for (size_t i = 0; i < plan.size(); ++i) {
      INFO(plan[i].title);
      Check(plan[i], w.Open(w.Await(names[i])), w.Truth(plan[i].edps, plan[i].filter), z);
    }
  }
  double squares = 0;
  for (double e : z) squares += e * e;
  const double rms = std::sqrt(squares / static_cast<double>(z.size()));
  WARN("RMS error over " << z.size() << " figures: " << rms << " standard errors");
  CHECK(rms >= 0.8);
  CHECK(rms <= 1.25);
}

}  // namespace
}  // namespace halo::edp
