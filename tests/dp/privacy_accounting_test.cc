#include "halo/dp/privacy_accounting.h"

#include <catch2/catch.hpp>

#include <cmath>

namespace halo::dp {
namespace {

// The conversion by brute force over a fine grid of alpha.
double BruteForceDelta(double rho, double theta, double epsilon) {
  double best = 1;
  for (double alpha = 1.0001; alpha < 2000; alpha *= 1.0005) {
    const double term = std::exp((alpha - 1) * (alpha * rho - epsilon)) / (alpha - 1) * std::pow(1 - 1 / alpha, alpha);
    best = std::min(best, term);
  }
  return std::min(1.0, (std::exp(epsilon) + 1) * theta + best);
}

TEST_CASE("The ACDP conversion finds the best alpha") {
  for (double rho : {0.001, 0.0119, 0.1, 0.5, 2.0}) {
    for (double epsilon : {0.5, 1.0, 5.0, 10.0}) {
      const double brute = BruteForceDelta(rho, 0, epsilon);
      INFO("rho " << rho << " epsilon " << epsilon << ": " << AcdpDelta({rho, 0}, epsilon) << " vs " << brute);
      CHECK(AcdpDelta({rho, 0}, epsilon) <= brute * 1.001 + 1e-300);
      CHECK(AcdpDelta({rho, 0}, epsilon) >= brute * 0.98);
    }
  }
  // rho-zCDP implies (rho + 2 sqrt(rho ln(1/delta)), delta)-DP, a looser
  // conversion than the one above.
  for (double rho : {0.01, 0.1, 1.0}) {
    for (double delta : {1e-6, 1e-9, 1e-12}) {
      CHECK(AcdpDelta({rho, 0}, rho + 2 * std::sqrt(rho * std::log(1 / delta))) <= delta);
    }
  }
  CHECK(AcdpDelta({0, 0}, 1) == 0);
  CHECK(AcdpDelta({0, 1e-10}, 1) == Approx((std::exp(1.0) + 1) * 1e-10));
  CHECK(AcdpDelta({0.001, 0}, 1000) < 1e-100);  // no infinity times zero
  CHECK(AcdpDelta({0.001, 1e-300}, 1000) == 1);
  CHECK(AcdpDelta({0.1, 0}, 1) < AcdpDelta({0.2, 0}, 1));
  CHECK(AcdpDelta({0.1, 0}, 2) < AcdpDelta({0.1, 0}, 1));
}

TEST_CASE("A noised count costs what its noise spends") {
  const auto laplace = NoiseCharge(NoiseMechanism::kGeometric, {0.5, 0}, 1);
  REQUIRE(laplace.ok());
  CHECK(laplace->rho == Approx(0.125));
  CHECK(laplace->theta == 0);
  const auto gaussian = NoiseCharge(NoiseMechanism::kDiscreteGaussian, {1, 1e-9}, 1);
  REQUIRE(gaussian.ok());
  const double sigma = *CalibratedParameter(NoiseMechanism::kDiscreteGaussian, {1, 1e-9}, 1);
  CHECK(gaussian->rho == Approx(1 / (2 * sigma * sigma)));
  // At least the reference's charge, whose classic sigma is larger.
  const double classic = std::sqrt(2 * std::log(1.25 / 1e-9));
  CHECK(gaussian->rho >= 1 / (2 * classic * classic));
  // Shares from two or three parties cost a little more, and their
  // truncation almost nothing.
  for (int n : {2, 3}) {
    const auto shared = NoiseCharge(NoiseMechanism::kDiscreteGaussian, {1, 1e-9}, n);
    REQUIRE(shared.ok());
    CHECK(shared->rho >= gaussian->rho);
    CHECK(shared->rho < gaussian->rho * 1.001);
    CHECK(shared->theta < 1e-50);
  }
  CHECK_FALSE(NoiseCharge(NoiseMechanism::kDiscreteGaussian, {1, 0}, 1).ok());
  CHECK_FALSE(NoiseCharge(NoiseMechanism::kGeometric, {0, 0}, 1).ok());
  CHECK_FALSE(NoiseCharge(NoiseMechanism::kGeometric, {1, 0}, 0).ok());
}

TEST_CASE("What is left of a budget is the rho that brings delta to its limit") {
  const PrivacyBudget budget{1, 1e-9};
  const double left = RhoLeft({0, 0}, budget);
  CHECK(left > 0.005);
  CHECK(AcdpDelta({left, 0}, 1) == Approx(1e-9).epsilon(1e-6));
  CHECK(RhoLeft({left * 0.5, 0}, budget) == Approx(left * 0.5).epsilon(1e-6));
  CHECK(RhoLeft({left * 1.01, 0}, budget) == 0);
  // A direct reach at epsilon 1 fills about one such budget.
  const auto one = *NoiseCharge(NoiseMechanism::kDiscreteGaussian, {1, 1e-9}, 1);
  CHECK(one.rho < RhoLeft({0, 0}, {2, 1e-9}));
}

}  // namespace
}  // namespace halo::dp
