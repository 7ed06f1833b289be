// A reach-and-frequency measurement end to end, every party its own `halo`
// process on loopback as in production: a Kingdom, three duchies and two
// EDP agents reading generated event files, and an MC (this process). Prints
// wall time, each duchy's CPU, peak memory and stage times, and the bytes
// duchies sent each other. Run through `scripts/bench e2e`.
//
//   halo_end_to_end_bench [--audience=1100000] [--mean-frequency=6.5]
//       [--population=10000000] [--protocols=hmss,llv2] [--sketch-size=N
//       --decay-rate=R] [--events=DIR]
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <regex>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "halo/api/certificate_name.h"
#include "halo/api/encryption_key_file.h"
#include "halo/api/envelopes.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/common/files.h"
#include "halo/config/config.pb.h"
#include "halo/edp/synthetic_events.h"
#include "halo/mc/measurement_consumer_client.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"
#include "halo_process.h"
#include "process_stats.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"
#include "testing/tls_fixture.h"

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

// A log file as it stands; empty before the process has written it.
std::string ReadText(const std::string& path) { return ReadFile(path).value_or(""); }

// One pass: a fresh deployment, one measurement.
class Pass {
 public:
  Pass(const Flags& flags, const std::string& events_dir, const edp::SyntheticEventsSummary& truth, bool hmss)
      : flags_(flags), events_dir_(events_dir), truth_(truth), hmss_(hmss), fixture_(dir_, "e2e") {}

  bool Run() {
    for (const char* subject : {"kingdom", "admins/operator", "measurementConsumers/mc1", "dataProviders/edp1",
                                "dataProviders/edp2", "duchies/worker1", "duchies/worker2", "duchies/aggregator"}) {
      tls_[subject] = fixture_.Issue(subject);
    }
    kingdom_public_ = testing::FreeLoopbackPort();
    kingdom_system_ = testing::FreeLoopbackPort();
    for (const char* d : kDuchies) ports_[d] = {testing::FreeLoopbackPort(), testing::FreeLoopbackPort()};
    if (!Start("kingdom", KingdomConfig()) || !Register()) return false;
    for (const char* d : kDuchies) {
      if (!Start(absl::StrCat("duchy-", d), DuchyConfig(d))) return false;
    }
    for (const char* e : {"edp1", "edp2"}) {
      if (!Start(absl::StrCat("edp-", e), EdpConfig(e))) return false;
    }
    return Measure();
  }

  ~Pass() {
    for (auto& [name, process] : processes_) process->Signal(SIGTERM);
    for (auto& [name, process] : processes_) process->Wait(absl::Seconds(30));
  }

 private:
  config::TlsConfig Tls(const std::string& subject) { return tls_.at(subject); }

  config::HaloConfig KingdomConfig() {
    config::HaloConfig c;
    c.set_role(config::KINGDOM);
    c.set_data_dir(dir_.Sub("kingdom"));
    auto& k = *c.mutable_kingdom();
    k.set_public_api_address(absl::StrCat("127.0.0.1:", kingdom_public_));
    k.set_system_api_address(absl::StrCat("127.0.0.1:", kingdom_system_));
    *k.mutable_tls() = Tls("kingdom");
    k.add_administrator_certificates(testing::FingerprintOf(Tls("admins/operator")));
    auto& p = *k.mutable_protocols();
    for (const char* d : kDuchies) p.add_duchies(d);
    p.set_aggregator("aggregator");
    p.set_prefer_hmss(hmss_);
    p.set_population_size(static_cast<int64_t>(flags_.population));
    if (flags_.sketch_size > 0) p.set_llv2_sketch_size(flags_.sketch_size);
    if (flags_.decay_rate > 0) p.set_llv2_decay_rate(flags_.decay_rate);
    return c;
  }

