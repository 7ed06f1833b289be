// Integer noise for differential privacy, sampled exactly: no floating point
// enters a sample, following Canonne, Kamath and Steinke, "The Discrete
// Gaussian for Differential Privacy" (2020). The one approximation is the
// parameter itself: a scale or variance given as a double is held as a
// rational with at least 40 significant bits.
#ifndef HALO_DP_NOISE_H_
#define HALO_DP_NOISE_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "halo/crypto/random.h"

namespace halo::dp {

using crypto::RandomSource;

// A distribution over the integers, symmetric around zero.
class IntegerNoise {
 public:
  virtual ~IntegerNoise() = default;
  virtual int64_t Sample(RandomSource& random) const = 0;
  // The probability of `x`, computed in floating point (for tests and
  // calibration; sampling does not use it).
  virtual double Pmf(int64_t x) const = 0;
  virtual double Variance() const = 0;
};

// P(x) proportional to exp(-|x| / scale): the two-sided geometric (discrete
// Laplace) distribution. Refuses scale <= 0 or not finite.
absl::StatusOr<std::unique_ptr<IntegerNoise>> TwoSidedGeometric(double scale);

// P(x) proportional to exp(-x^2 / (2 sigma^2)). Refuses sigma outside
// [0.1, 2^20] or not finite.
absl::StatusOr<std::unique_ptr<IntegerNoise>> DiscreteGaussian(double sigma);

// X + shift with X drawn from `noise` conditioned on |X| <= shift: noise that
// is never negative and at most 2*shift, as a count of noise registers must
// be. Refuses shift < 0.
absl::StatusOr<int64_t> SampleTruncatedShifted(const IntegerNoise& noise, int64_t shift,
                                               RandomSource& random);

// Exact Bernoulli(exp(-numerator/denominator)) (CKS Algorithm 1), exposed for
// its tests. denominator must be > 0.
bool SampleBernoulliExp(uint64_t numerator, uint64_t denominator, RandomSource& random);

}  // namespace halo::dp

#endif  // HALO_DP_NOISE_H_
