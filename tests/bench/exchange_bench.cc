// Panel Exchange at size: two panels of 1,000,000 join keys each with 50%
// overlap. First the commutative encrypt and re-encrypt steps alone on both
// cores, against their EC floor (a hash to the curve and a multiplication a
// key; a multiplication a key) measured here on one core; then a whole full
// exchange, both daemons and the Kingdom in this process, with each step's
// time, each party's daemon a `halo` process of its own so that its CPU and
// peak memory are its own. Run through `scripts/bench exchange`.
//
//   halo_exchange_bench [--keys=1000000] [--overlap=500000] [--threads=2]
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "benchmark/benchmark.h"
#include "halo/api/v1/exchanges.grpc.pb.h"
#include "halo/common/confined_directory.h"
#include "halo/common/files.h"
#include "halo/config/config.pb.h"
#include "halo/crypto/commutative_cipher.h"
#include "halo/crypto/hash_to_curve.h"
#include "halo/deployment/in_process_deployment.h"
#include "halo/exchange/example_workflows.h"
#include "halo/exchange/synthetic_panels.h"
#include "halo/exchange/workflow.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"
#include "process_stats.h"
#include "steps.h"
#include "testing/halo_process.h"
#include "testing/temp_dir.h"

namespace halo::bench {
namespace {

using Clock = std::chrono::steady_clock;
using Workflow = api::v1::ExchangeWorkflow;

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

// Microseconds a key on one core: hash to the curve and multiply; and
// multiply alone.
std::pair<double, double> Floors() {
  const crypto::Scalar k = crypto::Scalar::Random();
  constexpr int kKeys = 10000;
  std::vector<crypto::EcPoint> points;
  auto start = Clock::now();
  for (int i = 0; i < kKeys; ++i) {
    points.push_back(crypto::HashToCurve(absl::StrCat("person-", i, "@example.com"), crypto::kJoinKeyHashDst)->Mul(k));
    benchmark::DoNotOptimize(points.back());
  }
  const double encrypt = Seconds(start) * 1e6 / kKeys;
  start = Clock::now();
  for (int i = 0; i < kKeys; ++i) benchmark::DoNotOptimize(points[i].Mul(k));
  const double multiply = Seconds(start) * 1e6 / kKeys;
  return {encrypt, multiply};
}

Workflow::Step StepOf(const std::function<void(Workflow::Step&)>& kind,
                      const std::map<std::string, std::string>& inputs,
                      const std::map<std::string, std::string>& outputs) {
  Workflow::Step step;
  step.set_step_id("bench");
  step.set_party(Workflow::DATA_PROVIDER);
  kind(step);
  for (const auto& [name, label] : inputs) {
    (*step.mutable_inputs())[name].set_label(label);
    (*step.mutable_inputs())[name].set_storage(Workflow::PRIVATE);
  }
  for (const auto& [name, label] : outputs) {
    (*step.mutable_outputs())[name].set_label(label);
    (*step.mutable_outputs())[name].set_storage(Workflow::PRIVATE);
  }
  return step;
}

// Runs one step on `threads` threads; its wall seconds and peak MiB.
std::pair<double, double> Time(const Workflow::Step& step, exchange::ExchangeStorage& storage,
                               const std::string& input_dir, int threads) {
  auto input = ConfinedDirectory::Open(input_dir);
  if (!input.ok()) {
    std::fprintf(stderr, "%s\n", input.status().ToString().c_str());
    return {0, 0};
  }
  exchange::StepContext context;
  context.step = &step;
  context.blob_prefix = "bench/";
  context.private_storage = &storage;
  context.input_dir = input->get();
  context.maximum_blob_bytes = uint64_t{1} << 34;
  context.threads = threads;
  const double held = ResetPeak();
  const auto start = Clock::now();
  const absl::Status status = exchange::RunExchangeStep(context);
  const double wall = Seconds(start);
  if (!status.ok()) std::fprintf(stderr, "step failed: %s\n", status.ToString().c_str());
  return {wall, StatusMib("VmHWM:") - held};
}

void IsolatedSteps(const std::string& dir, uint64_t keys, int threads) {
  // This VM's speed drifts by up to a quarter within minutes: the floor is
  // the mean of a measurement before the steps and one after.
  const auto [encrypt_before, multiply_before] = Floors();
  auto storage = *exchange::FileSystemStorage(dir + "/private");
  Time(StepOf([](Workflow::Step& s) { s.mutable_input()->set_path("panel.txt"); }, {}, {{"join_keys", "keys"}}),
       *storage, dir + "/edp1", threads);
  Time(StepOf([](Workflow::Step& s) { s.mutable_generate_commutative_key(); }, {}, {{"key", "key"}}), *storage, dir,
       threads);
  Time(StepOf([](Workflow::Step& s) { s.mutable_generate_commutative_key(); }, {}, {{"key", "key2"}}), *storage, dir,
       threads);
  const auto [encrypt_wall, encrypt_peak] =
      Time(StepOf([](Workflow::Step& s) { s.mutable_commutative_encrypt(); }, {{"join_keys", "keys"}, {"key", "key"}},
                  {{"encrypted", "single"}, {"order", "order"}}),
           *storage, dir, threads);
  const auto [reencrypt_wall, reencrypt_peak] =
      Time(StepOf([keys](Workflow::Step& s) { s.mutable_commutative_reencrypt()->set_maximum_keys(keys); },
                  {{"encrypted", "single"}, {"key", "key2"}}, {{"reencrypted", "double"}}),
           *storage, dir, threads);
  const auto [encrypt_after, multiply_after] = Floors();
  const double encrypt_floor = (encrypt_before + encrypt_after) / 2;
  const double multiply_floor = (multiply_before + multiply_after) / 2;
  std::printf(
      "EC floor on one core (before, after): hash to curve + multiply %.1f, %.1f us a key; "
      "multiply %.1f, "
      "%.1f us a key\n",
      encrypt_before, encrypt_after, multiply_before, multiply_after);
  auto report = [&](const char* what, double wall, double peak, double floor) {
    const double floor_wall = floor * 1e-6 * static_cast<double>(keys) / threads;
    std::printf(
        "  %-12s %7.2f s  %8.0f keys/s a core  floor %6.2f s  ratio %.2f  peak above inputs %4.0f "
        "MiB\n",
        what, wall, static_cast<double>(keys) / wall / threads, floor_wall, wall / floor_wall, peak);
  };
  std::printf("steps alone, %llu keys, %d threads:\n", static_cast<unsigned long long>(keys), threads);
  report("encrypt", encrypt_wall, encrypt_peak, encrypt_floor);
  report("re-encrypt", reencrypt_wall, reencrypt_peak, multiply_floor);
}

// A party's exchange daemon as its own `halo --role=exchange-daemon`
// process, as an operator runs it.
class DaemonProcess {
 public:
  static std::unique_ptr<DaemonProcess> Start(const std::string& dir, const deployment::DeploymentExchangeParty& party,
                                              const net::TlsMaterial& tls, int kingdom_port,
                                              const std::string& shared_dir, int threads) {
    const std::string id = party.party.substr(party.party.find('/') + 1);
    const std::string base = absl::StrCat(dir, "/process-", id);
    std::filesystem::create_directories(base);
    config::HaloConfig c;
    c.set_role(config::EXCHANGE_DAEMON);
    c.set_data_dir(base + "/data");
    auto& d = *c.mutable_exchange_daemon();
    d.set_party(party.party);
    d.set_kingdom_public_api_target(absl::StrCat("localhost:", kingdom_port));
    for (const auto& [file, pem] : {std::pair{"/cert.pem", tls.certificate_pem},
                                    {"/key.pem", tls.private_key_pem},
                                    {"/ca.pem", tls.trusted_ca_pem}}) {
      if (!WriteFileAtomically(base + file, pem, 0600).ok()) return nullptr;
    }
    d.mutable_tls()->set_certificate_file(base + "/cert.pem");
    d.mutable_tls()->set_private_key_file(base + "/key.pem");
    d.mutable_tls()->set_trusted_ca_file(base + "/ca.pem");
    d.set_input_dir(party.input_dir);
    d.set_output_dir(party.output_dir);
    d.set_shared_storage_dir(shared_dir);
    d.set_poll_interval_ms(100);
    d.set_parallelism(threads);
    d.add_accepted_workflow_sha256(exchange::WorkflowSha256(exchange::FullExchangeWorkflow()));
    auto out = std::unique_ptr<DaemonProcess>(new DaemonProcess);
    out->party = party.party;
    out->process = testing::StartHalo(c, base + "/halo.textproto", base + "/halo.log");
    if (out->process == nullptr) return nullptr;
    return out;
  }
  ~DaemonProcess() {
    process->Signal(SIGTERM);
    process->Wait(absl::Seconds(30));
  }

