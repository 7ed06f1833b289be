// Statistical checks of integer samplers against their exact pmf: mean,
// variance and a chi-square goodness-of-fit test, each at a false-alarm
// rate near 1e-6 so that only a wrong sampler fails.
#ifndef HALO_TESTS_DP_DISTRIBUTION_CHECKS_H_
#define HALO_TESTS_DP_DISTRIBUTION_CHECKS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>

namespace halo::dp::testing {

struct DistributionReport {
  double mean = 0;
  double variance = 0;
  double chi_square = 0;
  double chi_square_critical = 0;
  int degrees_of_freedom = 0;
};

// Draws `draws` samples and compares them with `pmf` (which must sum to 1
// over the integers; `expected_variance` is its variance). Uses Catch2
// CHECKs, naming `what`.
DistributionReport CheckDistribution(const std::string& what, int64_t draws,
                                     const std::function<int64_t()>& sample,
                                     const std::function<double(int64_t)>& pmf,
                                     double expected_mean, double expected_variance);

}  // namespace halo::dp::testing

#endif  // HALO_TESTS_DP_DISTRIBUTION_CHECKS_H_
