// Accuracy of Liquid Legions reach and frequency over synthetic audiences
// with known truth: the truth must lie within 3 standard errors of the
// estimate in at least 99% of trials. The default run covers reach 1e3 to
// 1e5; the "long" label (accuracy_long_test) covers 1e3 to 1e7 with 1,000
// trials each.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "absl/strings/str_cat.h"
#include "halo/crypto/seeded_prng.h"
#include "halo/dp/noise.h"
#include "halo/sketch/frequency_vector.h"
#include "halo/stats/liquid_legions_estimator.h"
#include "halo/stats/sampled_estimators.h"
#include "testing/synthetic_audience.h"

namespace halo::stats {
namespace {

struct Config {
  double decay_rate;
  uint64_t size;
  uint64_t reach;
  int edps;
  bool noise;
};

struct Coverage {
  int trials = 0;
  int reach_covered = 0;
  int buckets = 0;
  int buckets_covered = 0;
  // Sums of squared standardized errors (estimate - truth) / std_error: their
  // mean is near 1 when the error bars are right, and far below 1 when they
  // are too wide.
  double reach_z2 = 0;
  double bucket_z2 = 0;

  double ReachZ() const { return std::sqrt(reach_z2 / trials); }
  double BucketZ() const { return std::sqrt(bucket_z2 / buckets); }
};

double Z2(const Estimate& e, double truth) {
  const double error = e.value - truth;
  // An exact estimate (every person sampled) has no error bar to scale by.
  if (e.std_error == 0) return std::abs(error) < 1e-9 ? 0 : 1e9;
  return error * error / (e.std_error * e.std_error);
}

constexpr int kMaxFrequency = 5;
constexpr double kOverlap = 0.3;

Coverage RunTrials(const Config& config, int trials, crypto::RandomSource& random) {
  Coverage coverage;
  auto noise = dp::TwoSidedGeometric(10.0);  // epsilon 0.1 on the active count
  for (int t = 0; t < trials; ++t) {
    const auto params =
        *sketch::LiquidLegionsParams::Create(config.decay_rate, config.size, random.NextUint64());
    const testing::Audience audience =
        testing::MakeAudience(config.reach, config.edps, kOverlap, kMaxFrequency, random);
    sketch::LiquidLegionsSketch sketch(params);
    for (const auto& events : audience.events_by_edp) {
      sketch::LiquidLegionsSketch edp(params);
      edp.AddEvents(events);
      REQUIRE(sketch.Merge(edp).ok());
    }
    ReachInputs inputs{.active_registers = static_cast<double>(sketch.ActiveRegisterCount())};
    if (config.noise) {
      inputs.active_registers += (*noise)->Sample(random);
      inputs.noise_variance = (*noise)->Variance();
    }
    auto reach = LiquidLegionsReach(params, inputs);
    REQUIRE(reach.ok());
    ++coverage.trials;
    coverage.reach_covered += reach->Covers(static_cast<double>(audience.union_reach), 3);
    coverage.reach_z2 += Z2(*reach, static_cast<double>(audience.union_reach));
    auto frequency = LiquidLegionsFrequency(sketch.registers(), kMaxFrequency, *reach);
    REQUIRE(frequency.ok());
    for (int k = 0; k < kMaxFrequency; ++k) {
      const double truth = static_cast<double>(audience.union_frequency[k]) / audience.union_reach;
      ++coverage.buckets;
      coverage.buckets_covered += frequency->relative[k].Covers(truth, 3);
      coverage.bucket_z2 += Z2(frequency->relative[k], truth);
    }
  }
  return coverage;
}

// `trials_for(reach)` trials a configuration; each must reach
// `per_config_floor` coverage and all together 99%, with error bars neither
// too wide nor too narrow (overall RMS z within [0.8, 1.25]).
void CheckCoverage(const std::vector<Config>& configs, const std::function<int(uint64_t)>& trials_for,
                   double per_config_floor) {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'a'));
  Coverage total;
  for (const Config& config : configs) {
    const Coverage c = RunTrials(config, trials_for(config.reach), random);
    INFO("a " << config.decay_rate << " m " << config.size << " reach " << config.reach << " EDPs "
              << config.edps << (config.noise ? " with noise" : "") << ": reach covered "
              << c.reach_covered << "/" << c.trials << ", frequency buckets " << c.buckets_covered
              << "/" << c.buckets << "; RMS z reach " << c.ReachZ() << ", frequency "
              << c.BucketZ());
    std::printf("a %-4g m %-8llu reach %-9llu EDPs %d%-12s reach %4d/%-4d z %.2f  frequency %5d/%-5d z %.2f\n",
                config.decay_rate, static_cast<unsigned long long>(config.size),
                static_cast<unsigned long long>(config.reach), config.edps,
                config.noise ? " with noise" : "", c.reach_covered, c.trials, c.ReachZ(),
                c.buckets_covered, c.buckets, c.BucketZ());
    CHECK(c.reach_covered >= per_config_floor * c.trials);
    CHECK(c.buckets_covered >= per_config_floor * c.buckets);
    total.trials += c.trials;
    total.reach_covered += c.reach_covered;
    total.buckets += c.buckets;
    total.buckets_covered += c.buckets_covered;
    total.reach_z2 += c.reach_z2;
    total.bucket_z2 += c.bucket_z2;
  }
  INFO("overall: reach " << total.reach_covered << "/" << total.trials << ", frequency "
                         << total.buckets_covered << "/" << total.buckets);
  CHECK(total.reach_covered >= 0.99 * total.trials);
  CHECK(total.buckets_covered >= 0.99 * total.buckets);
  std::printf("overall: reach %d/%d RMS z %.3f, frequency %d/%d RMS z %.3f\n", total.reach_covered,
              total.trials, total.ReachZ(), total.buckets_covered, total.buckets, total.BucketZ());
  CHECK(total.ReachZ() >= 0.8);
  CHECK(total.ReachZ() <= 1.25);
  CHECK(total.BucketZ() >= 0.8);
  CHECK(total.BucketZ() <= 1.25);
}

