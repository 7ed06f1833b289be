#include "halo/dp/noise.h"

#include <cmath>

#include "absl/numeric/int128.h"
#include "absl/strings/str_cat.h"

namespace halo::dp {
namespace {

using absl::uint128;

// Uniform in [0, bound) for a 128-bit bound, by rejection.
uint128 UniformBelow128(uint128 bound, RandomSource& random) {
  if (absl::Uint128High64(bound) == 0) return random.UniformBelow(absl::Uint128Low64(bound));
  int bits = 128;
  while (bits > 0 && !((bound - 1) >> (bits - 1) & 1)) --bits;
  const uint128 mask = bits == 128 ? ~uint128(0) : (uint128(1) << bits) - 1;
  while (true) {
    const uint128 value = absl::MakeUint128(random.NextUint64(), random.NextUint64()) & mask;
    if (value < bound) return value;
  }
}

// Bernoulli(exp(-num/den)) for 0 <= num/den <= 1 (CKS Algorithm 1): the
// parity of the first K with Bernoulli(gamma/K) = 0.
bool BernoulliExpUpToOne(uint128 num, uint128 den, RandomSource& random) {
  uint64_t k = 1;
  while (UniformBelow128(den * k, random) < num) ++k;
  return k % 2 == 1;
}

bool BernoulliExp128(uint128 num, uint128 den, RandomSource& random) {
  while (num > den) {
    if (!BernoulliExpUpToOne(1, 1, random)) return false;
    num -= den;
  }
  return BernoulliExpUpToOne(num, den, random);
}

// Discrete Laplace with scale t/s for positive integers (CKS Algorithm 2).
int64_t SampleDiscreteLaplace(uint64_t s, uint64_t t, RandomSource& random) {
  while (true) {
    const uint64_t u = random.UniformBelow(t);
    if (!BernoulliExp128(u, t, random)) continue;
    uint64_t v = 0;
    while (BernoulliExpUpToOne(1, 1, random)) ++v;
    const uint64_t x = u + t * v;
    const int64_t y = static_cast<int64_t>(x / s);
    const bool negative = random.NextUint64() & 1;
    if (negative && y == 0) continue;
    return negative ? -y : y;
  }
}

// value ~ numerator / 2^shift with a numerator of about 40 significant bits.
struct Dyadic {
  uint64_t numerator;
  int shift;
};

Dyadic ToDyadic(double value) {
  int exponent = 0;
  std::frexp(value, &exponent);  // value = m * 2^exponent, m in [0.5, 1)
  const int shift = std::max(0, 40 - exponent);
  return {static_cast<uint64_t>(std::llround(std::ldexp(value, shift))), shift};
}

class TwoSidedGeometricNoise : public IntegerNoise {
 public:
  explicit TwoSidedGeometricNoise(double scale) : scale_(scale), p_(std::exp(-1.0 / scale)) {
    const Dyadic d = ToDyadic(scale);
    t_ = d.numerator;
    s_ = uint64_t{1} << std::min(d.shift, 63);
  }
  int64_t Sample(RandomSource& random) const override { return SampleDiscreteLaplace(s_, t_, random); }
  double Pmf(int64_t x) const override {
    return (1 - p_) / (1 + p_) * std::pow(p_, std::abs(static_cast<double>(x)));
  }
  double Variance() const override { return 2 * p_ / ((1 - p_) * (1 - p_)); }

 private:
  double scale_;
  double p_;
  uint64_t s_;
  uint64_t t_;
};

class DiscreteGaussianNoise : public IntegerNoise {
 public:
  explicit DiscreteGaussianNoise(double sigma) : sigma_(sigma) {
    const Dyadic d = ToDyadic(sigma * sigma);
    variance_num_ = d.numerator;
    variance_shift_ = d.shift;
    t_ = static_cast<uint64_t>(std::floor(sigma)) + 1;
    // Normalising constant and variance. Above sigma 64 they are sigma
    // sqrt(2 pi) and sigma^2 to within exp(-2 pi^2 sigma^2) (Poisson
    // summation), and summing 80 sigma weights would cost a duchy a second
    // of CPU per noise source at the largest sigmas.
    if (sigma >= 64) {
      normalizer_ = sigma * std::sqrt(2 * M_PI);
      variance_ = sigma * sigma;
      return;
    }
    // Below, summed far enough into the tails that the rest is below double
    // precision.
    const int64_t bound = static_cast<int64_t>(std::ceil(40 * sigma)) + 10;
    double z = 0, second_moment = 0;
    for (int64_t x = -bound; x <= bound; ++x) {
      const double w = std::exp(-static_cast<double>(x) * x / (2 * sigma * sigma));
      z += w;
      second_moment += w * x * x;
    }
    normalizer_ = z;
    variance_ = second_moment / z;
  }

  // CKS Algorithm 3 with sigma^2 = P / 2^k held exactly: accept a discrete
  // Laplace draw Y of scale t with probability
  // exp(-(|Y| t 2^k - P)^2 / (2 P 2^k t^2)).
  int64_t Sample(RandomSource& random) const override {
    const uint128 p = variance_num_;
    const uint128 q = uint128(1) << variance_shift_;
    while (true) {
      const int64_t y = SampleDiscreteLaplace(1, t_, random);
      const uint128 a = uint128(static_cast<uint64_t>(std::abs(y))) * t_ * q;
      const uint128 diff = a > p ? a - p : p - a;
      // With sigma <= 2^20 and P of ~40 bits, diff >= 2^64 needs |Y| beyond
      // 2^10 t, a draw of probability below e^-1000 whose acceptance
      // probability is below that again: it is rejected instead of
      // overflowing.
      if (absl::Uint128High64(diff) != 0) continue;
      const uint128 num = diff * diff;
      const uint128 den = 2 * p * q * (uint128(t_) * t_);
      if (BernoulliExp128(num, den, random)) return y;
    }
  }
  double Pmf(int64_t x) const override {
    return std::exp(-static_cast<double>(x) * x / (2 * sigma_ * sigma_)) / normalizer_;
  }
  double Variance() const override { return variance_; }

 private:
  double sigma_;
  uint64_t variance_num_;
  int variance_shift_;
  uint64_t t_;
  double normalizer_;
  double variance_;
};

}  // namespace

bool SampleBernoulliExp(uint64_t numerator, uint64_t denominator, RandomSource& random) {
  return BernoulliExp128(numerator, denominator, random);
}

absl::StatusOr<std::unique_ptr<IntegerNoise>> TwoSidedGeometric(double scale) {
  if (!(scale > 0) || !std::isfinite(scale)) {
    return absl::InvalidArgumentError(absl::StrCat("geometric noise scale must be positive, got ", scale));
  }
  return std::make_unique<TwoSidedGeometricNoise>(scale);
}

absl::StatusOr<std::unique_ptr<IntegerNoise>> DiscreteGaussian(double sigma) {
  if (!(sigma >= 0.1) || !std::isfinite(sigma) || sigma > (1 << 20)) {
    return absl::InvalidArgumentError(
        absl::StrCat("discrete Gaussian sigma must be in [0.1, 2^20], got ", sigma));
  }
  return std::make_unique<DiscreteGaussianNoise>(sigma);
}

absl::StatusOr<int64_t> SampleTruncatedShifted(const IntegerNoise& noise, int64_t shift,
                                               RandomSource& random) {
  if (shift < 0) return absl::InvalidArgumentError(absl::StrCat("noise shift must be >= 0, got ", shift));
  while (true) {
    const int64_t x = noise.Sample(random);
    if (x >= -shift && x <= shift) return x + shift;
  }
}

}  // namespace halo::dp
