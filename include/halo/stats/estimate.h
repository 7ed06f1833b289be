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

// The multiple of the standard error at which each of `count` estimates,
// checked together, gives the whole the false-alarm chance of one estimate
// checked at `k` (Bonferroni). A frequency distribution is one result:
// checking each of its ten buckets at 3 standard errors would call a
// correct distribution wrong 2.7% of the time rather than 0.27%.
inline double SimultaneousStandardErrors(double k, int count) {
  if (count <= 1) return k;
  const double tail = std::erfc(k / std::sqrt(2.0)) / count;
  double low = k, high = k + 10;
  for (int i = 0; i < 100; ++i) {
    const double mid = (low + high) / 2;
    (std::erfc(mid / std::sqrt(2.0)) > tail ? low : high) = mid;
  }
  return (low + high) / 2;
}

}  // namespace halo::stats

#endif  // HALO_STATS_ESTIMATE_H_
