// `halo --role=kingdom` killed with SIGKILL while clients create
// measurements, then restarted: every create it acknowledged is still there.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/net/peer.h"
#include "testing/kingdom_process.h"

namespace halo::kingdom {
namespace {

using namespace halo::api::v1;

TEST_CASE("A Kingdom killed mid-traffic and restarted loses no acknowledged write") {
  testing::TempDir dir;
  testing::TlsFixture fixture(dir, "restart");
  const config::TlsConfig mc = fixture.Issue("measurementConsumers/mc1");
  const config::TlsConfig edp = fixture.Issue("dataProviders/edp1");
  testing::KingdomProcess kingdom(HALO_BINARY, dir, fixture);
  const config::TlsConfig& admin = kingdom.administrator();
  REQUIRE(kingdom.Start());
  const std::string target = kingdom.public_target();
  const auto consumer = testing::DirectMeasurementConsumer::Register(target, fixture, admin, mc, edp);
  REQUIRE(consumer.ok());

  // Four clients create measurements until the Kingdom dies under them.
  const auto mc_tls = *net::LoadTlsMaterial(mc);
  absl::Mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto stub = Measurements::NewStub(net::OpenChannel(target, mc_tls, net::kKingdomSubject));
      for (int i = 0; !stop.load(); ++i) {
        const CreateMeasurementRequest request =
            consumer->ReachRequest(1000 * c + i, absl::StrCat("client", c, "-", i), "encrypted spec");
        Measurement out;
        grpc::ClientContext context;
        context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
        if (stub->CreateMeasurement(&context, request, &out).ok()) {
          absl::MutexLock lock(&mu);
          acknowledged.push_back(out.name());
        }
      }
    });
  }
  // Kill once some creates are acknowledged, mid-stream.
  for (int waited = 0; waited < 300; ++waited) {
    {
      absl::MutexLock lock(&mu);
      if (acknowledged.size() >= 100) break;
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  kingdom.process().Signal(SIGKILL);
  kingdom.process().Wait(absl::Seconds(10));
  stop = true;
  for (auto& t : clients) t.join();
  std::vector<std::string> written;
  {
    absl::MutexLock lock(&mu);
    written = acknowledged;
  }
  REQUIRE(written.size() >= 100);

  REQUIRE(kingdom.Start());
  auto stub = Measurements::NewStub(net::OpenChannel(target, mc_tls, net::kKingdomSubject));
  size_t found = 0;
  for (const std::string& name : written) {
    GetMeasurementRequest get;
    get.set_name(name);
    Measurement m;
    grpc::ClientContext context;
    found += stub->GetMeasurement(&context, get, &m).ok();
  }
  INFO(written.size() << " creates acknowledged before the kill");
  CHECK(found == written.size());
  kingdom.process().Signal(SIGTERM);
  CHECK(kingdom.process().Wait(absl::Seconds(10)) == 0);
}

}  // namespace
}  // namespace halo::kingdom
