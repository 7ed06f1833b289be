// A reach-and-frequency measurement end to end, every party its own `halo`
// process on loopback as in production (testing::ProcessDeployment): a
// Kingdom, three duchies and two EDP agents reading generated event files,
// and an MC (this process). Prints
// wall time, each duchy's CPU, peak memory and stage times, and the bytes
// duchies sent each other. Run through `scripts/bench e2e`.
//
//   halo_end_to_end_bench [--audience=1100000] [--mean-frequency=6.5]
//       [--population=10000000] [--protocols=hmss,llv2] [--sketch-size=N
//       --decay-rate=R] [--events=DIR]
#include <cstdio>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "halo/edp/synthetic_events.h"
#include "halo/mc/measurement_consumer_client.h"
#include "process_stats.h"
#include "testing/process_deployment.h"
#include "testing/temp_dir.h"

namespace halo::bench {
namespace {

const char* const kDuchies[] = {"worker1", "worker2", "aggregator"};
constexpr int kMaxFrequency = 10;

struct Flags {
  uint64_t audience = 1'100'000;
  double mean_frequency = 6.5;
  uint64_t population = 10'000'000;
  std::vector<std::string> protocols = {"hmss", "llv2"};
  int64_t sketch_size = 0;  // 0: the Kingdom's default
  double decay_rate = 0;
  std::string events;  // reuse generated events from here
};

// One pass: a fresh deployment, one measurement.
class Pass {
 public:
  Pass(const Flags& flags, const std::string& events_dir, const edp::SyntheticEventsSummary& truth, bool hmss)
      : flags_(flags), events_dir_(events_dir), truth_(truth), hmss_(hmss) {}

  bool Run() {
    testing::ProcessDeploymentOptions options;
    options.events_dir = events_dir_;
    options.prefer_hmss = hmss_;
    options.population_size = static_cast<int64_t>(flags_.population);
    options.llv2_sketch_size = flags_.sketch_size;
    options.llv2_decay_rate = flags_.decay_rate;
    auto started = testing::ProcessDeployment::Start(options);
    if (!started.ok()) {
      std::fprintf(stderr, "%s\n", std::string(started.status().message()).c_str());
      return false;
    }
    deployment_ = *std::move(started);
    return Measure();
  }

 private:
  bool Measure() {
    auto client = *deployment_->Mc();
    const edp::SyntheticEventsOptions window;
    mc::MeasurementRequest request;
    request.type = mc::MeasurementType::kReachAndFrequency;
    for (const std::string& group : deployment_->event_groups()) {
      request.event_groups.push_back(
          {group, window.start_micros, window.start_micros + int64_t{window.days} * 86400 * 1000000, ""});
    }
    request.privacy.set_epsilon(1);
    request.privacy.set_delta(1e-9);
    request.frequency_privacy = request.privacy;
    request.maximum_frequency = kMaxFrequency;
    std::map<std::string, double> cpu_before;
    for (const char* d : kDuchies) cpu_before[d] = ProcessCpuSeconds(deployment_->Pid(absl::StrCat("duchy-", d)));
    const absl::Time began = absl::Now();
    auto created = client->CreateMeasurement(request);
    if (!created.ok()) {
      std::fprintf(stderr, "%s\n", std::string(created.status().message()).c_str());
      return false;
    }
    auto done = client->AwaitMeasurement(created->name(), absl::Hours(2));
    const double wall = absl::ToDoubleSeconds(absl::Now() - began);
    if (!done.ok() || done->state() != api::v1::Measurement::SUCCEEDED) {
      std::fprintf(stderr, "the measurement did not succeed: %s %s\n",
                   done.ok() ? done->failure().message().c_str() : std::string(done.status().message()).c_str(), "");
      return false;
    }
    auto result = client->OpenResult(*done);
    std::printf("\n%s reach and frequency, 2 EDPs, %s events, true reach %s: wall %.1f s\n",
                api::v1::Protocol_Name(done->protocol_config().protocol()).c_str(),
                std::to_string(truth_.events).c_str(), std::to_string(truth_.union_reach).c_str(), wall);
    if (result.ok()) {
      std::printf("  reach %lld +- %.0f (truth %llu)\n", static_cast<long long>(result->reach().value()),
                  result->reach().standard_error(), static_cast<unsigned long long>(truth_.union_reach));
    }
    for (const char* d : kDuchies) {
      const pid_t pid = deployment_->Pid(absl::StrCat("duchy-", d));
      std::printf("  duchy %-10s cpu %7.1f s  peak %6.0f MiB\n", d, ProcessCpuSeconds(pid) - cpu_before[d],
                  ProcessStatusMib(pid, "VmHWM:"));
      PrintStages(d);
    }
    for (const char* e : {"edp1", "edp2"}) {
      const pid_t pid = deployment_->Pid(absl::StrCat("edp-", e));
      std::printf("  agent %-10s cpu %7.1f s  peak %6.0f MiB\n", e, ProcessCpuSeconds(pid),
                  ProcessStatusMib(pid, "VmHWM:"));
    }
    // When each transfer ended and how long it took, for the timeline.
    std::printf("  created %s\n", absl::FormatTime("%H:%M:%E3S", began, absl::LocalTimeZone()).c_str());
    for (const std::string& name : deployment_->roles()) {
      std::istringstream log(deployment_->Log(name));
      std::string line;
      while (std::getline(log, line)) {
        if (absl::StrContains(line, " sent ") || absl::StrContains(line, " received ")) {
          std::printf("    %-16s %s\n", name.c_str(), line.substr(11).c_str());
        }
      }
    }
    return true;
  }

