// A measured value with the standard error its methodology implies.
#ifndef HALO_STATS_ESTIMATE_H_
#define HALO_STATS_ESTIMATE_H_

#include <cmath>

namespace halo::stats {

struct Estimate {
  double value = 0;
  double std_error = 0;

  // The 95% interval, value +- 1.96 standard errors.
  double Lower95() const { return value - 1.96 * std_error; }
  double Upper95() const { return value + 1.96 * std_error; }
  // Whether `truth` lies within `k` standard errors.
  bool Covers(double truth, double k) const { return std::abs(value - truth) <= k * std_error; }
};

}  // namespace halo::stats

#endif  // HALO_STATS_ESTIMATE_H_
