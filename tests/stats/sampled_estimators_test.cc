#include "halo/stats/sampled_estimators.h"

#include "halo/stats/estimate.h"

#include <catch2/catch.hpp>
#include <cmath>

namespace halo::stats {
namespace {

TEST_CASE("Sampled reach scales by the width with hypergeometric and noise variance") {
  // The reference's HMSS variance: (w (1-w) (N-R) R / (N-1) + sigma^2) / w^2.
  auto reach = SampledReach({.noisy_count = 1000, .noise_variance = 25}, 0.1, 100000);
  REQUIRE(reach.ok());
  CHECK(reach->value == Approx(10000));
  const double expected = (0.1 * 0.9 * (100000 - 10000) * 10000.0 / 99999 + 25) / 0.01;
  CHECK(reach->std_error == Approx(std::sqrt(expected)));
  // Direct (population unknown): (R w (1-w) + sigma^2) / w^2.
  auto direct = SampledReach({.noisy_count = 1000, .noise_variance = 25}, 0.1, 0);
  CHECK(direct->std_error == Approx(std::sqrt((10000 * 0.1 * 0.9 + 25) / 0.01)));
  // The whole population, no noise: exact.
  CHECK(SampledReach({.noisy_count = 500}, 1, 1000)->std_error == 0);
  CHECK_FALSE(SampledReach({.noisy_count = 5}, 1.5, 10).ok());
}

TEST_CASE("Sampled frequency gives shares and per-bucket reach") {
  std::vector<SampledCount> counts = {{600, 4}, {300, 4}, {100, 4}};
  auto frequency = SampledFrequency(counts, 0.5, 0);
  REQUIRE(frequency.ok());
  CHECK(frequency->relative[0].value == Approx(0.6));
  CHECK(frequency->relative[2].value == Approx(0.1));
  CHECK(frequency->reach[1].value == Approx(600));
  for (const Estimate& e : frequency->relative) CHECK(e.std_error > 0);
}

TEST_CASE("Capped sums scale by the width with a bounded sampling variance") {
  auto impressions = SampledCappedSum({.noisy_count = 5000, .noise_variance = 100}, 0.25, 10);
  REQUIRE(impressions.ok());
  CHECK(impressions->value == Approx(20000));
  CHECK(impressions->std_error == Approx(std::sqrt((0.25 * 0.75 * 10 * 20000 + 100) / 0.0625)));
  CHECK_FALSE(SampledCappedSum({.noisy_count = 5}, 0.5, 0).ok());
}

TEST_CASE("A combined frequency vector's histogram caps at max frequency") {
  const std::vector<uint8_t> values = {0, 1, 1, 2, 3, 9, 0};
  CHECK(FrequencyHistogram(values, 3) == std::vector<uint64_t>{2, 1, 2});
}

TEST_CASE("A distribution's buckets checked together keep one check's false-alarm chance") {
  CHECK(SimultaneousStandardErrors(3, 1) == 3);
  // Two-sided tail of 3 SE is 0.0027; a tenth of it per bucket lies at 3.6425.
  CHECK(SimultaneousStandardErrors(3, 10) == Approx(3.6425).margin(1e-4));
  CHECK(std::erfc(SimultaneousStandardErrors(2, 5) / std::sqrt(2.0)) * 5 == Approx(std::erfc(2 / std::sqrt(2.0))));
}

}  // namespace
}  // namespace halo::stats
