#include "halo/dp/calibration.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "dp/distribution_checks.h"
#include "halo/crypto/seeded_prng.h"

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
