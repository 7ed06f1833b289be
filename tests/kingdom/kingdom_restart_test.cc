// `halo --role=kingdom` killed with SIGKILL while clients create
// measurements, then restarted: every create it acknowledged is still there.
#include <catch2/catch.hpp>

#include <csignal>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/api/nonce.h"
#include "halo/crypto/sha256.h"
#include "halo/net/peer.h"
#include "testing/kingdom_process.h"

namespace halo::kingdom {
namespace {

using namespace halo::api::v1;

TEST_CASE("A Kingdom killed mid-traffic and restarted loses no acknowledged write") {
  testing::TempDir dir;
  testing::TlsFixture fixture(dir, "restart");
  const config::TlsConfig admin = fixture.Issue("admins/operator");
  const config::TlsConfig mc = fixture.Issue("measurementConsumers/mc1");
  const config::TlsConfig edp = fixture.Issue("dataProviders/edp1");
  testing::KingdomProcess kingdom(HALO_BINARY, dir, fixture);
  REQUIRE(kingdom.Start());
  const std::string target = kingdom.public_target();
  auto admin_stub = Admin::NewStub(net::OpenChannel(target, *net::LoadTlsMaterial(admin)));
  CreateMeasurementConsumerRequest create_mc;
  create_mc.set_measurement_consumer_id("mc1");
  create_mc.mutable_measurement_consumer()->set_certificate_der(testing::CertificateDerOf(mc));
  MeasurementConsumer consumer;
  {
    grpc::ClientContext context;
    REQUIRE(admin_stub->CreateMeasurementConsumer(&context, create_mc, &consumer).ok());
  }
  const auto edp_key = crypto::EncryptionKeyPair::Generate();
  CreateDataProviderRequest create_edp;
  create_edp.set_data_provider_id("edp1");
  create_edp.mutable_data_provider()->set_certificate_der(testing::CertificateDerOf(edp));
  EncryptionPublicKey key;
  key.set_point(edp_key.public_key.Encode());
  *create_edp.mutable_data_provider()->mutable_public_key() = testing::SignAs(edp, key.SerializeAsString(), "");
  {
    DataProvider provider;
    grpc::ClientContext context;
    REQUIRE(admin_stub->CreateDataProvider(&context, create_edp, &provider).ok());
  }

  // Four clients create measurements until the Kingdom dies under them.
  const auto mc_tls = *net::LoadTlsMaterial(mc);
  absl::Mutex mu;
  std::vector<std::string> acknowledged;
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&, c] {
      auto stub = Measurements::NewStub(net::OpenChannel(target, mc_tls));
      for (int i = 0; !stop.load(); ++i) {
        const uint64_t nonce = 1000 * c + i;
        MeasurementSpec spec;
        EncryptionPublicKey mc_key;
        mc_key.set_point(crypto::EncryptionKeyPair::Generate().public_key.Encode());
        spec.set_measurement_public_key(mc_key.SerializeAsString());
        spec.add_nonce_hashes(halo::api::NonceHash(nonce));
        spec.mutable_reach()->mutable_privacy_params()->set_epsilon(1);
        CreateMeasurementRequest request;
        request.set_parent("measurementConsumers/mc1");
        request.set_request_id(absl::StrCat("client", c, "-", i));
        auto& m = *request.mutable_measurement();
        m.set_measurement_consumer_certificate(consumer.certificate());
        *m.mutable_measurement_spec() = testing::SignAs(mc, spec.SerializeAsString(), consumer.certificate());
        auto& entry = *m.add_data_providers();
        entry.set_data_provider("dataProviders/edp1");
        entry.set_encrypted_requisition_spec("encrypted spec");
        entry.set_nonce_hash(halo::api::NonceHash(nonce));
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
  auto stub = Measurements::NewStub(net::OpenChannel(target, mc_tls));
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
