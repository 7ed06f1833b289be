// The Kingdom's ledger under concurrent callers, without gRPC, so that
// ThreadSanitizer can judge it (scripts/test --thread): measurement consumers
// create measurements while a data provider fulfils them, callers
// authenticate, a certificate is revoked and long-polls wait for changes.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "halo/api/envelopes.h"
#include "halo/api/nonce.h"
#include "halo/crypto/hybrid_encryption.h"
#include "ledger.h"
#include "testing/temp_dir.h"
#include "testing/test_databases.h"
#include "testing/tls_fixture.h"

namespace halo::kingdom {
namespace {

using namespace halo::api::v1;

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

constexpr int kConsumers = 3;
constexpr int kMeasurementsEach = 8;

TEST_CASE("Concurrent consumers, a fulfilling data provider, logins and a revocation lose and double no write") {
  testing::TempDir dir;
  testing::TlsFixture fixture(dir, "ledger");
  config::KingdomConfig config;
  for (const char* d : {"worker1", "worker2", "aggregator"}) config.mutable_protocols()->add_duchies(d);
  config.mutable_protocols()->set_aggregator("aggregator");
  config.add_administrator_certificates(std::string(64, 'a'));
  Ledger::Options options;
  options.database_path = dir.Sub("kingdom.db");
  options.config = config;
  testing::ConfigureDatabaseUnderTest(dir, options.config.mutable_database());
  options.trusted_roots = *crypto::TrustedRoots::FromPem(Read(fixture.ca_file()));
  auto opened = Ledger::Open(options);
  INFO(opened.status().message());
  REQUIRE(opened.ok());
  Ledger& ledger = **opened;

  const config::TlsConfig mc_tls = fixture.Issue("measurementConsumers/mc1");
  const std::string mc_tls_pem = Read(mc_tls.certificate_file());  // before the spare takes its files
  const api::ContentSigner mc = testing::SignerOf(fixture.IssueSigning("measurementConsumers/mc1"),
                                                  "measurementConsumers/mc1");
  CreateMeasurementConsumerRequest create_mc;
  create_mc.set_measurement_consumer_id("mc1");
  create_mc.mutable_measurement_consumer()->set_certificate_der(testing::CertificateDerOf(mc_tls));
  create_mc.mutable_measurement_consumer()->set_signing_certificate_der(mc.certificate.ToDer());
  create_mc.mutable_measurement_consumer()->set_root_certificate_der(testing::RootDerOf(mc_tls));
  REQUIRE(ledger.CreateMeasurementConsumer(create_mc).ok());

  const config::TlsConfig edp_tls = fixture.Issue("dataProviders/edp1");
  const api::ContentSigner edp = testing::SignerOf(fixture.IssueSigning("dataProviders/edp1"), "dataProviders/edp1");
  const crypto::EncryptionKeyPair edp_key = crypto::EncryptionKeyPair::Generate();
  CreateDataProviderRequest create_edp;
  create_edp.set_data_provider_id("edp1");
  create_edp.mutable_data_provider()->set_certificate_der(testing::CertificateDerOf(edp_tls));
  create_edp.mutable_data_provider()->set_signing_certificate_der(edp.certificate.ToDer());
  create_edp.mutable_data_provider()->set_root_certificate_der(testing::RootDerOf(edp_tls));
  *create_edp.mutable_data_provider()->mutable_public_key() =
      api::Sign(api::ToEncryptionPublicKey(edp_key.public_key), edp.key, "");
  auto provider = ledger.CreateDataProvider(create_edp);
  INFO(provider.status().message());
  REQUIRE(provider.ok());
  // A second certificate of mc1, revoked while the others work.
  const config::TlsConfig spare = fixture.Issue("measurementConsumers/mc1");
  const std::string spare_pem = Read(spare.certificate_file());
  const Principal mc_principal{Principal::Kind::kMeasurementConsumer, "measurementConsumers/mc1"};
  const Principal edp_principal{Principal::Kind::kDataProvider, "dataProviders/edp1"};
  CreateCertificateRequest add_spare;
  add_spare.set_parent("measurementConsumers/mc1");
  add_spare.mutable_certificate()->set_x509_der(testing::CertificateDerOf(spare));
  auto spare_certificate = ledger.CreateCertificate(mc_principal, add_spare);
  REQUIRE(spare_certificate.ok());

  absl::Mutex mu;
  std::map<std::string, uint64_t> nonces;  // by measurement
  std::atomic<int> created{0}, fulfilled{0}, create_errors{0};
  std::atomic<bool> done{false};
  const std::string measurement_key = api::ToEncryptionPublicKey(crypto::EncryptionKeyPair::Generate().public_key)
                                          .SerializeAsString();

  std::vector<std::thread> threads;
  for (int c = 0; c < kConsumers; ++c) {
    threads.emplace_back([&, c] {
      for (int i = 0; i < kMeasurementsEach; ++i) {
        const uint64_t nonce = uint64_t{1000} * (c + 1) + i;
        MeasurementSpec spec;
        spec.set_measurement_public_key(measurement_key);
        spec.add_nonce_hashes(api::NonceHash(nonce));
        spec.mutable_reach()->mutable_privacy_params()->set_epsilon(1);
        spec.mutable_reach()->mutable_privacy_params()->set_delta(1e-9);
        CreateMeasurementRequest request;
        request.set_parent("measurementConsumers/mc1");
        request.set_request_id(absl::StrCat("consumer-", c, "-", i));
        auto& m = *request.mutable_measurement();
        m.set_measurement_consumer_certificate(mc.name);
        *m.mutable_measurement_spec() = api::Sign(spec, mc.key, mc.name);
        auto& entry = *m.add_data_providers();
        entry.set_data_provider("dataProviders/edp1");
        entry.set_encrypted_requisition_spec(*crypto::HybridEncrypt(edp_key.public_key, "spec", "requisition spec"));
        entry.set_nonce_hash(api::NonceHash(nonce));
        auto measurement = ledger.CreateMeasurement(mc_principal, request);
        if (!measurement.ok()) {
          ++create_errors;
          continue;
        }
        absl::MutexLock lock(&mu);
        nonces[measurement->name()] = nonce;
        ++created;
      }
    });
  }
  // The data provider fulfils whatever is waiting.
  threads.emplace_back([&] {
    while (fulfilled < kConsumers * kMeasurementsEach && create_errors == 0) {
      ListRequisitionsRequest list;
      list.set_parent("dataProviders/edp1");
      list.add_states(Requisition::UNFULFILLED);
      auto listed = ledger.ListRequisitions(edp_principal, list);
      if (!listed.ok()) break;
      for (const Requisition& r : listed->requisitions()) {
        uint64_t nonce;
        {
          absl::MutexLock lock(&mu);
          auto it = nonces.find(r.measurement());
          if (it == nonces.end()) continue;  // its creator has not recorded it yet
          nonce = it->second;
        }
        FulfillDirectRequisitionRequest fulfil;
        fulfil.set_name(r.name());
        fulfil.set_nonce(nonce);
        fulfil.set_certificate(edp.name);
        fulfil.set_encrypted_result(absl::StrCat("result of ", r.measurement()));
        if (ledger.FulfillDirectRequisition(edp_principal, fulfil).ok()) ++fulfilled;
      }
    }
  });
  // Callers authenticate meanwhile, and mc1's spare certificate is revoked.
  // (Catch's assertions are not for other threads: they count.)
  std::atomic<int> logins{0}, refused_logins{0};
  std::atomic<bool> revoked{false};
  std::string refusal;
  threads.emplace_back([&] {
    for (int i = 0; !done || i < 50; ++i) {
      auto principal = ledger.Authenticate(mc_tls_pem);
      ++(principal.ok() && principal->name == "measurementConsumers/mc1" ? logins : refused_logins);
      if (!principal.ok() && refusal.empty()) refusal = std::string(principal.status().message());
      if (i == 20) revoked = ledger.RevokeCertificate(mc_principal, spare_certificate->name()).ok();
    }
  });
  threads.emplace_back([&] {
    int64_t seen = ledger.changes().version();
    while (!done) seen = ledger.changes().WaitForChange(seen, absl::Milliseconds(20));
  });
  for (int i = 0; i < kConsumers + 1; ++i) threads[i].join();
  done = true;
  for (size_t i = kConsumers + 1; i < threads.size(); ++i) threads[i].join();

  INFO(refusal);
  CHECK(refused_logins == 0);
  CHECK(logins >= 50);
  CHECK(revoked);
  CHECK(create_errors == 0);
  CHECK(created == kConsumers * kMeasurementsEach);
  CHECK(fulfilled == kConsumers * kMeasurementsEach);
  for (const auto& [name, nonce] : nonces) {
    auto m = ledger.GetMeasurement(mc_principal, name);
    REQUIRE(m.ok());
    CHECK(m->state() == Measurement::SUCCEEDED);
    REQUIRE(m->results_size() == 1);
    CHECK(m->results(0).encrypted_result() == absl::StrCat("result of ", name));
  }
  CHECK_FALSE(ledger.Authenticate(spare_pem).ok());
}

}  // namespace
}  // namespace halo::kingdom