  std::string party;
  std::unique_ptr<testing::ChildProcess> process;
};

void WholeExchange(const std::string& dir, uint64_t keys, uint64_t overlap, int threads) {
  deployment::InProcessDeploymentOptions options;
  options.dir = dir + "/deployment";
  for (const char* d : {"worker1", "worker2", "aggregator"}) options.protocols.add_duchies(d);
  options.protocols.set_aggregator("aggregator");
  options.measurement_consumers.clear();
  options.duchy_parallelism = threads;
  options.exchange_parties = {{"dataProviders/edp1", dir + "/edp1", dir + "/edp1-output"},
                              {"modelProviders/mp1", dir + "/mp1", dir + "/mp1-output"}};
  options.shared_storage_dir = dir + "/shared";
  auto deployment = deployment::InProcessDeployment::Start(options);
  if (!deployment.ok()) {
    std::fprintf(stderr, "%s\n", deployment.status().ToString().c_str());
    return;
  }
  // The deployment registers the parties; their daemons run apart from it.
  std::vector<std::unique_ptr<DaemonProcess>> daemons;
  for (const auto& party : options.exchange_parties) {
    (*deployment)->StopExchangeDaemon(party.party);
    daemons.push_back(DaemonProcess::Start(dir, party, (*deployment)->tls(party.party),
                                           (*deployment)->kingdom_public_port(), options.shared_storage_dir, threads));
    if (daemons.back() == nullptr) return;
  }
  auto channel = net::OpenChannel(absl::StrCat("localhost:", (*deployment)->kingdom_public_port()),
                                  (*deployment)->tls("admins/operator"), net::kKingdomSubject);
  auto recurring = api::v1::RecurringExchanges::NewStub(channel);
  api::v1::CreateRecurringExchangeRequest create;
  create.set_recurring_exchange_id("bench");
  auto& r = *create.mutable_recurring_exchange();
  r.set_data_provider("dataProviders/edp1");
  r.set_model_provider("modelProviders/mp1");
  *r.mutable_workflow() = exchange::FullExchangeWorkflow();
  r.set_first_date(absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone())));
  r.set_cadence_days(1);
  const auto start = Clock::now();
  auto created = net::Call(*recurring, &api::v1::RecurringExchanges::Stub::CreateRecurringExchange, create, "create");
  if (!created.ok()) {
    std::fprintf(stderr, "%s\n", created.status().ToString().c_str());
    return;
  }
  auto exchanges = api::v1::Exchanges::NewStub(channel);
  api::v1::ListExchangesRequest list;
  list.set_parent(created->name());
  api::v1::Exchange done;
  while (true) {
    auto listed = net::Call(*exchanges, &api::v1::Exchanges::Stub::ListExchanges, list, "list");
    if (listed.ok() && listed->exchanges_size() > 0 && listed->exchanges(0).state() != api::v1::Exchange::ACTIVE) {
      done = listed->exchanges(0);
      break;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  const double wall = Seconds(start);
  std::printf("whole full exchange, %llu keys each, %llu in both: %s in %.1f s\n",
              static_cast<unsigned long long>(keys), static_cast<unsigned long long>(overlap),
              api::v1::Exchange::State_Name(done.state()).c_str(), wall);
  for (const auto& daemon : daemons) {
    std::printf("  daemon of %-20s cpu %6.1f s  peak %5.0f MiB\n", daemon->party.c_str(),
                ProcessCpuSeconds(daemon->process->pid()), ProcessStatusMib(daemon->process->pid(), "VmHWM:"));
  }
  std::printf("  the Kingdom (and idle duchies) in this process: peak %.0f MiB\n", StatusMib("VmHWM:"));
  if (!done.failure_message().empty()) std::printf("  %s\n", done.failure_message().c_str());
  api::v1::ListExchangeStepsRequest steps_request;
  steps_request.set_parent(done.name());
  auto steps = net::Call(*exchanges, &api::v1::Exchanges::Stub::ListExchangeSteps, steps_request, "steps");
  if (!steps.ok()) return;
  for (const auto& step : steps->steps()) {
    api::v1::ListExchangeStepAttemptsRequest attempts_request;
    attempts_request.set_parent(step.name());
    auto attempts =
        net::Call(*exchanges, &api::v1::Exchanges::Stub::ListExchangeStepAttempts, attempts_request, "attempts");
    const std::string message = attempts.ok() && attempts->attempts_size() > 0
                                    ? attempts->attempts(attempts->attempts_size() - 1).message()
                                    : "";
    std::printf("  %-26s %-14s %s\n", step.step_id().c_str(),
                api::v1::ExchangeWorkflow::Party_Name(step.party()).c_str(), message.c_str());
  }
}

}  // namespace
}  // namespace halo::bench

int main(int argc, char** argv) {
  using namespace halo;
  uint64_t keys = 1'000'000, overlap = 500'000;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, "--keys="))
      keys = std::stoull(arg.substr(7));
    else if (absl::StartsWith(arg, "--overlap="))
      overlap = std::stoull(arg.substr(10));
    else if (absl::StartsWith(arg, "--threads="))
      threads = std::stoi(arg.substr(10));
    else {
      std::fprintf(stderr, "unknown flag %s\n", arg.c_str());
      return 2;
    }
  }
  testing::TempDir dir;
  const auto start = std::chrono::steady_clock::now();
  if (!exchange::WriteSyntheticPanels(dir.Sub("edp1/panel.txt"), dir.Sub("mp1/panel.txt"), keys, overlap, 1).ok()) {
    return 1;
  }
  std::printf("panels written in %.1f s\n", bench::Seconds(start));
  bench::IsolatedSteps(dir.path().string(), keys, threads);
  bench::WholeExchange(dir.path().string(), keys, overlap, threads);
  return 0;
}
