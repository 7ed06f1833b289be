#include "halo/dp/calibration.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "dp/distribution_checks.h"
#include "halo/crypto/seeded_prng.h"
#include "halo/dp/limits.h"

namespace halo::dp {
namespace {

TEST_CASE("Geometric calibration is sensitivity over epsilon") {
  CHECK(*CalibratedParameter(NoiseMechanism::kGeometric, {.epsilon = 0.5}, 2) == Approx(4.0));
}

TEST_CASE("Discrete Gaussian calibration meets the budget and is tight") {
  for (PrivacyBudget budget : {PrivacyBudget{1.0, 1e-5}, PrivacyBudget{0.1, 1e-9}, PrivacyBudget{2.0, 1e-3}}) {
    auto sigma = CalibratedParameter(NoiseMechanism::kDiscreteGaussian, budget, 1);
    REQUIRE(sigma.ok());
    INFO("epsilon " << budget.epsilon << " delta " << budget.delta << " sigma " << *sigma);
    CHECK(DiscreteGaussianDelta(*sigma, budget.epsilon, 1) <= budget.delta);
    CHECK(DiscreteGaussianDelta(*sigma * 0.99, budget.epsilon, 1) > budget.delta);
    // Never looser than the classic continuous bound for epsilon < 1.
    if (budget.epsilon < 1) CHECK(*sigma <= std::sqrt(2 * std::log(1.25 / budget.delta)) / budget.epsilon);
  }
}

// delta(sigma) of the discrete Gaussian by summing every weight, in long
// double: what the constant-time tails for large sigmas must agree with.
double SummedDelta(double sigma, double epsilon, double sensitivity) {
  const int64_t bound = static_cast<int64_t>(40 * sigma) + 10;
  const long double center = static_cast<long double>(epsilon) * sigma * sigma / sensitivity;
  long double z = 0, above_low = 0, above_high = 0;
  for (int64_t x = -bound; x <= bound; ++x) {
    const long double w = std::exp(-static_cast<long double>(x) * x / (2.0L * sigma * sigma));
    z += w;
    if (x > center - sensitivity / 2.0L) above_low += w;
    if (x > center + sensitivity / 2.0L) above_high += w;
  }
  return static_cast<double>((above_low - std::exp(static_cast<long double>(epsilon)) * above_high) / z);
}

TEST_CASE("The discrete Gaussian's delta for large sigmas, found in constant time, is the summed one") {
  for (double sigma : {64.0, 100.5, 1000.0, 4321.7}) {
    for (double epsilon : {1e-4, 1e-3, 0.01, 0.1, 1.0}) {
      for (double sensitivity : {1.0, 5.0}) {
        const double summed = SummedDelta(sigma, epsilon, sensitivity);
        INFO("sigma " << sigma << " epsilon " << epsilon << " sensitivity " << sensitivity << " summed " << summed);
        CHECK(std::abs(DiscreteGaussianDelta(sigma, epsilon, sensitivity) - summed) <= 1e-9 * summed + 1e-15);
      }
    }
  }
}

TEST_CASE("An epsilon so small that sigma nears 2^20 is calibrated, and one beyond it refused") {
  // Before the constant-time tails, each took the Kingdom seconds of CPU.
  auto near_cap = CalibratedParameter(NoiseMechanism::kDiscreteGaussian, {.epsilon = 1e-5, .delta = 1e-9}, 1);
  REQUIRE(near_cap.ok());
  CHECK(*near_cap > 250000);
  CHECK(*near_cap < kMaxNoiseParameter);
  CHECK(DiscreteGaussianDelta(*near_cap, 1e-5, 1) <= 1e-9);
  auto beyond = CalibratedParameter(NoiseMechanism::kDiscreteGaussian, {.epsilon = 1e-6, .delta = 1e-9}, 1);
  REQUIRE_FALSE(beyond.ok());
  CHECK_THAT(std::string(beyond.status().message()), Catch::Contains("2^20"));
}

TEST_CASE("Calibration refuses bad budgets, naming the parameter") {
  auto no_delta = CalibratedNoise(NoiseMechanism::kDiscreteGaussian, {.epsilon = 1, .delta = 0}, 1);
  REQUIRE_FALSE(no_delta.ok());
  CHECK_THAT(std::string(no_delta.status().message()), Catch::Contains("delta"));
  CHECK_THAT(std::string(CalibratedNoise(NoiseMechanism::kGeometric, {.epsilon = 0}, 1).status().message()),
             Catch::Contains("epsilon"));
  CHECK_THAT(std::string(CalibratedNoise(NoiseMechanism::kGeometric, {.epsilon = 1}, -1).status().message()),
             Catch::Contains("sensitivity"));
  CHECK_FALSE(CalibratedNoise(NoiseMechanism::kGeometric, {.epsilon = 1, .delta = 1}, 1).ok());
  CHECK_FALSE(DistributedNoiseShare(NoiseMechanism::kGeometric, {.epsilon = 1}, 1, 0).ok());
}

TEST_CASE("Distributed geometric shares sum to exactly two-sided geometric noise") {
  crypto::SeededPrng prng = *crypto::SeededPrng::Create(std::string(32, 'g'));
  const PrivacyBudget budget{.epsilon = 0.4};
  auto share = DistributedNoiseShare(NoiseMechanism::kGeometric, budget, 1, 3);
  auto whole = CalibratedNoise(NoiseMechanism::kGeometric, budget, 1);
  REQUIRE((share.ok() && whole.ok()));
  CHECK((*share)->Variance() * 3 == Approx((*whole)->Variance()));
  testing::CheckDistribution(
      "sum of 3 geometric shares", 1'000'000,
      [&] { return (*share)->Sample(prng) + (*share)->Sample(prng) + (*share)->Sample(prng); },
      [&](int64_t x) { return (*whole)->Pmf(x); }, 0, (*whole)->Variance());
  // A single share has its own (Polya difference) pmf.
  testing::CheckDistribution("one geometric share", 1'000'000, [&] { return (*share)->Sample(prng); },
                             [&](int64_t x) { return (*share)->Pmf(x); }, 0, (*share)->Variance());
}

TEST_CASE("Distributed discrete Gaussian shares sum to the calibrated variance") {
  crypto::SeededPrng prng = *crypto::SeededPrng::Create(std::string(32, 'd'));
  const PrivacyBudget budget{.epsilon = 0.5, .delta = 1e-6};
  auto share = DistributedNoiseShare(NoiseMechanism::kDiscreteGaussian, budget, 1, 3);
  auto whole = CalibratedNoise(NoiseMechanism::kDiscreteGaussian, budget, 1);
  REQUIRE((share.ok() && whole.ok()));
  CHECK((*share)->Variance() * 3 == Approx((*whole)->Variance()).epsilon(1e-9));
  testing::CheckDistribution(
      "sum of 3 discrete Gaussian shares", 1'000'000,
      [&] { return (*share)->Sample(prng) + (*share)->Sample(prng) + (*share)->Sample(prng); },
      [&](int64_t x) { return (*whole)->Pmf(x); }, 0, (*whole)->Variance());
}

}  // namespace
}  // namespace halo::dp

namespace halo::dp {
namespace {

TEST_CASE("Count noise is shifted by 20 standard deviations of its share") {
  auto plan = PlanCountNoise(NoiseMechanism::kDiscreteGaussian, {.epsilon = 1, .delta = 1e-6}, 1, 3);
  REQUIRE(plan.ok());
  CHECK(plan->shift == static_cast<int64_t>(std::ceil(20 * std::sqrt(plan->share->Variance()))) + 1);
  CHECK(plan->total_variance == Approx(3 * plan->share->Variance()));
  CHECK_FALSE(PlanCountNoise(NoiseMechanism::kGeometric, {.epsilon = 0}, 1, 3).ok());
}

}  // namespace
}  // namespace halo::dp
