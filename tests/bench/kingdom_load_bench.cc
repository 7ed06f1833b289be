// Load on the Kingdom from a second process: concurrent clients, each on its
// own TLS connection, create measurements and list requisitions against
// `halo --role=kingdom` on loopback. Run through `scripts/bench kingdom`.
//
//   halo_kingdom_load_bench [--clients=100] [--seconds=10] [--database=sqlite|postgresql] [--replicas=N]
//
// On PostgreSQL the bench starts a private server on this host, durable
// (fsync on) as a production one is, and N Kingdom replicas on it; client i
// calls replica i mod N.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <sstream>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/crypto/random.h"
#include "halo/net/peer.h"
#include "halo/storage/local_postgres_server.h"
#include "process_stats.h"
#include "testing/kingdom_process.h"

namespace halo::kingdom {
namespace {

using namespace halo::api::v1;
using Clock = std::chrono::steady_clock;

using bench::ProcessCpuSeconds;

double SelfCpuSeconds() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_stime.tv_sec + (usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

// One client: its own connection as a separate agent would have, and what
// it measured in the current phase.
struct Client {
  std::unique_ptr<Measurements::Stub> measurements;
  std::unique_ptr<Requisitions::Stub> requisitions;
  absl::Mutex mu;
  std::vector<double> create_micros ABSL_GUARDED_BY(mu), read_micros ABSL_GUARDED_BY(mu);
  int errors ABSL_GUARDED_BY(mu) = 0;
  std::string first_error ABSL_GUARDED_BY(mu);
};

// Exits the bench, saying why.
[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "%s\n", message.c_str());
  std::exit(1);
}

// A private, durable PostgreSQL server and a database on it for the Kingdom.
std::string StartDatabase(const testing::TempDir& dir, std::unique_ptr<storage::LocalPostgresServer>& server) {
  auto started = storage::LocalPostgresServer::Start({.durable = true});
  if (!started.ok()) Fail(absl::StrCat("PostgreSQL: ", started.status().message()));
  server = *std::move(started);
  auto database = server->NewDatabase("kingdom", dir.Sub("kingdom.conninfo"));
  if (!database.ok()) Fail(std::string(database.status().message()));
  return database->postgresql().conninfo_file();
}

// CPU seconds of a PostgreSQL server: its postmaster and every backend.
double PostgresCpuSeconds(const storage::LocalPostgresServer& server) {
  std::ifstream pid_file(server.directory() + "/data/postmaster.pid");
  pid_t postmaster = 0;
  pid_file >> postmaster;
  if (postmaster <= 0) return 0;
  double total = ProcessCpuSeconds(postmaster);
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    pid_t pid;
    if (!absl::SimpleAtoi(entry.path().filename().string(), &pid)) continue;
    std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
    std::string line;
    std::getline(stat, line);
    const size_t close = line.rfind(')');
    if (close == std::string::npos) continue;
    // After ") ": the state, then the parent's pid.
    std::istringstream rest(line.substr(close + 2));
    std::string state;
    pid_t parent = 0;
    rest >> state >> parent;
    if (parent == postmaster) total += ProcessCpuSeconds(pid);
  }
  return total;
}

class LoadBench {
 public:
  LoadBench(int clients, bool postgresql, int replicas)
      : fixture_(dir_, "load"),
        kingdom_(HALO_BINARY, dir_, fixture_, postgresql ? StartDatabase(dir_, postgres_) : "") {
    admin_ = kingdom_.administrator();
    mc_ = fixture_.Issue("measurementConsumers/mc1");
    edp_ = fixture_.Issue("dataProviders/edp1");
    replicas_.push_back(&kingdom_);
    for (int r = 1; r < replicas; ++r) {
      owned_replicas_.push_back(kingdom_.Replica(absl::StrCat("kingdom-", r)));
      replicas_.push_back(owned_replicas_.back().get());
    }
    for (testing::KingdomProcess* replica : replicas_) {
      if (!replica->Start()) Fail(absl::StrCat("the Kingdom did not start:\n", replica->process().err()));
    }
    std::printf("Kingdom: %d replica%s on %s\n", replicas, replicas == 1 ? "" : "s",
                postgresql ? "PostgreSQL 15 on this host (fsync on)" : "SQLite");
    auto consumer = testing::DirectMeasurementConsumer::Register(kingdom_.public_target(), fixture_, admin_, mc_, edp_);
    if (!consumer.ok()) {
      std::fprintf(stderr, "%s\n", std::string(consumer.status().message()).c_str());
      std::exit(1);
    }
    consumer_ = *std::move(consumer);
    // Each client its own connection, as separate agents would have.
    const auto mc_tls = *net::LoadTlsMaterial(mc_);
    const auto edp_tls = *net::LoadTlsMaterial(edp_);
    for (int c = 0; c < clients; ++c) {
      grpc::ChannelArguments args;
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      Client& client = clients_.emplace_back();
      const std::string target = replicas_[c % replicas_.size()]->public_target();
      client.measurements = Measurements::NewStub(
          grpc::CreateCustomChannel(target, net::ChannelCredentials(mc_tls, net::kKingdomSubject), args));
      client.requisitions = Requisitions::NewStub(
          grpc::CreateCustomChannel(target, net::ChannelCredentials(edp_tls, net::kKingdomSubject), args));
    }
  }

