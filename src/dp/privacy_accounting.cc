#include "halo/dp/privacy_accounting.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::dp {
namespace {

// log of exp((a - 1)(a rho - e)) / (a - 1) * (1 - 1/a)^a.
double LogConversionTerm(double alpha, double rho, double epsilon) {
  return (alpha - 1) * (alpha * rho - epsilon) - std::log(alpha - 1) + alpha * std::log1p(-1 / alpha);
}

// The minimum over alpha > 1 of the conversion term, in log space: a coarse
// logarithmic scan, then golden-section search around the best point (the
// term is unimodal in alpha).
double LogMinConversion(double rho, double epsilon) {
  double best_alpha = 1 + 1e-9, best = LogConversionTerm(best_alpha, rho, epsilon);
  for (double t = -9; t <= 9; t += 0.05) {
    const double alpha = 1 + std::pow(10.0, t);
    const double value = LogConversionTerm(alpha, rho, epsilon);
    if (value < best) {
      best = value;
      best_alpha = alpha;
    }
  }
  double lo = 1 + (best_alpha - 1) / std::pow(10.0, 0.05), hi = 1 + (best_alpha - 1) * std::pow(10.0, 0.05);
  constexpr double kGolden = 0.6180339887498949;
  for (int i = 0; i < 100; ++i) {
    const double a = hi - kGolden * (hi - lo), b = lo + kGolden * (hi - lo);
    if (LogConversionTerm(a, rho, epsilon) < LogConversionTerm(b, rho, epsilon)) {
      hi = b;
    } else {
      lo = a;
    }
  }
  return std::min(best, LogConversionTerm((lo + hi) / 2, rho, epsilon));
}

}  // namespace

absl::StatusOr<AcdpCharge> NoiseCharge(NoiseMechanism mechanism, PrivacyBudget budget, int contributors) {
  if (contributors < 1) return absl::InvalidArgumentError(absl::StrCat("contributors must be >= 1, got ", contributors));
  ASSIGN_OR_RETURN(double parameter, CalibratedParameter(mechanism, budget, 1));
  const double n = contributors;
  if (mechanism == NoiseMechanism::kGeometric) {
    // Pure epsilon-DP is epsilon^2/2-zCDP. Distributed shares are truncated
    // at 20 standard deviations, where a Laplace tail is e^{-20 sqrt 2}.
    return AcdpCharge{budget.epsilon * budget.epsilon / 2,
                      contributors > 1 ? n * std::exp(-20 * std::numbers::sqrt2) : 0};
  }
  const double sigma = parameter;
  if (contributors == 1) return AcdpCharge{1 / (2 * sigma * sigma), 0};
  // The sum of n discrete Gaussian shares is not a discrete Gaussian; its
  // zCDP cost has the correction lambda (the reference's formula, from
  // Kairouz, Liu and Steinke 2021).
  double lambda = 0;
  for (int i = 1; i < contributors; ++i) {
    lambda += std::exp(-(2 * std::numbers::pi * std::numbers::pi * sigma * sigma / n) * i / (i + 1.0));
  }
  const double epsilon_prime = std::min(std::sqrt(1 / (sigma * sigma) + 5 * lambda), 1 / sigma + 10 * lambda);
  ASSIGN_OR_RETURN(CountNoise plan, PlanCountNoise(mechanism, budget, 1, contributors));
  const double share_sigma = sigma / std::sqrt(n);
  const double shift = static_cast<double>(plan.shift);
  return AcdpCharge{epsilon_prime * epsilon_prime / 2,
                    n * std::exp(-shift * shift / (2 * share_sigma * share_sigma))};
}

double AcdpDelta(const AcdpCharge& total, double epsilon) {
  // (e^epsilon + 1) theta in log space, so a large epsilon does not make
  // infinity times zero.
  const double theta_part =
      total.theta > 0 ? std::exp(epsilon + std::log1p(std::exp(-epsilon)) + std::log(total.theta)) : 0;
  if (total.rho <= 0) return std::min(1.0, theta_part);
  return std::min(1.0, theta_part + std::exp(LogMinConversion(total.rho, epsilon)));
}

double RhoLeft(const AcdpCharge& total, PrivacyBudget budget) {
  if (AcdpDelta(total, budget.epsilon) > budget.delta) return 0;
  // delta grows with rho: bisect for the rho where it reaches the budget.
  double lo = total.rho, hi = std::max(1.0, 2 * total.rho);
  while (AcdpDelta({hi, total.theta}, budget.epsilon) <= budget.delta && hi < 1e12) hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
    const double mid = (lo + hi) / 2;
    (AcdpDelta({mid, total.theta}, budget.epsilon) <= budget.delta ? lo : hi) = mid;
  }
  return lo - total.rho;
}

}  // namespace halo::dp
