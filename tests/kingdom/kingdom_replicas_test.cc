// Two `halo --role=kingdom` processes on one PostgreSQL database: either
// serves any request, a long poll on one wakes for a change made through the
// other, and when one is killed with SIGKILL under load, clients that retry
// on the other lose nothing acknowledged and create nothing twice.
#include <catch2/catch.hpp>

#include <csignal>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/net/peer.h"
#include "testing/kingdom_process.h"
#include "testing/test_databases.h"

namespace halo::kingdom {
namespace {

using namespace halo::api::v1;

// Two replicas of one Kingdom on a fresh PostgreSQL database, both serving,
// with mc1 and edp1 registered through the first; `skipped` where
// PostgreSQL is not installed.
struct TwoReplicas {
  TwoReplicas() {
    config::DatabaseConfig shared;
    if (!testing::ConfigureTestDatabase(testing::Backend::kPostgres, dir, &shared)) return;
    skipped = false;
    const std::string& database = shared.postgresql().conninfo_file();
    mc = fixture.Issue("measurementConsumers/mc1");
    edp = fixture.Issue("dataProviders/edp1");
    a = std::make_unique<testing::KingdomProcess>(HALO_BINARY, dir, fixture, database);
    b = a->Replica("kingdom-b");
    REQUIRE(a->Start());
    REQUIRE(b->Start());
    auto registered = testing::DirectMeasurementConsumer::Register(a->public_target(), fixture, a->administrator(), mc,
                                                                   edp);
    REQUIRE(registered.ok());
    consumer.emplace(*std::move(registered));
    mc_tls = *net::LoadTlsMaterial(mc);
    edp_tls = *net::LoadTlsMaterial(edp);
  }