  // Every client calls for `seconds`: a create every `create_every` calls
  // (never if 0), a requisition list otherwise; prints throughput and
  // latency of each kind. With `calls_per_second` 0 each client calls again
  // as soon as it has its answer (the Kingdom's capacity); otherwise the
  // clients together offer that rate on a fixed schedule, and latency counts
  // from when a call was due, so a stall is not hidden by calls not sent.
  // Calls are asynchronous (gRPC's callback API), so the client process
  // spends little of the machine the Kingdom shares with it.
  void Phase(const std::string& name, int create_every, double seconds, double calls_per_second = 0) {
    for (Client& c : clients_) {
      absl::MutexLock lock(&c.mu);
      c.create_micros.clear();
      c.read_micros.clear();
      c.errors = 0;
    }
    const double server_cpu = KingdomCpuSeconds();
    const double database_cpu = postgres_ != nullptr ? PostgresCpuSeconds(*postgres_) : 0;
    const double client_cpu = SelfCpuSeconds();
    start_ = Clock::now();
    end_ = start_ + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    create_every_ = create_every;
    sequence_ = 0;
    if (calls_per_second == 0) {
      for (size_t i = 0; i < clients_.size(); ++i) Send(i, Clock::now(), /*again=*/true);
    } else {
      const auto interval = std::chrono::duration<double>(1 / calls_per_second);
      for (int64_t k = 0;; ++k) {
        const auto due = start_ + std::chrono::duration_cast<Clock::duration>(interval * k);
        if (due >= end_) break;
        std::this_thread::sleep_until(due);
        Send(k % clients_.size(), due, /*again=*/false);
      }
    }
    {
      absl::MutexLock lock(&outstanding_mu_);
      outstanding_mu_.Await(absl::Condition(+[](int* n) { return *n == 0; }, &outstanding_));
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    std::vector<double> creates, reads;
    int errors = 0;
    for (Client& c : clients_) {
      absl::MutexLock lock(&c.mu);
      creates.insert(creates.end(), c.create_micros.begin(), c.create_micros.end());
      reads.insert(reads.end(), c.read_micros.begin(), c.read_micros.end());
      if (c.errors > 0 && errors == 0) std::fprintf(stderr, "  first error: %s\n", c.first_error.c_str());
      errors += c.errors;
    }
    std::printf("%s (%zu clients, %.1f s%s): Kingdom cpu %.1f s, PostgreSQL cpu %.1f s, client cpu %.1f s, %d errors\n",
                name.c_str(), clients_.size(), elapsed,
                calls_per_second > 0 ? absl::StrCat(", offering ", calls_per_second, " calls/s").c_str() : "",
                KingdomCpuSeconds() - server_cpu,
                postgres_ != nullptr ? PostgresCpuSeconds(*postgres_) - database_cpu : 0.0,
                SelfCpuSeconds() - client_cpu, errors);
    Report("  measurement creates", creates, elapsed);
    Report("  requisition lists (10 a page)", reads, elapsed);
    std::fflush(stdout);
  }

 private:
  double KingdomCpuSeconds() const {
    double total = 0;
    for (testing::KingdomProcess* replica : replicas_) total += ProcessCpuSeconds(replica->process().pid());
    return total;
  }

  // One call on client `i`, due at `due`; when `again`, the client calls
  // again on its answer until the phase ends.
  void Send(size_t i, Clock::time_point due, bool again) {
    {
      absl::MutexLock lock(&outstanding_mu_);
      ++outstanding_;
    }
    const int64_t sequence = sequence_++;
    const bool create = create_every_ > 0 && sequence % create_every_ == 0;
    struct Call {
      grpc::ClientContext context;
      CreateMeasurementRequest create;
      Measurement created;
      ListRequisitionsRequest list;
      ListRequisitionsResponse listed;
    };
    auto* call = new Call;
    call->context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
    auto done = [this, call, i, due, again, create](grpc::Status status) {
      const double micros = std::chrono::duration<double, std::micro>(Clock::now() - due).count();
      delete call;
      Client& client = clients_[i];
      {
        absl::MutexLock lock(&client.mu);
        if (!status.ok()) {
          if (client.errors++ == 0) client.first_error = status.error_message();
        } else {
          (create ? client.create_micros : client.read_micros).push_back(micros);
        }
      }
      if (again && Clock::now() < end_) Send(i, Clock::now(), true);
      absl::MutexLock lock(&outstanding_mu_);
      --outstanding_;
    };
    Client& client = clients_[i];
    if (create) {
      // A requisition spec of realistic size.
      call->create = consumer_->ReachRequest(crypto::SecureRandomUint64(), absl::StrCat("client", i, "-", sequence),
                                             crypto::SecureRandomBytes(400));
      client.measurements->async()->CreateMeasurement(&call->context, &call->create, &call->created, done);
    } else {
      call->list.set_parent("dataProviders/edp1");
      call->list.set_page_size(10);
      call->list.add_states(Requisition::UNFULFILLED);
      client.requisitions->async()->ListRequisitions(&call->context, &call->list, &call->listed, done);
    }
  }

  static void Report(const char* what, std::vector<double>& micros, double elapsed) {
    if (micros.empty()) return;
    std::sort(micros.begin(), micros.end());
    auto at = [&](double q) { return micros[std::min(micros.size() - 1, static_cast<size_t>(q * micros.size()))] / 1000; };
    std::printf("%-34s %8zu calls %8.0f /s   p50 %6.1f ms   p99 %6.1f ms   max %6.1f ms\n", what, micros.size(),
                micros.size() / elapsed, at(0.5), at(0.99), micros.back() / 1000);
  }

  testing::TempDir dir_;
  // Before the Kingdom, which is constructed with its database, and stopped
  // after it.
  std::unique_ptr<storage::LocalPostgresServer> postgres_;
  testing::TlsFixture fixture_;
  testing::KingdomProcess kingdom_;
  std::vector<std::unique_ptr<testing::KingdomProcess>> owned_replicas_;
  std::vector<testing::KingdomProcess*> replicas_;
  config::TlsConfig admin_, mc_, edp_;
  std::optional<testing::DirectMeasurementConsumer> consumer_;
  std::deque<Client> clients_;
  Clock::time_point start_, end_;
  int create_every_ = 0;
  std::atomic<int64_t> sequence_{0};
  absl::Mutex outstanding_mu_;
  int outstanding_ ABSL_GUARDED_BY(outstanding_mu_) = 0;
};

}  // namespace
}  // namespace halo::kingdom

