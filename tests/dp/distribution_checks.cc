#include "dp/distribution_checks.h"

#include <catch2/catch.hpp>
#include <cmath>

namespace halo::dp::testing {
namespace {

// Chi-square critical value at upper tail probability ~1e-6 (z = 4.753),
// by the Wilson-Hilferty approximation.
double ChiSquareCritical(int df) {
  const double z = 4.753;
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1 - a + z * std::sqrt(a), 3);
}

}  // namespace

DistributionReport CheckDistribution(const std::string& what, int64_t draws,
                                     const std::function<int64_t()>& sample,
                                     const std::function<double(int64_t)>& pmf,
                                     double expected_mean, double expected_variance) {
  std::map<int64_t, int64_t> counts;
  double sum = 0, sum_sq = 0;
  for (int64_t i = 0; i < draws; ++i) {
    const int64_t x = sample();
    ++counts[x];
    sum += x;
    sum_sq += static_cast<double>(x) * x;
  }
  DistributionReport report;
  report.mean = sum / draws;
  report.variance = sum_sq / draws - report.mean * report.mean;

  // Fourth central moment from the pmf, for the spread of the sample variance.
  double mu4 = 0;
  const int64_t span = static_cast<int64_t>(60 * std::sqrt(expected_variance)) + 60;
  for (int64_t x = static_cast<int64_t>(expected_mean) - span;
       x <= static_cast<int64_t>(expected_mean) + span; ++x) {
    const double d = x - expected_mean;
    mu4 += pmf(x) * d * d * d * d;
  }
  const double mean_se = std::sqrt(expected_variance / draws);
  const double variance_se =
      std::sqrt(std::max(mu4 - expected_variance * expected_variance, 0.0) / draws);

  INFO(what << ": mean " << report.mean << " (expected " << expected_mean << " +- " << mean_se
            << "), variance " << report.variance << " (expected " << expected_variance << " +- "
            << variance_se << ")");
  CHECK(std::abs(report.mean - expected_mean) <= 5 * mean_se);
  CHECK(std::abs(report.variance - expected_variance) <= 5 * variance_se + 1e-12);

  // Chi-square over integer bins holding at least 20 expected draws; the
  // tails beyond them form one bin each.
  int64_t lo = static_cast<int64_t>(std::floor(expected_mean));
  int64_t hi = lo;
  while (pmf(lo - 1) * draws >= 20) --lo;
  while (pmf(hi + 1) * draws >= 20) ++hi;
  double below = 0, above = 0;
  for (int64_t x = lo - 1; x > lo - span - 100; --x) below += pmf(x);
  for (int64_t x = hi + 1; x < hi + span + 100; ++x) above += pmf(x);
  int64_t observed_below = 0, observed_above = 0;
  for (const auto& [x, n] : counts) {
    if (x < lo) observed_below += n;
    if (x > hi) observed_above += n;
  }
  double chi = 0;
  int bins = 0;
  auto add_bin = [&](double expected_p, int64_t observed) {
    const double expected = expected_p * draws;
    if (expected < 1e-9) {
      CHECK(observed == 0);
      return;
    }
    chi += (observed - expected) * (observed - expected) / expected;
    ++bins;
  };
  for (int64_t x = lo; x <= hi; ++x) add_bin(pmf(x), counts.count(x) ? counts[x] : 0);
  if (below * draws >= 1) add_bin(below, observed_below);
  if (above * draws >= 1) add_bin(above, observed_above);
  report.degrees_of_freedom = bins - 1;
  report.chi_square = chi;
  report.chi_square_critical = ChiSquareCritical(std::max(1, report.degrees_of_freedom));
  INFO(what << ": chi-square " << chi << " over " << report.degrees_of_freedom
            << " degrees of freedom, critical " << report.chi_square_critical);
  CHECK(report.degrees_of_freedom >= 2);
  CHECK(chi <= report.chi_square_critical);
  return report;
}

}  // namespace halo::dp::testing
