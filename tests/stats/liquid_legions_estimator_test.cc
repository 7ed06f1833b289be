#include "halo/stats/liquid_legions_estimator.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <random>

namespace halo::stats {
namespace {

using sketch::LiquidLegionsParams;
using sketch::RegisterProbability;

// sum_i 1 - exp(-n p_i), straight from the register probabilities.
double PoissonOccupancy(const LiquidLegionsParams& params, double n) {
  double total = 0;
  for (uint64_t i = 0; i < params.size; ++i) total += -std::expm1(-n * RegisterProbability(i, params));
  return total;
}

TEST_CASE("The closed-form occupancy matches the sum over registers") {
  for (const auto& params : {*LiquidLegionsParams::Create(12, 100000, 0),
                             *LiquidLegionsParams::Create(5.6, 1000000, 0)}) {
    for (double n : {1.0, 37.0, 1e3, 1e5, 1e6, 1e7, 1e9}) {
      const double closed = ExpectedActiveRegisters(params.decay_rate, params.size, n);
      const double summed = PoissonOccupancy(params, n);
      INFO("a " << params.decay_rate << " m " << params.size << " n " << n);
      CHECK(closed == Approx(summed).epsilon(1e-4));
    }
  }
  CHECK(ExpectedActiveRegisters(12, 100000, 1) == Approx(1.0).epsilon(1e-4));
  CHECK(ExpectedActiveRegisters(12, 100000, 0) == 0);
}

TEST_CASE("Cardinality inversion is exact to 1e-9 relative") {
  for (double n : {1.0, 12.5, 1e3, 1e5, 1e6, 1e7, 1e8}) {
    const double active = ExpectedActiveRegisters(12, 100000, n);
    auto back = EstimateCardinality(12, 100000, active);
    REQUIRE(back.ok());
    CHECK(std::abs(*back - n) <= 1e-9 * n);
  }
  CHECK(*EstimateCardinality(5.6, 1e6, 0) == 0);
}

TEST_CASE("A saturated or negative count is refused") {
  auto saturated = EstimateCardinality(12, 100, 100);
  REQUIRE_FALSE(saturated.ok());
  CHECK_THAT(std::string(saturated.status().message()), Catch::Contains("saturated"));
  CHECK_FALSE(EstimateCardinality(12, 100, -1).ok());
  CHECK_FALSE(LiquidLegionsReach(*LiquidLegionsParams::Create(12, 100, 0), {.active_registers = 5, .sampling_width = 0}).ok());
}

TEST_CASE("Reach error bars grow with noise and shrink with the sampling width's inverse") {
  const auto params = *LiquidLegionsParams::Create(12, 100000, 0);
  const double active = ExpectedActiveRegisters(12, 100000, 1e6);
  auto plain = LiquidLegionsReach(params, {.active_registers = active});
  auto noisy = LiquidLegionsReach(params, {.active_registers = active, .noise_variance = 1e4});
  auto sampled = LiquidLegionsReach(params, {.active_registers = active, .sampling_width = 0.1});
  REQUIRE((plain.ok() && noisy.ok() && sampled.ok()));
  CHECK(plain->value == Approx(1e6).epsilon(1e-9));
  CHECK(noisy->std_error > plain->std_error);
  CHECK(sampled->value == Approx(1e7).epsilon(1e-9));
  CHECK(sampled->std_error > 10 * plain->std_error);
  // The Liquid Legions paper's relative error for a=12, m=100,000 at 1e6 is about 1%.
  CHECK(plain->std_error / plain->value == Approx(0.01).epsilon(0.5));
}

TEST_CASE("Frequency comes from non-destroyed registers, capped at max frequency") {
  std::vector<sketch::Register> registers = {
      {1, false, 11, 1}, {2, false, 12, 1}, {3, false, 13, 2}, {4, true, 0, 0},
      {5, false, 15, 7}, {6, false, 16, 3}};
  auto frequency = LiquidLegionsFrequency(registers, 3, {1000, 10});
  REQUIRE(frequency.ok());
  CHECK(frequency->sampled_registers == 5);
  CHECK(frequency->relative[0].value == Approx(0.4));
  CHECK(frequency->relative[1].value == Approx(0.2));
  CHECK(frequency->relative[2].value == Approx(0.4));
  CHECK(frequency->reach[0].value == Approx(400));
  // Five people sampled out of a reach of 1000: the finite-population
  // correction is 1 - 5/1000.
  CHECK(frequency->relative[0].std_error == Approx(std::sqrt(0.4 * 0.6 / 5 * (1 - 5.0 / 1000))));
  // No destroyed register and a reach no larger than the sample: exact.
  auto exact = LiquidLegionsFrequency({{1, false, 11, 1}, {2, false, 12, 2}}, 2, {2, 1});
  REQUIRE(exact.ok());
  CHECK(exact->relative[0].std_error == 0);
  CHECK_FALSE(LiquidLegionsFrequency(registers, 0, {1000, 10}).ok());
  CHECK_FALSE(LiquidLegionsFrequency({{4, true, 0, 0}}, 3, {1000, 10}).ok());
}

TEST_CASE("Noise added to the register histogram widens each share by the delta method") {
  // The whole audience sampled (no sampling error), so the spread of the
  // shares over many noise draws is the noise's alone.
  const std::vector<int64_t> truth = {5000, 2500, 1500, 1000};
  const double variance = 400;
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, std::sqrt(variance));
  std::vector<double> z_squared(truth.size(), 0);
  constexpr int kDraws = 4000;
  for (int draw = 0; draw < kDraws; ++draw) {
    std::vector<int64_t> noisy;
    for (int64_t c : truth) noisy.push_back(c + std::llround(noise(rng)));
    auto frequency = FrequencyFromRegisterHistogram(noisy, variance, {10000, 0});
    REQUIRE(frequency.ok());
    for (size_t k = 0; k < truth.size(); ++k) {
      const double z = (frequency->relative[k].value - truth[k] / 10000.0) / frequency->relative[k].std_error;
      z_squared[k] += z * z;
    }
  }
  for (size_t k = 0; k < truth.size(); ++k) {
    INFO("bucket " << k + 1);
    CHECK(std::sqrt(z_squared[k] / kDraws) == Approx(1.0).epsilon(0.06));
  }
  // Without noise and with the whole audience sampled, the shares are exact.
  auto exact = FrequencyFromRegisterHistogram(truth, 0, {10000, 0});
  REQUIRE(exact.ok());
  CHECK(exact->relative[1].value == Approx(0.25));
  CHECK(exact->relative[1].std_error == 0);
  // A noisy negative bucket counts as nothing.
  auto clamped = FrequencyFromRegisterHistogram({10, -3, 10}, 4, {20, 1});
  REQUIRE(clamped.ok());
  CHECK(clamped->relative[1].value == 0);
  CHECK(clamped->relative[0].value == Approx(0.5));
  CHECK_FALSE(FrequencyFromRegisterHistogram({}, 0, {10, 1}).ok());
  CHECK_FALSE(FrequencyFromRegisterHistogram({-1, -2}, 1, {10, 1}).ok());
  CHECK_FALSE(FrequencyFromRegisterHistogram({1, 2}, -1, {10, 1}).ok());
}

}  // namespace
}  // namespace halo::stats