int main(int argc, char** argv) {
  int clients = 100;
  double seconds = 10;
  std::string database = "sqlite";
  int replicas = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (absl::StartsWith(arg, "--clients=") && absl::SimpleAtoi(arg.substr(10), &clients) && clients > 0) continue;
    if (absl::StartsWith(arg, "--seconds=") && absl::SimpleAtod(arg.substr(10), &seconds) && seconds > 0) continue;
    if (absl::StartsWith(arg, "--database=")) {
      database = arg.substr(11);
      if (database == "sqlite" || database == "postgresql") continue;
    }
    if (absl::StartsWith(arg, "--replicas=") && absl::SimpleAtoi(arg.substr(11), &replicas) && replicas > 0 &&
        replicas <= 8) {
      continue;
    }
    std::fprintf(stderr,
                 "unknown or malformed argument %s (want --clients=N, --seconds=S, --database=sqlite|postgresql, "
                 "--replicas=1..8)\n",
                 arg.c_str());
    return 2;
  }
  if (replicas > 1 && database != "postgresql") {
    std::fprintf(stderr, "--replicas=%d needs --database=postgresql: replicas share one database\n", replicas);
    return 2;
  }
  halo::kingdom::LoadBench bench(clients, database == "postgresql", replicas);
  // Connections are made and the Kingdom's caches warmed before measuring.
  bench.Phase("warm-up", 2, 2);
  bench.Phase("creates only", 1, seconds);
  bench.Phase("requisition lists only", 0, seconds);
  bench.Phase("mixed at capacity, one create in eleven calls", 11, seconds);
  // The target: 2,000 requisition reads and 200 creates a second.
  bench.Phase("mixed at the target rate", 11, seconds, 2200);
  return 0;
}
