#include "halo/dp/calibration.h"

#include "halo/dp/limits.h"

#include <cmath>
#include <random>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::dp {
namespace {

absl::Status CheckBudget(NoiseMechanism mechanism, PrivacyBudget budget, double sensitivity) {
  if (!(budget.epsilon > 0) || !std::isfinite(budget.epsilon)) {
    return absl::InvalidArgumentError(absl::StrCat("epsilon must be > 0, got ", budget.epsilon));
  }
  if (!(budget.delta >= 0) || budget.delta >= 1) {
    return absl::InvalidArgumentError(absl::StrCat("delta must be in [0, 1), got ", budget.delta));
  }
  if (!(sensitivity > 0) || !std::isfinite(sensitivity)) {
    return absl::InvalidArgumentError(absl::StrCat("sensitivity must be > 0, got ", sensitivity));
  }
  if (mechanism == NoiseMechanism::kDiscreteGaussian && budget.delta == 0) {
    return absl::InvalidArgumentError("delta must be > 0 for discrete Gaussian noise");
  }
  return absl::OkStatus();
}

// Below this sigma the tail is summed term by term; above it, in constant
// time, so that an MC's tiny epsilon (a sigma near 2^20) cannot make the
// Kingdom spend seconds checking one measurement.
constexpr double kSummedSigma = 64;

// sum over x >= m of exp(-x^2 / (2 sigma^2)), for an integer m >= 1 and
// sigma >= kSummedSigma, by Euler-Maclaurin: the integral, half the first
// term, and three Bernoulli corrections. The derivatives of the weight are
// Hermite polynomials of m / sigma times the weight over powers of sigma, so
// the remainder is below 1e-12 of the sum for these sigmas.
double HalfLineSum(double sigma, double m) {
  const double u = m / sigma;
  const double w = std::exp(-u * u / 2);
  const double integral = sigma * std::sqrt(M_PI / 2) * std::erfc(u / std::sqrt(2.0));
  const double he1 = u, he3 = u * u * u - 3 * u, he5 = ((u * u - 10) * u * u + 15) * u;
  return integral + w / 2 +
         w * (he1 / (12 * sigma) - he3 / (720 * sigma * sigma * sigma) + he5 / (30240 * std::pow(sigma, 5)));
}

// Upper tail P[X > threshold] of N_Z(0, sigma^2).
double DiscreteGaussianTail(double sigma, double threshold) {
  if (sigma >= kSummedSigma) {
    // The normaliser is sigma sqrt(2 pi) to within exp(-2 pi^2 sigma^2)
    // (Poisson summation): exact in a double.
    const double z = sigma * std::sqrt(2 * M_PI);
    const double first = std::floor(threshold) + 1;  // the least integer above threshold
    if (first >= 1) return HalfLineSum(sigma, first) / z;
    return 1 - HalfLineSum(sigma, 1 - first) / z;  // P[X >= first] = 1 - P[X >= 1 - first]
  }
  // The weights are symmetric: each x > 0 stands for itself and -x.
  const int64_t bound = static_cast<int64_t>(std::ceil(40 * sigma)) + 10;
  double z = 1, tail = 0 > threshold ? 1 : 0;
  for (int64_t x = 1; x <= bound; ++x) {
    const double w = std::exp(-static_cast<double>(x) * x / (2 * sigma * sigma));
    z += 2 * w;
    if (x > threshold) tail += w;
    if (-x > threshold) tail += w;
  }
  return tail / z;
}

// URBG over a RandomSource for the standard library's distributions.
struct Urbg {
  using result_type = uint64_t;
  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return UINT64_MAX; }
  result_type operator()() { return random.NextUint64(); }
  RandomSource& random;
};

// Polya(r, p) - Polya(r, p): the share of two-sided geometric noise.
class PolyaDifferenceNoise : public IntegerNoise {
 public:
  PolyaDifferenceNoise(double shape, double p) : shape_(shape), p_(p) {}

  int64_t Sample(RandomSource& random) const override { return Polya(random) - Polya(random); }

  double Pmf(int64_t x) const override {
    double total = 0;
    for (int64_t j = 0; j < 100000; ++j) {
      const double term = std::exp(LogNegativeBinomial(j) + LogNegativeBinomial(j + std::abs(x)));
      total += term;
      if (j > 10 && term < total * 1e-17) break;
    }
    return total;
  }
  double Variance() const override { return 2 * shape_ * p_ / ((1 - p_) * (1 - p_)); }