std::vector<Config> Configs(const std::vector<uint64_t>& reaches, const std::vector<int>& edps) {
  std::vector<Config> configs;
  for (auto [a, m] : std::vector<std::pair<double, uint64_t>>{{12, 100000}, {5.6, 1000000}}) {
    for (uint64_t reach : reaches) {
      for (int e : edps) configs.push_back({a, m, reach, e, e % 2 == 0});
    }
  }
  return configs;
}

TEST_CASE("Reach and frequency lie within 3 standard errors (reach 1e3 to 1e5, 1,800 trials)") {
  // 100 trials a configuration: at 99.7% true coverage, 4 or more misses in
  // one has probability 2e-4.
  CheckCoverage(Configs({1000, 10000, 100000}, {1, 2, 6}), [](uint64_t) { return 100; }, 0.97);
}

TEST_CASE("Reach and frequency lie within 3 standard errors (reach 1e3 to 1e7, 5,040 trials)",
          "[long]") {
  // A trial at reach 1e7 over six EDPs builds 2.5e7 events; 20 of those a
  // configuration (2 misses have probability 1.4e-3), 100 elsewhere.
  CheckCoverage(Configs({1000, 10000, 100000, 1000000, 10000000}, {1, 2, 3, 4, 5, 6}),
                [](uint64_t reach) { return reach >= 10000000 ? 20 : 100; }, 0.95);
}

// Frequency vectors over a VID sampling interval, as HMSS combines them:
// reach and frequency from the noisy histogram of the combined vector.
TEST_CASE("Frequency-vector reach and frequency lie within 3 standard errors") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'f'));
  constexpr uint64_t kPopulation = 1'000'000;
  auto noise = dp::DiscreteGaussian(30.0);
  Coverage total;
  for (double width : {0.1, 0.5, 1.0}) {
    for (uint64_t reach : {1000ULL, 10000ULL, 100000ULL}) {
      const auto spec = *sketch::FrequencyVectorSpec::Create(kPopulation, {0.7, width}, kMaxFrequency, 127);
      for (int t = 0; t < 100; ++t) {
        const testing::Audience audience =
            testing::MakeAudience(reach, 3, kOverlap, kMaxFrequency, random, kPopulation);
        sketch::FrequencyVector vector = *sketch::FrequencyVector::Create(spec);
        for (const auto& events : audience.events_by_edp) vector.AddEvents(events);
        const std::vector<uint64_t> histogram = FrequencyHistogram(vector.values(), kMaxFrequency);
        std::vector<SampledCount> counts;
        double sampled_reach = 0;
        for (uint64_t c : histogram) {
          counts.push_back({static_cast<double>(c) + (*noise)->Sample(random), (*noise)->Variance()});
          sampled_reach += c;
        }
        auto estimate = SampledReach({sampled_reach + (*noise)->Sample(random), (*noise)->Variance()},
                                     width, kPopulation);
        auto frequency = SampledFrequency(counts, width, kPopulation);
        REQUIRE((estimate.ok() && frequency.ok()));
        ++total.trials;
        total.reach_covered += estimate->Covers(static_cast<double>(reach), 3);
        total.reach_z2 += Z2(*estimate, static_cast<double>(reach));
        for (int k = 0; k < kMaxFrequency; ++k) {
          const double truth = static_cast<double>(audience.union_frequency[k]);
          ++total.buckets;
          total.buckets_covered += frequency->reach[k].Covers(truth, 3);
          total.bucket_z2 += Z2(frequency->reach[k], truth);
        }
      }
    }
  }
  INFO("reach " << total.reach_covered << "/" << total.trials << " z " << total.ReachZ()
                << ", frequency " << total.buckets_covered << "/" << total.buckets << " z "
                << total.BucketZ());
  std::printf("frequency vectors: reach %d/%d RMS z %.3f, frequency %d/%d RMS z %.3f\n",
              total.reach_covered, total.trials, total.ReachZ(), total.buckets_covered, total.buckets,
              total.BucketZ());
  CHECK(total.reach_covered >= 0.99 * total.trials);
  CHECK(total.buckets_covered >= 0.99 * total.buckets);
  CHECK((total.ReachZ() >= 0.8 && total.ReachZ() <= 1.25));
  CHECK((total.BucketZ() >= 0.8 && total.BucketZ() <= 1.25));
}

}  // namespace
}  // namespace halo::stats
