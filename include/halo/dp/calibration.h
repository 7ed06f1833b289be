// Turning a privacy budget (epsilon, delta) and a sensitivity into noise, for
// one party or split among several contributors.
#ifndef HALO_DP_CALIBRATION_H_
#define HALO_DP_CALIBRATION_H_

#include <memory>

#include "absl/status/statusor.h"
#include "halo/dp/noise.h"

namespace halo::dp {

enum class NoiseMechanism { kGeometric, kDiscreteGaussian };

struct PrivacyBudget {
  double epsilon = 0;
  double delta = 0;
};

// Geometric: scale sensitivity/epsilon, pure epsilon-DP (delta unused).
// Discrete Gaussian: the smallest sigma whose exact (epsilon, delta) curve
// (CKS Theorem 7) meets the budget; needs delta in (0, 1).
// Refuses epsilon <= 0, sensitivity <= 0, and a Gaussian with delta == 0,
// naming the parameter.
absl::StatusOr<std::unique_ptr<IntegerNoise>> CalibratedNoise(NoiseMechanism mechanism,
                                                              PrivacyBudget budget,
                                                              double sensitivity);

// The scale or sigma CalibratedNoise would use.
absl::StatusOr<double> CalibratedParameter(NoiseMechanism mechanism, PrivacyBudget budget,
                                           double sensitivity);

// Exact delta of the discrete Gaussian with `sigma` at `epsilon` for an
// integer sensitivity: P[X > e s^2/D - D/2] - e^e P[X > e s^2/D + D/2].
double DiscreteGaussianDelta(double sigma, double epsilon, double sensitivity);

// Noise for one of `contributors` parties whose shares add up to the
// calibrated noise. Geometric: each share is the difference of two Polya
// (negative binomial with shape 1/n) draws, and the sum is exactly two-sided
// geometric. Discrete Gaussian: each share is N_Z(0, sigma^2/n); the sum has
// variance n * Var(N_Z(0, sigma^2/n)), which is sigma^2 within 3e-7
// relative once sigma^2/n >= 1, and to double precision once sigma^2/n >= 2
// (CKS section 4.5: the sum is not exactly a discrete Gaussian, but within a
// Renyi divergence that vanishes as e^{-2 pi^2 sigma^2/n}). The share's Sample() uses floating point for the Polya draws.
absl::StatusOr<std::unique_ptr<IntegerNoise>> DistributedNoiseShare(NoiseMechanism mechanism,
                                                                    PrivacyBudget budget,
                                                                    double sensitivity,
                                                                    int contributors);

// Noise that each of `contributors` parties adds as a count of fake items:
// shift + X with X a distributed share truncated to [-shift, shift], so the
// count is never negative and at most 2 shift. The shift is 20 standard
// deviations of the share, so the truncation changes the noise with
// probability below 1e-12; subtracting contributors * shift from a total
// leaves noise of variance total_variance.
struct CountNoise {
  std::unique_ptr<IntegerNoise> share;
  int64_t shift = 0;
  double total_variance = 0;
};
absl::StatusOr<CountNoise> PlanCountNoise(NoiseMechanism mechanism, PrivacyBudget budget,
                                          double sensitivity, int contributors);

}  // namespace halo::dp

#endif  // HALO_DP_CALIBRATION_H_