  config::HaloConfig DuchyConfig(const std::string& id) {
    config::HaloConfig c;
    c.set_role(config::DUCHY);
    c.set_data_dir(dir_.Sub("duchy-" + id));
    auto& d = *c.mutable_duchy();
    d.set_duchy_id(id);
    d.set_kingdom_system_api_target(absl::StrCat("localhost:", kingdom_system_));
    d.set_computation_control_address(absl::StrCat("127.0.0.1:", ports_[id].first));
    d.set_requisition_fulfillment_address(absl::StrCat("127.0.0.1:", ports_[id].second));
    *d.mutable_tls() = Tls("duchies/" + id);
    for (const char* peer : kDuchies) {
      if (peer == id) continue;
      auto& p = *d.add_peers();
      p.set_duchy_id(peer);
      p.set_computation_control_target(absl::StrCat("localhost:", ports_[peer].first));
    }
    return c;
  }

  config::HaloConfig EdpConfig(const std::string& id) {
    config::HaloConfig c;
    c.set_role(config::EDP_AGENT);
    c.set_data_dir(dir_.Sub("edp-" + id));
    auto& e = *c.mutable_edp_agent();
    e.set_data_provider("dataProviders/" + id);
    e.set_kingdom_public_api_target(absl::StrCat("localhost:", kingdom_public_));
    *e.mutable_tls() = Tls("dataProviders/" + id);
    e.set_encryption_key_file(dir_.Sub(id + ".encryption-key"));
    e.set_events_dir(events_dir_ + "/" + id);
    for (const char* kind : {"-video", "-display"}) {
      auto& g = *e.add_event_groups();
      g.set_reference_id(id + kind);
      g.set_measurement_consumer("measurementConsumers/mc1");
    }
    for (const char* d : kDuchies) {
      auto& t = *e.add_duchies();
      t.set_duchy_id(d);
      t.set_requisition_fulfillment_target(absl::StrCat("localhost:", ports_[d].second));
    }
    return c;
  }

  bool Start(const std::string& name, const config::HaloConfig& config) {
    logs_[name] = dir_.Sub(name + ".log");
    processes_[name] = StartHalo(config, dir_.Sub(name + ".textproto"), logs_[name]);
    return processes_[name] != nullptr;
  }

  bool Register() {
    const std::string target = absl::StrCat("localhost:", kingdom_public_);
    auto admin = api::v1::Admin::NewStub(net::OpenChannel(target, *net::LoadTlsMaterial(Tls("admins/operator")), net::kKingdomSubject));
    auto check = [](const absl::Status& status) {
      if (!status.ok()) std::fprintf(stderr, "registration: %s\n", std::string(status.message()).c_str());
      return status.ok();
    };
    for (const char* id : {"edp1", "edp2"}) {
      const std::string subject = absl::StrCat("dataProviders/", id);
      const crypto::EncryptionKeyPair key = crypto::EncryptionKeyPair::Generate();
      if (!check(api::WriteEncryptionKeyFile(dir_.Sub(absl::StrCat(id, ".encryption-key")), key))) return false;
      const auto certificate = *crypto::Certificate::FromDer(testing::CertificateDerOf(Tls(subject)));
      api::v1::CreateDataProviderRequest request;
      request.set_data_provider_id(id);
      request.mutable_data_provider()->set_certificate_der(certificate.ToDer());
      request.mutable_data_provider()->set_root_certificate_der(testing::RootDerOf(Tls(subject)));
      request.mutable_data_provider()->set_supports_hmss(true);
      *request.mutable_data_provider()->mutable_public_key() =
          api::Sign(api::ToEncryptionPublicKey(key.public_key), testing::SigningKeyOf(Tls(subject)),
                    api::CertificateName(subject, certificate));
      if (!check(net::Call(*admin, &api::v1::Admin::Stub::CreateDataProvider, request, "edp").status())) return false;
    }
    api::v1::CreateMeasurementConsumerRequest mc;
    mc.set_measurement_consumer_id("mc1");
    mc.mutable_measurement_consumer()->set_certificate_der(testing::CertificateDerOf(Tls("measurementConsumers/mc1")));
    mc.mutable_measurement_consumer()->set_root_certificate_der(testing::RootDerOf(Tls("measurementConsumers/mc1")));
    if (!check(net::Call(*admin, &api::v1::Admin::Stub::CreateMeasurementConsumer, mc, "mc").status())) return false;
    for (const char* id : kDuchies) {
      api::v1::CreateDuchyRequest duchy;
      duchy.set_duchy_id(id);
      duchy.mutable_duchy()->set_certificate_der(testing::CertificateDerOf(Tls(absl::StrCat("duchies/", id))));
      duchy.mutable_duchy()->set_root_certificate_der(testing::RootDerOf(Tls(absl::StrCat("duchies/", id))));
      if (!check(net::Call(*admin, &api::v1::Admin::Stub::CreateDuchy, duchy, "duchy").status())) return false;
    }
    return true;
  }

