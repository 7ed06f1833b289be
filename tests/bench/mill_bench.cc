// How a duchy's work scales with its mills: N LLv2 measurements are brought
// to the aggregator's heaviest stage (execution phase one) and held there,
// every mill of every duchy stopped; then the aggregator gets 1 mill, or 2,
// each with one thread, and the benchmark times until all N have left that
// stage. Every party is its own `halo` process (testing::ProcessDeployment,
// each duchy a herald and its mills), so the figure includes the claims,
// the streamed inputs and outputs and the herald's sends. A second part
// times one measurement create to result with each duchy as one process
// and as a herald and a mill, for the split's overhead. Run through
// `scripts/bench mills`.
//
//   halo_mill_bench [--measurements=6] [--sketch-size=20000] [--rounds=3]
//       [--part=drain|overhead|all] (HALO_BENCH_LOGS=DIR keeps the logs)
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "halo/duchy/computation_store.h"
#include "halo/edp/synthetic_events.h"
#include "halo/mc/measurement_consumer_client.h"
#include "testing/process_deployment.h"
#include "testing/temp_dir.h"

namespace halo::bench {
namespace {

using duchy::v1::ComputationStage;

struct Flags {
  int measurements = 6;
  int64_t sketch_size = 20'000;
  int rounds = 3;
  // "drain", "overhead" or both.
  std::string part = "all";
};

constexpr uint64_t kPopulation = 1'000'000;

testing::ProcessDeploymentOptions Options(const std::string& events_dir, const Flags& flags, int mills) {
  testing::ProcessDeploymentOptions options;
  options.events_dir = events_dir;
  options.population_size = kPopulation;
  options.llv2_sketch_size = flags.sketch_size;
  options.mills_per_duchy = mills;
  options.mill_lease_seconds = 5;
  options.mill_parallelism = 1;
  options.replay_seed = "mill bench";
  return options;
}

absl::StatusOr<std::string> Create(testing::ProcessDeployment& d, mc::McClient& mc) {
  auto created = mc.CreateMeasurement(d.ReachAndFrequencyRequest());
  if (!created.ok()) return created.status();
  return created->name();
}

// HALO_BENCH_LOGS=DIR keeps every role's log, to see where the time went.
void KeepLogs(const testing::ProcessDeployment& d, const std::string& prefix) {
  const char* logs = std::getenv("HALO_BENCH_LOGS");
  if (logs == nullptr) return;
  for (const std::string& role : d.roles()) std::ofstream(absl::StrCat(logs, "/", prefix, role, ".log")) << d.Log(role);
}

// The aggregator's computations, as its herald keeps them.
std::vector<duchy::LocalComputation> AggregatorComputations(testing::ProcessDeployment& d) {
  auto store = duchy::ComputationStore::Open(d.DataDir("duchy-aggregator") + "/computations.db");
  if (!store.ok()) return {};
  auto listed = (*store)->List(/*include_finished=*/true, 1000);
  return listed.ok() ? *listed : std::vector<duchy::LocalComputation>{};
}

// Waits until `n` computations satisfy `done`; false after `timeout`.
bool AwaitAggregator(testing::ProcessDeployment& d, size_t n, absl::Duration timeout,
                     const std::function<bool(const duchy::LocalComputation&)>& done) {
  const absl::Time until = absl::Now() + timeout;
  while (absl::Now() < until) {
    const auto computations = AggregatorComputations(d);
    size_t count = 0;
    for (const auto& c : computations) count += done(c) ? 1 : 0;
    if (computations.size() >= n && count >= n) return true;
    absl::SleepFor(absl::Milliseconds(50));
  }
  return false;
}

// One drain: seconds for `mills` aggregator mills to take the `queued`
// computations through execution phase one; nullopt on failure.
std::optional<double> Drain(const std::string& events_dir, const Flags& flags, int mills, int& queued) {
  auto started = testing::ProcessDeployment::Start(Options(events_dir, flags, 2));
  if (!started.ok()) {
    std::fprintf(stderr, "%s\n", std::string(started.status().message()).c_str());
    return std::nullopt;
  }
  testing::ProcessDeployment& d = **started;
  auto mc = d.Mc();
  if (!mc.ok()) return std::nullopt;
  const size_t n = static_cast<size_t>(flags.measurements);
  for (size_t i = 0; i < n; ++i) {
    if (!Create(d, **mc).ok()) return std::nullopt;
  }
  // Past the aggregator's setup: its mills stop before phase one's inputs
  // come round the ring.
  if (!AwaitAggregator(d, n, absl::Minutes(5), [](const duchy::LocalComputation& c) {
        return c.stage == duchy::v1::WAIT_EXECUTION_PHASE_ONE_INPUTS || c.stage == duchy::v1::EXECUTION_PHASE_ONE;
      })) {
    std::fprintf(stderr, "the computations did not get past the aggregator's setup\n");
    KeepLogs(d, "drain-failed-");
    return std::nullopt;
  }
  d.Kill("mill-aggregator-0");
  d.Kill("mill-aggregator-1");
  // All queued at phase one and none claimed (a killed mill's lease
  // lapses), or past it if a mill finished one before it was killed.
  if (!AwaitAggregator(d, n, absl::Minutes(5), [](const duchy::LocalComputation& c) {
        return (c.stage == duchy::v1::EXECUTION_PHASE_ONE && c.lease_expiry < absl::Now()) ||
               c.stage > duchy::v1::EXECUTION_PHASE_ONE;
      })) {
    std::fprintf(stderr, "the computations did not queue at the aggregator's phase one\n");
    return std::nullopt;
  }
  queued = 0;
  for (const auto& c : AggregatorComputations(d)) queued += c.stage == duchy::v1::EXECUTION_PHASE_ONE ? 1 : 0;
  // Nothing else runs meanwhile.
  for (const char* duchy : {"worker1", "worker2"}) {
    for (int i = 0; i < 2; ++i) d.Kill(absl::StrCat("mill-", duchy, "-", i));
  }
  const absl::Time began = absl::Now();
  for (int i = 0; i < mills; ++i) {
    if (!d.Restart(absl::StrCat("mill-aggregator-", i)).ok()) return std::nullopt;
  }
  if (!AwaitAggregator(d, n, absl::Minutes(10), [](const duchy::LocalComputation& c) {
        return c.stage != duchy::v1::EXECUTION_PHASE_ONE;
      })) {
    std::fprintf(stderr, "the aggregator's mills did not drain phase one\n");
    return std::nullopt;
  }
  return absl::ToDoubleSeconds(absl::Now() - began);
}

// Create to result of one LLv2 measurement; nullopt on failure.
std::optional<double> CreateToResult(const std::string& events_dir, const Flags& flags, int mills) {
  testing::ProcessDeploymentOptions options = Options(events_dir, flags, mills);
  options.mill_parallelism = 0;  // one thread a core, as deployed
  auto started = testing::ProcessDeployment::Start(options);
  if (!started.ok()) return std::nullopt;
  testing::ProcessDeployment& d = **started;
  auto mc = d.Mc();
  if (!mc.ok()) return std::nullopt;
  const absl::Time began = absl::Now();
  auto name = Create(d, **mc);
  if (!name.ok()) return std::nullopt;
  // Asked every 20 ms: AwaitMeasurement's backoff to 2 s would round the
  // figure to its polls.
  while (absl::Now() - began < absl::Minutes(10)) {
    auto now = (*mc)->GetMeasurement(*name);
    if (!now.ok()) return std::nullopt;
    if (now->state() == api::v1::Measurement::SUCCEEDED) {
      const double seconds = absl::ToDoubleSeconds(absl::Now() - began);
      KeepLogs(d, mills == 0 ? "combined-" : "split-");
      return seconds;
    }
    if (now->state() == api::v1::Measurement::FAILED || now->state() == api::v1::Measurement::CANCELLED) {
      return std::nullopt;
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  return std::nullopt;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 == 1 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

}  // namespace
}  // namespace halo::bench

int main(int argc, char** argv) {
  using namespace halo;
  bench::Flags flags;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](absl::string_view name) -> std::optional<std::string> {
      if (!absl::StartsWith(arg, absl::StrCat("--", name, "="))) return std::nullopt;
      return arg.substr(name.size() + 3);
    };
    if (auto v = value("measurements")) {
      flags.measurements = std::stoi(*v);
    } else if (auto v = value("sketch-size")) {
      flags.sketch_size = std::stoll(*v);
    } else if (auto v = value("rounds")) {
      flags.rounds = std::stoi(*v);
    } else if (auto v = value("part")) {
      flags.part = *v;
    } else {
      std::fprintf(stderr, "unknown flag %s\n", arg.c_str());
      return 2;
    }
  }
  testing::TempDir scratch;
  if (!testing::WriteDeploymentEvents(scratch.Sub("events"), bench::kPopulation, 300'000, /*seed=*/1).ok()) return 1;

  if (flags.part == "all" || flags.part == "drain") {
    std::printf("%d LLv2 computations (sketch %lld) queued at the aggregator's execution phase one; mills of one "
                "thread each\n",
                flags.measurements, static_cast<long long>(flags.sketch_size));
    std::vector<double> one, two;
    for (int round = 0; round < flags.rounds; ++round) {
      // Alternated, so that a drift in the machine's speed touches both.
      for (int mills : {1, 2}) {
        int queued = 0;
        const std::optional<double> seconds = bench::Drain(scratch.Sub("events"), flags, mills, queued);
        if (!seconds.has_value()) return 1;
        // Per computation, should a killed mill have finished one first.
        (mills == 1 ? one : two).push_back(*seconds / queued);
        std::printf("  round %d, %d mill(s): %d computations in %.2f s (%.2f s each)\n", round + 1, mills, queued,
                    *seconds, *seconds / queued);
      }
    }
    std::printf("median per computation: 1 mill %.2f s, 2 mills %.2f s: %.2fx the throughput\n", bench::Median(one),
                bench::Median(two), bench::Median(one) / bench::Median(two));
  }
  if (flags.part != "all" && flags.part != "overhead") return 0;
  std::printf("\none LLv2 measurement, create to result, each duchy as one process or as a herald and a mill\n");
  std::vector<double> combined, split;
  for (int round = 0; round < flags.rounds; ++round) {
    for (int mills : {0, 1}) {
      const std::optional<double> seconds = bench::CreateToResult(scratch.Sub("events"), flags, mills);
      if (!seconds.has_value()) return 1;
      (mills == 0 ? combined : split).push_back(*seconds);
      std::printf("  round %d, %s: %.2f s\n", round + 1, mills == 0 ? "--role=duchy" : "herald + mill", *seconds);
    }
  }
  std::printf("median: --role=duchy %.2f s, herald + mill %.2f s: %+.1f%%\n", bench::Median(combined),
              bench::Median(split), 100 * (bench::Median(split) / bench::Median(combined) - 1));
  return 0;
}