  bool skipped = true;
  testing::TempDir dir;
  testing::TlsFixture fixture{dir, "replicas"};
  config::TlsConfig mc, edp;
  net::TlsMaterial mc_tls, edp_tls;
  std::unique_ptr<testing::KingdomProcess> a, b;
  std::optional<testing::DirectMeasurementConsumer> consumer;
};

TEST_CASE("Two replicas serve one Kingdom, and a long poll on one wakes for a create through the other") {
  TwoReplicas replicas;
  if (replicas.skipped) return;
  testing::KingdomProcess& a = *replicas.a;
  testing::KingdomProcess* b = replicas.b.get();
  const auto& consumer = replicas.consumer;
  const net::TlsMaterial& mc_tls = replicas.mc_tls;
  const net::TlsMaterial& edp_tls = replicas.edp_tls;
  // mc1 and edp1 were registered through A, and are known to B.
  auto on_a = Measurements::NewStub(net::OpenChannel(a.public_target(), mc_tls, net::kKingdomSubject));
  auto on_b = Requisitions::NewStub(net::OpenChannel(b->public_target(), edp_tls, net::kKingdomSubject));

  // The EDP waits on B (up to 20 s); the MC creates on A.
  ListRequisitionsResponse listed;
  grpc::Status list_status;
  absl::Time answered;
  std::thread poll([&] {
    ListRequisitionsRequest request;
    request.set_parent("dataProviders/edp1");
    request.set_wait_milliseconds(20000);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    list_status = on_b->ListRequisitions(&context, request, &listed);
    answered = absl::Now();
  });
  absl::SleepFor(absl::Seconds(1));  // the poll is waiting by now
  grpc::ClientContext create_context;
  Measurement created;
  REQUIRE(on_a->CreateMeasurement(&create_context, consumer->ReachRequest(1, "first", "spec"), &created).ok());
  const absl::Time committed = absl::Now();
  poll.join();
  REQUIRE(list_status.ok());
  REQUIRE(listed.requisitions_size() == 1);
  CHECK(listed.requisitions(0).measurement() == created.name());
  // Notified, not found by a poll of seconds.
  CHECK(answered - committed < absl::Seconds(1));
  // And read back through B.
  auto get_on_b = Measurements::NewStub(net::OpenChannel(b->public_target(), mc_tls, net::kKingdomSubject));
  GetMeasurementRequest get;
  get.set_name(created.name());
  Measurement read;
  grpc::ClientContext get_context;
  CHECK(get_on_b->GetMeasurement(&get_context, get, &read).ok());
  CHECK(read.name() == created.name());

  a.process().Signal(SIGTERM);
  b->process().Signal(SIGTERM);
  CHECK(a.process().Wait(absl::Seconds(10)) == 0);
  CHECK(b->process().Wait(absl::Seconds(10)) == 0);
}

TEST_CASE("A replica killed under load: clients that retry on the other lose nothing acknowledged, doubling nothing") {
  TwoReplicas replicas;
  if (replicas.skipped) return;
  testing::KingdomProcess& a = *replicas.a;
  testing::KingdomProcess* b = replicas.b.get();
  const auto& consumer = replicas.consumer;
  const net::TlsMaterial& mc_tls = replicas.mc_tls;

  // Four clients create on A; a create that fails there is sent again, with
  // the same request id, to B until B answers.
  absl::Mutex mu;
  std::map<std::string, std::string> acknowledged;  // request id -> measurement
  std::atomic<int> retried{0}, lost{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto stub_a = Measurements::NewStub(net::OpenChannel(a.public_target(), mc_tls, net::kKingdomSubject));
      auto stub_b = Measurements::NewStub(net::OpenChannel(b->public_target(), mc_tls, net::kKingdomSubject));
      bool a_down = false;
      for (int i = 0; !stop.load(); ++i) {
        const std::string request_id = absl::StrCat("client", c, "-", i);
        const CreateMeasurementRequest request = consumer->ReachRequest(1000 * c + i, request_id, "spec");
        Measurement out;
        bool ok = false;
        if (!a_down) {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          ok = stub_a->CreateMeasurement(&context, request, &out).ok();
          a_down = !ok;
        }
        for (int attempt = 0; !ok && attempt < 20; ++attempt) {
          grpc::ClientContext context;
          context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
          ok = stub_b->CreateMeasurement(&context, request, &out).ok();
          ++retried;
        }
        if (!ok) {
          ++lost;
          continue;
        }
        absl::MutexLock lock(&mu);
        acknowledged[request_id] = out.name();
      }
    });
  }
  auto count = [&] {
    absl::MutexLock lock(&mu);
    return acknowledged.size();
  };
  for (int waited = 0; waited < 300 && count() < 100; ++waited) absl::SleepFor(absl::Milliseconds(100));
  a.process().Signal(SIGKILL);
  a.process().Wait(absl::Seconds(10));
  const size_t at_kill = count();
  // B goes on serving them.
  for (int waited = 0; waited < 300 && count() < at_kill + 100; ++waited) absl::SleepFor(absl::Milliseconds(100));
  stop = true;
  for (auto& t : clients) t.join();
  CHECK(lost.load() == 0);
  CHECK(retried.load() > 0);
  REQUIRE(count() >= at_kill + 100);

  // Every acknowledged create is there, once, under the name it was
  // acknowledged with; none exists that was not acknowledged.
  auto stub_b = Measurements::NewStub(net::OpenChannel(b->public_target(), mc_tls, net::kKingdomSubject));
  std::set<std::string> listed;
  ListMeasurementsRequest list;
  list.set_parent("measurementConsumers/mc1");
  list.set_page_size(1000);
  do {
    ListMeasurementsResponse response;
    grpc::ClientContext context;
    REQUIRE(stub_b->ListMeasurements(&context, list, &response).ok());
    for (const auto& m : response.measurements()) listed.insert(m.name());
    list.set_page_token(response.next_page_token());
  } while (!list.page_token().empty());
  std::set<std::string> names;
  {
    absl::MutexLock lock(&mu);
    for (const auto& [request_id, name] : acknowledged) CHECK(names.insert(name).second);
  }
  INFO(names.size() << " creates acknowledged, " << retried.load() << " calls retried on the other replica");
  CHECK(listed == names);
  b->process().Signal(SIGTERM);
  CHECK(b->process().Wait(absl::Seconds(10)) == 0);
}

}  // namespace
}  // namespace halo::kingdom