  bool Measure() {
    mc::McClientOptions options;
    options.measurement_consumer = "measurementConsumers/mc1";
    options.kingdom_target = absl::StrCat("localhost:", kingdom_public_);
    options.tls = *net::LoadTlsMaterial(Tls("measurementConsumers/mc1"));
    options.encryption_key = crypto::EncryptionKeyPair::Generate();
    auto client = *mc::McClient::Create(options);
    std::vector<api::v1::EventGroup> groups;
    for (int i = 0; i < 300 && groups.size() < 4; ++i) {
      if (auto listed = client->ListEventGroups(); listed.ok()) groups = *std::move(listed);
      absl::SleepFor(absl::Milliseconds(100));
    }
    if (groups.size() < 4) {
      std::fprintf(stderr, "the EDP agents did not register their event groups\n");
      return false;
    }
    const edp::SyntheticEventsOptions window;
    mc::MeasurementRequest request;
    request.type = mc::MeasurementType::kReachAndFrequency;
    for (const auto& g : groups) {
      request.event_groups.push_back(
          {g.name(), window.start_micros, window.start_micros + int64_t{window.days} * 86400 * 1000000, ""});
    }
    request.privacy.set_epsilon(1);
    request.privacy.set_delta(1e-9);
    request.frequency_privacy = request.privacy;
    request.maximum_frequency = kMaxFrequency;
    std::map<std::string, double> cpu_before;
    for (const char* d : kDuchies) cpu_before[d] = ProcessCpuSeconds(processes_.at(absl::StrCat("duchy-", d))->pid());
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
      const pid_t pid = processes_.at(absl::StrCat("duchy-", d))->pid();
      std::printf("  duchy %-10s cpu %7.1f s  peak %6.0f MiB\n", d, ProcessCpuSeconds(pid) - cpu_before[d],
                  ProcessStatusMib(pid, "VmHWM:"));
      PrintStages(d);
    }
    for (const char* e : {"edp1", "edp2"}) {
      const pid_t pid = processes_.at(absl::StrCat("edp-", e))->pid();
      std::printf("  agent %-10s cpu %7.1f s  peak %6.0f MiB\n", e, ProcessCpuSeconds(pid),
                  ProcessStatusMib(pid, "VmHWM:"));
    }
    // When each transfer ended and how long it took, for the timeline.
    std::printf("  created %s\n", absl::FormatTime("%H:%M:%E3S", began, absl::LocalTimeZone()).c_str());
    for (const auto& [name, path] : logs_) {
      std::istringstream log(ReadText(path));
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
    std::istringstream log(ReadText(logs_.at("duchy-" + duchy)));
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
  testing::TempDir dir_;
  testing::TlsFixture fixture_;
  std::map<std::string, config::TlsConfig> tls_;
  int kingdom_public_ = 0, kingdom_system_ = 0;
  std::map<std::string, std::pair<int, int>> ports_;
  std::map<std::string, std::unique_ptr<testing::ChildProcess>> processes_;
  std::map<std::string, std::string> logs_;
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
