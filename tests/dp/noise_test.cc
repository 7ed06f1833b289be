#include "halo/dp/noise.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "dp/distribution_checks.h"
#include "halo/crypto/seeded_prng.h"

namespace halo::dp {
namespace {

using testing::CheckDistribution;

constexpr int64_t kDraws = 1'000'000;

crypto::SeededPrng FixedPrng(char seed) { return *crypto::SeededPrng::Create(std::string(32, seed)); }

TEST_CASE("Bernoulli(exp(-gamma)) is exact for rational gamma below and above one") {
  crypto::SeededPrng prng = FixedPrng(1);
  for (auto [num, den] : std::vector<std::pair<uint64_t, uint64_t>>{{3, 10}, {5, 7}, {17, 10}, {0, 1}, {7, 2}}) {
    int64_t ones = 0;
    for (int64_t i = 0; i < kDraws; ++i) ones += SampleBernoulliExp(num, den, prng);
    const double p = std::exp(-static_cast<double>(num) / den);
    const double se = std::sqrt(p * (1 - p) / kDraws);
    INFO("gamma " << num << "/" << den << ": " << ones << " ones, expected " << p * kDraws);
    CHECK(std::abs(static_cast<double>(ones) / kDraws - p) <= 5 * se + 1e-12);
  }
}

TEST_CASE("Two-sided geometric noise has its exact pmf, mean and variance") {
  for (double scale : {0.8, 3.7, 25.0}) {
    crypto::SeededPrng prng = FixedPrng(2);
    auto noise = TwoSidedGeometric(scale);
    REQUIRE(noise.ok());
    CHECK((*noise)->Variance() == Approx(2 * std::exp(-1 / scale) / std::pow(1 - std::exp(-1 / scale), 2)));
    CheckDistribution("geometric scale " + std::to_string(scale), kDraws,
                      [&] { return (*noise)->Sample(prng); }, [&](int64_t x) { return (*noise)->Pmf(x); },
                      0, (*noise)->Variance());
  }
}

TEST_CASE("Discrete Gaussian noise has its exact pmf, mean and variance") {
  for (double sigma : {0.6, 1.0, 5.3, 80.0}) {
    crypto::SeededPrng prng = FixedPrng(3);
    auto noise = DiscreteGaussian(sigma);
    REQUIRE(noise.ok());
    CheckDistribution("discrete Gaussian sigma " + std::to_string(sigma), kDraws,
                      [&] { return (*noise)->Sample(prng); }, [&](int64_t x) { return (*noise)->Pmf(x); },
                      0, (*noise)->Variance());
  }
}

TEST_CASE("The discrete Gaussian's variance is sigma^2 for sigma above one") {
  // Its variance differs from sigma^2 by a term that falls as exp(-2 pi^2 sigma^2).
  CHECK((*DiscreteGaussian(5.3))->Variance() == Approx(5.3 * 5.3).epsilon(1e-12));
  CHECK((*DiscreteGaussian(1.0))->Variance() == Approx(1.0).epsilon(1e-6));
  CHECK((*DiscreteGaussian(0.3))->Variance() < 0.3 * 0.3);
  // Above sigma 64 the normaliser is taken in closed form: the pmf still
  // sums to one.
  for (double sigma : {63.9, 64.0, 1000.5}) {
    const auto noise = *DiscreteGaussian(sigma);
    double total = 0;
    for (int64_t x = -static_cast<int64_t>(40 * sigma); x <= static_cast<int64_t>(40 * sigma); ++x) {
      total += noise->Pmf(x);
    }
    CHECK(total == Approx(1.0).epsilon(1e-12));
    CHECK(noise->Variance() == Approx(sigma * sigma).epsilon(1e-12));
  }
}

TEST_CASE("Truncated shifted noise lies in [0, 2 shift] with the conditioned pmf") {
  crypto::SeededPrng prng = FixedPrng(4);
  auto noise = DiscreteGaussian(4.0);
  REQUIRE(noise.ok());
  const int64_t shift = 6;
  double mass = 0, mean = 0, second = 0;
  for (int64_t x = -shift; x <= shift; ++x) mass += (*noise)->Pmf(x);
  for (int64_t x = -shift; x <= shift; ++x) {
    mean += (x + shift) * (*noise)->Pmf(x) / mass;
    second += static_cast<double>(x + shift) * (x + shift) * (*noise)->Pmf(x) / mass;
  }
  CheckDistribution(
      "truncated shifted discrete Gaussian", kDraws,
      [&] {
        const int64_t v = *SampleTruncatedShifted(**noise, shift, prng);
        REQUIRE((v >= 0 && v <= 2 * shift));
        return v;
      },
      [&](int64_t v) { return v < 0 || v > 2 * shift ? 0.0 : (*noise)->Pmf(v - shift) / mass; }, mean,
      second - mean * mean);
}

TEST_CASE("Noise parameters out of range are refused, naming them") {
  CHECK_THAT(std::string(TwoSidedGeometric(0).status().message()), Catch::Contains("scale"));
  CHECK_FALSE(TwoSidedGeometric(-1).ok());
  CHECK_FALSE(TwoSidedGeometric(std::nan("")).ok());
  CHECK_THAT(std::string(DiscreteGaussian(0.01).status().message()), Catch::Contains("sigma"));
  CHECK_FALSE(DiscreteGaussian(1e9).ok());
  crypto::SeededPrng prng = FixedPrng(5);
  CHECK_FALSE(SampleTruncatedShifted(**DiscreteGaussian(1), -1, prng).ok());
}

TEST_CASE("Samples are reproducible from a seed and differ across seeds") {
  auto noise = DiscreteGaussian(10);
  crypto::SeededPrng a = FixedPrng(6), b = FixedPrng(6), c = FixedPrng(7);
  std::vector<int64_t> from_a, from_b, from_c;
  for (int i = 0; i < 100; ++i) {
    from_a.push_back((*noise)->Sample(a));
    from_b.push_back((*noise)->Sample(b));
    from_c.push_back((*noise)->Sample(c));
  }
  CHECK(from_a == from_b);
  CHECK(from_a != from_c);
}

}  // namespace
}  // namespace halo::dp
