// Privacy accounting by approximate concentrated DP (ACDP), as the
// reference's privacy budget manager does: each release costs (rho, theta)
// (rho-zCDP except with probability theta), costs add up, and a total is
// within an (epsilon, delta) budget when its best conversion to (epsilon,
// delta)-DP (Canonne, Kamath and Steinke 2020, Proposition 12) stays under
// delta:
//
//   delta(rho, theta, epsilon) = (e^epsilon + 1) theta
//       + min over alpha > 1 of exp((alpha - 1)(alpha rho - epsilon)) / (alpha - 1)
//                              * (1 - 1/alpha)^alpha
//
// Where we differ from the reference: its Gaussian costs use the classic
// sigma = sqrt(2 ln(1.25/delta)) / epsilon, which is larger than the sigma
// our noise is calibrated to (the exact discrete Gaussian curve), so it
// would charge less than the noise we add spends. We charge the noise we add:
// rho = 1 / (2 sigma^2) for the sigma of dp::CalibratedParameter, and theta
// from the truncation of distributed shares at dp::PlanCountNoise's shift.
#ifndef HALO_DP_PRIVACY_ACCOUNTING_H_
#define HALO_DP_PRIVACY_ACCOUNTING_H_

#include "absl/status/statusor.h"
#include "halo/dp/calibration.h"

namespace halo::dp {

struct AcdpCharge {
  double rho = 0;
  double theta = 0;
  AcdpCharge& operator+=(const AcdpCharge& other) {
    rho += other.rho;
    theta += other.theta;
    return *this;
  }
};

// The cost of one noised count at sensitivity 1 (a larger sensitivity with
// noise scaled to it costs the same): from one party (contributors 1, the
// direct case) or summed from `contributors` distributed shares (MPC).
// Geometric noise is pure epsilon-DP, so rho = epsilon^2 / 2. Refuses what
// the calibration refuses, naming the parameter.
absl::StatusOr<AcdpCharge> NoiseCharge(NoiseMechanism mechanism, PrivacyBudget budget, int contributors);

// delta(rho, theta, epsilon) above; 0 for no cost, and at most 1.
double AcdpDelta(const AcdpCharge& total, double epsilon);

// How much more rho a total may take (with theta unchanged) before its
// delta at `budget.epsilon` passes `budget.delta`; 0 if it already has.
double RhoLeft(const AcdpCharge& total, PrivacyBudget budget);

}  // namespace halo::dp

#endif  // HALO_DP_PRIVACY_ACCOUNTING_H_
