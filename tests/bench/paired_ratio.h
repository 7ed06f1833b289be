// Ratios of two costs measured by interleaving, for this VM whose speed
// drifts from minute to minute: separate benchmark runs cannot be divided.
#ifndef HALO_TESTS_BENCH_PAIRED_RATIO_H_
#define HALO_TESTS_BENCH_PAIRED_RATIO_H_

#include <chrono>

namespace halo::bench {

// Runs `op` and `floor` alternately in blocks of `block` calls for `rounds`
// rounds and returns total(op) / total(floor).
template <typename Op, typename Floor>
double PairedRatio(const Op& op, const Floor& floor, int rounds = 40, int block = 50) {
  using Clock = std::chrono::steady_clock;
  Clock::duration op_total{}, floor_total{};
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    for (int i = 0; i < block; ++i) op();
    const auto t1 = Clock::now();
    for (int i = 0; i < block; ++i) floor();
    const auto t2 = Clock::now();
    op_total += t1 - t0;
    floor_total += t2 - t1;
  }
  return std::chrono::duration<double>(op_total).count() /
         std::chrono::duration<double>(floor_total).count();
}

}  // namespace halo::bench

#endif  // HALO_TESTS_BENCH_PAIRED_RATIO_H_