  // The stage lines a duchy logged: "took X s (reading inputs R s, telling
  // the Kingdom K s[, storing the output W s]); N bytes for peer", with the
  // time each ended, so that stages of different duchies that ran at once
  // show as such.
  void PrintStages(const std::string& duchy) {
    static const std::regex kLine(
        R"(^\S+ (\S+) .*: \S+ (\w+) took ([0-9.]+) s \(reading inputs ([0-9.]+) s, telling the Kingdom ([0-9.]+) s(, storing the output ([0-9.]+) s)?\)(; (\d+) bytes for (\w+))?)");
    std::istringstream log(deployment_->Log("duchy-" + duchy));
    std::string line;
    while (std::getline(log, line)) {
      std::smatch m;
      if (!std::regex_search(line, m, kLine)) continue;
      std::printf("    %-20s %8s s (ended %s; reading inputs %s s, telling the Kingdom %s s", m[2].str().c_str(),
                  m[3].str().c_str(), m[1].str().c_str(), m[4].str().c_str(), m[5].str().c_str());
      if (m[7].matched) std::printf(", storing the output %s s", m[7].str().c_str());
      std::printf(")");
      if (m[9].matched) std::printf("  sent %.1f MiB to %s", std::stod(m[9].str()) / 1048576.0, m[10].str().c_str());
      std::printf("\n");
    }
  }

  const Flags& flags_;
  std::string events_dir_;
  const edp::SyntheticEventsSummary& truth_;
  bool hmss_;
  std::unique_ptr<testing::ProcessDeployment> deployment_;
};

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
    if (auto v = value("audience"))
      flags.audience = std::stoull(*v);
    else if (auto v = value("mean-frequency"))
      flags.mean_frequency = std::stod(*v);
    else if (auto v = value("population"))
      flags.population = std::stoull(*v);
    else if (auto v = value("protocols"))
      flags.protocols = absl::StrSplit(*v, ',');
    else if (auto v = value("sketch-size"))
      flags.sketch_size = std::stoll(*v);
    else if (auto v = value("decay-rate"))
      flags.decay_rate = std::stod(*v);
    else if (auto v = value("events"))
      flags.events = *v;
    else {
      std::fprintf(stderr, "unknown flag %s\n", arg.c_str());
      return 2;
    }
  }
  testing::TempDir scratch;
  const std::string events_dir = flags.events.empty() ? scratch.Sub("events") : flags.events;
  edp::SyntheticEventsOptions options;
  options.population_size = flags.population;
  options.audience_size = flags.audience;
  options.mean_frequency = flags.mean_frequency;
  options.edps = {{"edp1", 0.7, {"edp1-video", "edp1-display"}}, {"edp2", 0.7, {"edp2-video", "edp2-display"}}};
  const absl::Time began = absl::Now();
  auto truth = edp::WriteSyntheticEvents(options, events_dir);
  if (!truth.ok()) {
    std::fprintf(stderr, "%s\n", std::string(truth.status().message()).c_str());
    return 1;
  }
  std::printf("generated %llu events, reach %llu (edp1 %llu, edp2 %llu) in %.1f s\n",
              static_cast<unsigned long long>(truth->events), static_cast<unsigned long long>(truth->union_reach),
              static_cast<unsigned long long>(truth->edps[0].reach),
              static_cast<unsigned long long>(truth->edps[1].reach), absl::ToDoubleSeconds(absl::Now() - began));
  bool ok = true;
  for (const std::string& protocol : flags.protocols) {
    bench::Pass pass(flags, events_dir, *truth, protocol == "hmss");
    ok = pass.Run() && ok;
  }
  return ok ? 0 : 1;
}
