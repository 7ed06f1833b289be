// Relative error of Liquid Legions reach against reach, for both parameter
// sets, over synthetic audiences: the table in BENCHMARKS.md. Prints the
// mean and RMS relative error observed and the standard error the estimator
// predicts.
#include <cmath>
#include <cstdio>
#include <string>

#include "halo/crypto/seeded_prng.h"
#include "halo/stats/liquid_legions_estimator.h"
#include "testing/synthetic_audience.h"

int main() {
  using namespace halo;
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'r'));
  std::printf("%-6s %-9s %-10s %7s %15s %14s %17s\n", "a", "m", "reach", "trials",
              "mean |rel err|", "RMS rel err", "predicted rel SE");
  for (auto [a, m] : {std::pair<double, uint64_t>{12, 100000}, {5.6, 1000000}}) {
    for (uint64_t reach : {1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL}) {
      const int trials = reach >= 10000000 ? 20 : 100;
      double sum_abs = 0, sum_sq = 0, sum_predicted = 0;
      for (int t = 0; t < trials; ++t) {
        const auto params = *sketch::LiquidLegionsParams::Create(a, m, random.NextUint64());
        const testing::Audience audience = testing::MakeAudience(reach, 1, 0, 1, random);
        sketch::LiquidLegionsSketch sketch(params);
        sketch.AddEvents(audience.events_by_edp[0]);
        const stats::Estimate estimate = *stats::LiquidLegionsReach(
            params, {.active_registers = static_cast<double>(sketch.ActiveRegisterCount())});
        const double relative = (estimate.value - reach) / reach;
        sum_abs += std::abs(relative);
        sum_sq += relative * relative;
        sum_predicted += estimate.std_error / reach;
      }
      std::printf("%-6g %-9llu %-10llu %7d %14.4f%% %13.4f%% %16.4f%%\n", a,
                  static_cast<unsigned long long>(m), static_cast<unsigned long long>(reach), trials,
                  100 * sum_abs / trials, 100 * std::sqrt(sum_sq / trials), 100 * sum_predicted / trials);
      std::fflush(stdout);
    }
  }
  return 0;
}