 private:
  int64_t Polya(RandomSource& random) const {
    Urbg urbg{random};
    const double lambda = std::gamma_distribution<double>(shape_, p_ / (1 - p_))(urbg);
    return lambda > 0 ? std::poisson_distribution<int64_t>(lambda)(urbg) : 0;
  }
  double LogNegativeBinomial(int64_t k) const {
    return std::lgamma(k + shape_) - std::lgamma(shape_) - std::lgamma(k + 1.0) +
           shape_ * std::log1p(-p_) + k * std::log(p_);
  }

  double shape_;
  double p_;
};

}  // namespace

double DiscreteGaussianDelta(double sigma, double epsilon, double sensitivity) {
  const double center = epsilon * sigma * sigma / sensitivity;
  return DiscreteGaussianTail(sigma, center - sensitivity / 2) -
         std::exp(epsilon) * DiscreteGaussianTail(sigma, center + sensitivity / 2);
}

absl::StatusOr<double> CalibratedParameter(NoiseMechanism mechanism, PrivacyBudget budget,
                                           double sensitivity) {
  RETURN_IF_ERROR(CheckBudget(mechanism, budget, sensitivity));
  if (mechanism == NoiseMechanism::kGeometric) {
    const double scale = sensitivity / budget.epsilon;
    if (!(scale <= kMaxNoiseParameter)) {
      return absl::InvalidArgumentError(absl::StrCat("epsilon ", budget.epsilon, " at sensitivity ", sensitivity,
                                                     " needs a noise scale above 2^20"));
    }
    return scale;
  }
  // delta(sigma) falls as sigma grows: bisect for the smallest sigma that
  // meets the budget.
  double lo = 0.1, hi = 1;
  while (DiscreteGaussianDelta(hi, budget.epsilon, sensitivity) > budget.delta) {
    lo = hi;
    hi *= 2;
    if (hi > kMaxNoiseParameter) {
      return absl::InvalidArgumentError(absl::StrCat(
          "epsilon ", budget.epsilon, " and delta ", budget.delta, " need sigma above 2^20"));
    }
  }
  for (int i = 0; i < 60 && hi - lo > 1e-9 * hi; ++i) {
    const double mid = (lo + hi) / 2;
    (DiscreteGaussianDelta(mid, budget.epsilon, sensitivity) > budget.delta ? lo : hi) = mid;
  }
  return hi;
}

absl::StatusOr<std::unique_ptr<IntegerNoise>> CalibratedNoise(NoiseMechanism mechanism,
                                                              PrivacyBudget budget,
                                                              double sensitivity) {
  ASSIGN_OR_RETURN(double parameter, CalibratedParameter(mechanism, budget, sensitivity));
  if (mechanism == NoiseMechanism::kGeometric) return TwoSidedGeometric(parameter);
  return DiscreteGaussian(parameter);
}

absl::StatusOr<std::unique_ptr<IntegerNoise>> DistributedNoiseShare(NoiseMechanism mechanism,
                                                                    PrivacyBudget budget,
                                                                    double sensitivity,
                                                                    int contributors) {
  if (contributors < 1) {
    return absl::InvalidArgumentError(absl::StrCat("contributors must be >= 1, got ", contributors));
  }
  ASSIGN_OR_RETURN(double parameter, CalibratedParameter(mechanism, budget, sensitivity));
  if (mechanism == NoiseMechanism::kGeometric) {
    if (contributors == 1) return TwoSidedGeometric(parameter);
    return std::make_unique<PolyaDifferenceNoise>(1.0 / contributors, std::exp(-1.0 / parameter));
  }
  return DiscreteGaussian(parameter / std::sqrt(static_cast<double>(contributors)));
}

absl::StatusOr<CountNoise> PlanCountNoise(NoiseMechanism mechanism, PrivacyBudget budget,
                                          double sensitivity, int contributors) {
  CountNoise plan;
  ASSIGN_OR_RETURN(plan.share, DistributedNoiseShare(mechanism, budget, sensitivity, contributors));
  plan.shift = static_cast<int64_t>(std::ceil(20 * std::sqrt(plan.share->Variance()))) + 1;
  plan.total_variance = contributors * plan.share->Variance();
  return plan;
}

}  // namespace halo::dp
