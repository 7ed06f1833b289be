// The Kingdom over real gRPC channels with mTLS on loopback, in one process:
// every caller is a distinct certificate from one test CA.
#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <thread>

#include "halo/api/envelopes.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/api/v1/system.grpc.pb.h"
#include "absl/strings/match.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/crypto/random.h"
#include "halo/api/nonce.h"
#include "halo/crypto/sha256.h"
#include "halo/kingdom/kingdom_server.h"
#include "halo/net/peer.h"
#include "testing/grpc_call.h"
#include "testing/test_databases.h"
#include "testing/tls_fixture.h"

namespace halo::kingdom {
namespace {

using namespace halo::api::v1;

// A party: its TLS and content-signing certificates, its signing key and
// stubs for both APIs.
struct Party {
  std::string subject;
  config::TlsConfig tls_config;
  net::TlsMaterial tls;
  crypto::SigningKey key = crypto::SigningKey::Generate();  // content signing
  std::string certificate_der;  // TLS
  std::string signing_certificate_der;
  std::string tls_certificate_name;  // once registered
  std::string certificate_name;      // of the signing certificate, once registered
  std::shared_ptr<grpc::Channel> public_channel, system_channel;

  // `data`, a serialized `type` (an EncryptionPublicKey unless named).
  SignedMessage Sign(const std::string& data, const std::string& certificate,
                     const std::string& type = EncryptionPublicKey().GetTypeName()) const {
    return api::SignSerialized(data, type, key, certificate);
  }
  std::unique_ptr<Admin::Stub> admin() const { return Admin::NewStub(public_channel); }
  std::unique_ptr<EventGroups::Stub> event_groups() const { return EventGroups::NewStub(public_channel); }
  std::unique_ptr<Measurements::Stub> measurements() const { return Measurements::NewStub(public_channel); }
  std::unique_ptr<Requisitions::Stub> requisitions() const { return Requisitions::NewStub(public_channel); }
  std::unique_ptr<Certificates::Stub> certificates() const { return Certificates::NewStub(public_channel); }
  std::unique_ptr<Computations::Stub> computations() const { return Computations::NewStub(system_channel); }
};

using testing::Call;

// A duchy's LLv2 key for `computation`, with its proof of possession.
std::string ProvenKey(const std::string& duchy, const std::string& computation) {
  const crypto::Scalar secret = crypto::Scalar::Random();
  return api::ProvenElGamalKey(secret, crypto::EcPoint::MulGenerator(secret), computation,
                               duchy.substr(duchy.find('/') + 1))
      .SerializeAsString();
}

class Deployment {
 public:
  explicit Deployment(bool prefer_hmss = false, std::function<absl::Time()> clock = [] { return absl::Now(); })
      : fixture_(dir_, "kingdom-test") {
    config::KingdomConfig config;
    config.set_public_api_address("127.0.0.1:0");
    config.set_system_api_address("127.0.0.1:0");
    administrator_ = fixture_.Issue("admins/operator");
    config.add_administrator_certificates(testing::FingerprintOf(administrator_));
    auto& protocols = *config.mutable_protocols();
    for (const char* d : {"worker1", "worker2", "aggregator"}) protocols.add_duchies(d);
    protocols.set_aggregator("aggregator");
    protocols.set_prefer_hmss(prefer_hmss);
    protocols.set_llv2_sketch_size(100000);
    config.set_pending_measurement_timeout_hours(24);
    config.set_measurement_retention_days(10);
    config.set_max_request_bytes(1 << 20);
    testing::ConfigureDatabaseUnderTest(dir_, config.mutable_database());
    server_config_ = config;
    kingdom_tls_ = *net::LoadTlsMaterial(fixture_.Issue("kingdom"));
    clock_ = std::move(clock);
    Restart();
    for (const char* subject : {"admins/operator", "measurementConsumers/mc1", "measurementConsumers/mc2",
                                "dataProviders/edp1", "dataProviders/edp2", "dataProviders/edp3", "duchies/worker1",
                                "duchies/worker2", "duchies/aggregator", "dataProviders/stranger"}) {
      AddParty(subject);
    }
  }

  void Restart() {
    if (server_) server_->Shutdown(absl::ZeroDuration());
    server_.reset();
    KingdomServerOptions options{.config = server_config_, .database_path = dir_.Sub("kingdom.db"),
                                 .tls = kingdom_tls_, .clock = clock_};
    if (public_port_ != 0) {
      options.config.set_public_api_address("127.0.0.1:" + std::to_string(public_port_));
      options.config.set_system_api_address("127.0.0.1:" + std::to_string(system_port_));
    }
    auto server = KingdomServer::Start(options);
    REQUIRE(server.ok());
    server_ = *std::move(server);
    public_port_ = server_->public_port();
    system_port_ = server_->system_port();
  }

  Party& AddParty(const std::string& subject) {
    Party& p = parties_[subject];
    p.subject = subject;
    p.tls_config = subject == "admins/operator" ? administrator_ : fixture_.Issue(subject);
    p.tls = *net::LoadTlsMaterial(p.tls_config);
    p.certificate_der = testing::CertificateDerOf(p.tls_config);
    if (subject != "admins/operator") {
      const api::ContentSigner signer = testing::SignerOf(fixture_.IssueSigning(subject), subject);
      p.key = signer.key;
      p.signing_certificate_der = signer.certificate.ToDer();
    }
    p.public_channel = net::OpenChannel("localhost:" + std::to_string(public_port_), p.tls, net::kKingdomSubject);
    p.system_channel = net::OpenChannel("localhost:" + std::to_string(system_port_), p.tls, net::kKingdomSubject);
    return p;
  }

  Party& operator[](const std::string& subject) { return parties_.at(subject); }
  KingdomServer& server() { return *server_; }
  const testing::TlsFixture& fixture() const { return fixture_; }

  // Registers every entity through the Admin service.
  void RegisterAll(bool edps_support_hmss = false) {
    auto admin = parties_.at("admins/operator").admin();
    for (auto& [subject, party] : parties_) {
      const std::string id = subject.substr(subject.find('/') + 1);
      grpc::Status status;
      if (absl::StartsWith(subject, "dataProviders/") && subject != "dataProviders/stranger") {
        CreateDataProviderRequest request;
        request.set_data_provider_id(id);
        request.mutable_data_provider()->set_certificate_der(party.certificate_der);
        request.mutable_data_provider()->set_signing_certificate_der(party.signing_certificate_der);
        request.mutable_data_provider()->set_root_certificate_der(testing::RootDerOf(party.tls_config));
        request.mutable_data_provider()->set_supports_hmss(edps_support_hmss);
        EncryptionPublicKey key;
        key.set_point(edp_keys_.at(subject).public_key.Encode());
        *request.mutable_data_provider()->mutable_public_key() = party.Sign(key.SerializeAsString(), "");
        DataProvider out;
        status = Call(*admin, &Admin::Stub::CreateDataProvider, request, &out);
        party.tls_certificate_name = out.certificate();
        party.certificate_name = out.signing_certificate();
      } else if (absl::StartsWith(subject, "measurementConsumers/")) {
        CreateMeasurementConsumerRequest request;
        request.set_measurement_consumer_id(id);
        request.mutable_measurement_consumer()->set_certificate_der(party.certificate_der);
        request.mutable_measurement_consumer()->set_signing_certificate_der(party.signing_certificate_der);
        request.mutable_measurement_consumer()->set_root_certificate_der(testing::RootDerOf(party.tls_config));
        MeasurementConsumer out;
        status = Call(*admin, &Admin::Stub::CreateMeasurementConsumer, request, &out);
        party.tls_certificate_name = out.certificate();
        party.certificate_name = out.signing_certificate();
      } else if (absl::StartsWith(subject, "duchies/")) {
        CreateDuchyRequest request;
        request.set_duchy_id(id);
        request.mutable_duchy()->set_certificate_der(party.certificate_der);
        request.mutable_duchy()->set_signing_certificate_der(party.signing_certificate_der);
        request.mutable_duchy()->set_root_certificate_der(testing::RootDerOf(party.tls_config));
        Duchy out;
        status = Call(*admin, &Admin::Stub::CreateDuchy, request, &out);
        party.tls_certificate_name = out.certificate();
        party.certificate_name = out.signing_certificate();
      } else {
        continue;
      }
      INFO(subject << ": " << status.error_message());
      REQUIRE(status.ok());
    }
  }

  // A measurement by mc1 over `edps`, with one nonce each.
  struct Created {
    grpc::Status status;
    Measurement measurement;
    std::map<std::string, uint64_t> nonces;
  };
  Created CreateMeasurement(const std::vector<std::string>& edps, bool frequency, const std::string& request_id = "",
                            std::function<void(MeasurementSpec&, CreateMeasurementRequest&)> edit = {}) {
    Party& mc = parties_.at("measurementConsumers/mc1");
    Created created;
    MeasurementSpec spec;
    EncryptionPublicKey mc_key;
    mc_key.set_point(mc_encryption_.public_key.Encode());
    spec.set_measurement_public_key(mc_key.SerializeAsString());
    if (frequency) {
      auto& rf = *spec.mutable_reach_and_frequency();
      rf.mutable_reach_privacy_params()->set_epsilon(1);
      rf.mutable_reach_privacy_params()->set_delta(1e-9);
      rf.mutable_frequency_privacy_params()->set_epsilon(1);
      rf.mutable_frequency_privacy_params()->set_delta(1e-9);
      rf.set_maximum_frequency(10);
    } else {
      spec.mutable_reach()->mutable_privacy_params()->set_epsilon(1);
      spec.mutable_reach()->mutable_privacy_params()->set_delta(1e-9);
    }
    CreateMeasurementRequest request;
    request.set_parent("measurementConsumers/mc1");
    request.set_request_id(request_id);
    for (const std::string& edp : edps) {
      const uint64_t nonce = crypto::SecureRandomUint64();
      created.nonces[edp] = nonce;
      spec.add_nonce_hashes(halo::api::NonceHash(nonce));
      auto& entry = *request.mutable_measurement()->add_data_providers();
      entry.set_data_provider(edp);
      RequisitionSpec requisition_spec;
      requisition_spec.set_nonce(nonce);
      requisition_spec.set_measurement_public_key(spec.measurement_public_key());
      const SignedMessage signed_spec = mc.Sign(requisition_spec.SerializeAsString(), mc.certificate_name,
                                                requisition_spec.GetTypeName());
      entry.set_encrypted_requisition_spec(
          *crypto::HybridEncrypt(edp_keys_.at(edp).public_key, signed_spec.SerializeAsString(), "requisition spec"));
      entry.set_nonce_hash(halo::api::NonceHash(nonce));
    }
    request.mutable_measurement()->set_measurement_consumer_certificate(mc.certificate_name);
    if (edit) edit(spec, request);
    if (!request.measurement().has_measurement_spec()) {
      *request.mutable_measurement()->mutable_measurement_spec() =
          mc.Sign(spec.SerializeAsString(), mc.certificate_name, spec.GetTypeName());
    }
    auto stub = mc.measurements();
    created.status = Call(*stub, &Measurements::Stub::CreateMeasurement, request, &created.measurement);
    return created;
  }

  // The EDP's visible requisitions.
  std::vector<Requisition> RequisitionsOf(const std::string& edp, int wait_ms = 0) {
    ListRequisitionsRequest request;
    request.set_parent(edp);
    request.set_wait_milliseconds(wait_ms);
    ListRequisitionsResponse response;
    auto stub = parties_.at(edp).requisitions();
    REQUIRE(Call(*stub, &Requisitions::Stub::ListRequisitions, request, &response).ok());
    return {response.requisitions().begin(), response.requisitions().end()};
  }

 private:
  testing::TempDir dir_;
  testing::TlsFixture fixture_;
  config::TlsConfig administrator_;
  config::KingdomConfig server_config_;
  net::TlsMaterial kingdom_tls_;
  std::function<absl::Time()> clock_;
  std::unique_ptr<KingdomServer> server_;
  int public_port_ = 0, system_port_ = 0;
  std::map<std::string, Party> parties_;
  std::map<std::string, crypto::EncryptionKeyPair> edp_keys_{
      {"dataProviders/edp1", crypto::EncryptionKeyPair::Generate()},
      {"dataProviders/edp2", crypto::EncryptionKeyPair::Generate()},
      {"dataProviders/edp3", crypto::EncryptionKeyPair::Generate()},
      {"dataProviders/stranger", crypto::EncryptionKeyPair::Generate()}};
  crypto::EncryptionKeyPair mc_encryption_ = crypto::EncryptionKeyPair::Generate();
};

TEST_CASE("Administrators are certificates named by fingerprint in the config; a malformed fingerprint is refused") {
  testing::TempDir dir;
  testing::TlsFixture fixture(dir, "fingerprints");
  KingdomServerOptions options{.database_path = dir.Sub("kingdom.db"),
                               .tls = *net::LoadTlsMaterial(fixture.Issue("kingdom"))};
  options.config.set_public_api_address("127.0.0.1:0");
  options.config.set_system_api_address("127.0.0.1:0");
  for (const char* d : {"worker1", "worker2", "aggregator"}) options.config.mutable_protocols()->add_duchies(d);
  options.config.mutable_protocols()->set_aggregator("aggregator");
  options.config.add_administrator_certificates("admins/operator");
  testing::ConfigureDatabaseUnderTest(dir, options.config.mutable_database());
  auto started = KingdomServer::Start(options);
  REQUIRE_FALSE(started.ok());
  CHECK_THAT(std::string(started.status().message()),
             Catch::Contains("kingdom.administrator_certificates[0]") && Catch::Contains("64 hex digits"));
}

TEST_CASE("Administrators register entities bound to certificates; nobody else may") {
  Deployment d;
  d.RegisterAll();
  auto admin = d["admins/operator"].admin();
  ListEntitiesRequest list;
  list.set_page_size(2);
  ListDataProvidersResponse page;
  REQUIRE(Call(*admin, &Admin::Stub::ListDataProviders, list, &page).ok());
  CHECK(page.data_providers_size() == 2);
  CHECK(page.data_providers(0).name() == "dataProviders/edp1");
  list.set_page_token(page.next_page_token());
  REQUIRE(Call(*admin, &Admin::Stub::ListDataProviders, list, &page).ok());
  CHECK(page.data_providers_size() == 1);
  CHECK(page.next_page_token().empty());
  ListDuchiesResponse duchies;
  REQUIRE(Call(*admin, &Admin::Stub::ListDuchies, ListEntitiesRequest(), &duchies).ok());
  CHECK(duchies.duchies_size() == 3);

  // A second registration of the same id, a malformed id, a certificate
  // naming someone else, and a non-administrator.
  CreateDuchyRequest again;
  again.set_duchy_id("worker1");
  again.mutable_duchy()->set_certificate_der(d["duchies/worker1"].certificate_der);
  again.mutable_duchy()->set_signing_certificate_der(d["duchies/worker1"].signing_certificate_der);
  again.mutable_duchy()->set_root_certificate_der(testing::RootDerOf(d["duchies/worker1"].tls_config));
  Duchy out;
  CHECK(Call(*admin, &Admin::Stub::CreateDuchy, again, &out).error_code() == grpc::StatusCode::ALREADY_EXISTS);
  again.set_duchy_id("Worker_1");
  auto bad_id = Call(*admin, &Admin::Stub::CreateDuchy, again, &out);
  CHECK(bad_id.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad_id.error_message(), Catch::Contains("duchy_id"));
  again.set_duchy_id("worker9");
  auto wrong_subject = Call(*admin, &Admin::Stub::CreateDuchy, again, &out);
  CHECK(wrong_subject.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(wrong_subject.error_message(), Catch::Contains("is not duchies/worker9"));
  // An entity needs its own root, one the Kingdom's TLS trusts, which
  // issued its certificate.
  again.mutable_duchy()->clear_root_certificate_der();
  auto no_root = Call(*admin, &Admin::Stub::CreateDuchy, again, &out);
  CHECK(no_root.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(no_root.error_message(), Catch::Contains("duchy.root_certificate_der: is missing"));
  const auto elsewhere = *crypto::CertificateAuthority::Create("a root the Kingdom does not trust", absl::Hours(1));
  again.mutable_duchy()->set_root_certificate_der(elsewhere.certificate().ToDer());
  auto untrusted_root = Call(*admin, &Admin::Stub::CreateDuchy, again, &out);
  CHECK(untrusted_root.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(untrusted_root.error_message(), Catch::Contains("tls.trusted_ca_file"));
  again.mutable_duchy()->set_root_certificate_der(d["duchies/worker1"].certificate_der);
  auto leaf_as_root = Call(*admin, &Admin::Stub::CreateDuchy, again, &out);
  CHECK(leaf_as_root.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(leaf_as_root.error_message(), Catch::Contains("is not a CA certificate"));
  auto not_admin = d["duchies/worker1"].admin();
  CHECK(Call(*not_admin, &Admin::Stub::ListDuchies, ListEntitiesRequest(), &duchies).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  // A certificate from the CA that was never registered is not let in.
  auto stranger = d["dataProviders/stranger"].requisitions();
  ListRequisitionsRequest request;
  request.set_parent("dataProviders/stranger");
  ListRequisitionsResponse response;
  auto unregistered = Call(*stranger, &Requisitions::Stub::ListRequisitions, request, &response);
  CHECK(unregistered.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(unregistered.error_message(), Catch::Contains("not registered"));
}

TEST_CASE("An entity's TLS and content-signing certificates stand in for each other nowhere: not at registration, in "
          "a signature, nor on a connection") {
  Deployment d;
  auto admin = d["admins/operator"].admin();
  const Party& worker1 = d["duchies/worker1"];
  CreateDuchyRequest swapped;
  swapped.set_duchy_id("worker1");
  swapped.mutable_duchy()->set_root_certificate_der(testing::RootDerOf(worker1.tls_config));
  swapped.mutable_duchy()->set_certificate_der(worker1.certificate_der);
  swapped.mutable_duchy()->set_signing_certificate_der(worker1.certificate_der);
  Duchy out;
  auto tls_as_signing = Call(*admin, &Admin::Stub::CreateDuchy, swapped, &out);
  CHECK(tls_as_signing.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(tls_as_signing.error_message(),
             Catch::Contains("duchy.signing_certificate_der: is not a content-signing certificate"));
  swapped.mutable_duchy()->set_certificate_der(worker1.signing_certificate_der);
  auto signing_as_tls = Call(*admin, &Admin::Stub::CreateDuchy, swapped, &out);
  CHECK(signing_as_tls.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(signing_as_tls.error_message(), Catch::Contains("duchy.certificate_der: is not a TLS certificate"));

  d.RegisterAll();
  // mc1's spec signed with its TLS key, naming its registered TLS
  // certificate: the signature is good, the key is the wrong kind.
  const Party& mc = d["measurementConsumers/mc1"];
  const crypto::SigningKey tls_key = testing::SigningKeyOf(mc.tls_config);
  auto by_tls = d.CreateMeasurement({"dataProviders/edp1"}, false, "", [&](MeasurementSpec& spec,
                                                                          CreateMeasurementRequest& request) {
    request.mutable_measurement()->set_measurement_consumer_certificate(mc.tls_certificate_name);
    *request.mutable_measurement()->mutable_measurement_spec() =
        api::SignSerialized(spec.SerializeAsString(), spec.GetTypeName(), tls_key, mc.tls_certificate_name);
  });
  CHECK(by_tls.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(by_tls.status.error_message(), Catch::Contains("is not a content-signing certificate"));
  REQUIRE(d.CreateMeasurement({"dataProviders/edp1"}, false).status.ok());

  // The signing certificate and key as a client certificate open nothing.
  const net::TlsMaterial signing_as_client{crypto::Certificate::FromDer(mc.signing_certificate_der)->ToPem(),
                                           mc.key.ToPrivateKeyPem(), mc.tls.trusted_ca_pem,
                                           "measurementConsumers/mc1"};
  auto stub = Measurements::NewStub(net::OpenChannel("localhost:" + std::to_string(d.server().public_port()),
                                                     signing_as_client, net::kKingdomSubject));
  ListMeasurementsRequest list;
  list.set_parent("measurementConsumers/mc1");
  ListMeasurementsResponse listed;
  const grpc::Status refused = Call(*stub, &Measurements::Stub::ListMeasurements, list, &listed);
  CHECK_FALSE(refused.ok());
}

TEST_CASE("Event groups: a data provider manages its own, a consumer lists those it may measure") {
  Deployment d;
  d.RegisterAll();
  auto edp = d["dataProviders/edp1"].event_groups();
  CreateEventGroupRequest create;
  create.set_parent("dataProviders/edp1");
  create.set_request_id("r1");
  create.mutable_event_group()->set_measurement_consumer("measurementConsumers/mc1");
  create.mutable_event_group()->set_campaign_name("spring");
  create.mutable_event_group()->add_media_types(VIDEO);
  EventGroup group;
  REQUIRE(Call(*edp, &EventGroups::Stub::CreateEventGroup, create, &group).ok());
  EventGroup retried;
  REQUIRE(Call(*edp, &EventGroups::Stub::CreateEventGroup, create, &retried).ok());
  CHECK(retried.name() == group.name());

  auto mc = d["measurementConsumers/mc1"].event_groups();
  ListEventGroupsRequest list;
  list.set_parent("measurementConsumers/mc1");
  ListEventGroupsResponse listed;
  REQUIRE(Call(*mc, &EventGroups::Stub::ListEventGroups, list, &listed).ok());
  REQUIRE(listed.event_groups_size() == 1);
  CHECK(listed.event_groups(0).campaign_name() == "spring");
  auto other_mc = d["measurementConsumers/mc2"].event_groups();
  GetEventGroupRequest get;
  get.set_name(group.name());
  EventGroup seen;
  CHECK(Call(*other_mc, &EventGroups::Stub::GetEventGroup, get, &seen).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  auto other_edp = d["dataProviders/edp2"].event_groups();
  CHECK(Call(*other_edp, &EventGroups::Stub::CreateEventGroup, create, &seen).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);

  UpdateEventGroupRequest update;
  *update.mutable_event_group() = group;
  update.mutable_event_group()->set_campaign_name("summer");
  EventGroup updated;
  REQUIRE(Call(*edp, &EventGroups::Stub::UpdateEventGroup, update, &updated).ok());
  CHECK(updated.etag() != group.etag());
  // The old etag is stale now.
  CHECK(Call(*edp, &EventGroups::Stub::UpdateEventGroup, update, &updated).error_code() ==
        grpc::StatusCode::ABORTED);
  create.set_request_id("r2");
  create.mutable_event_group()->set_media_types(0, static_cast<MediaType>(77));
  auto unknown_enum = Call(*edp, &EventGroups::Stub::CreateEventGroup, create, &seen);
  CHECK(unknown_enum.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(unknown_enum.error_message(), Catch::Contains("media_types[0]"));

  DeleteEventGroupRequest del;
  del.set_name(group.name());
  DeleteEventGroupResponse deleted;
  REQUIRE(Call(*edp, &EventGroups::Stub::DeleteEventGroup, del, &deleted).ok());
  CHECK(Call(*mc, &EventGroups::Stub::GetEventGroup, get, &seen).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("A direct measurement: the EDP long-polls, fulfils once with the right nonce, and it succeeds") {
  Deployment d;
  d.RegisterAll();
  auto created = d.CreateMeasurement({"dataProviders/edp1"}, false, "req-1");
  REQUIRE(created.status.ok());
  CHECK(created.measurement.protocol_config().protocol() == DIRECT);
  CHECK(created.measurement.state() == Measurement::AWAITING_REQUISITION_FULFILLMENT);
  // A retried create returns the first.
  CHECK(d.CreateMeasurement({"dataProviders/edp1"}, false, "req-1").measurement.name() == created.measurement.name());

  const auto requisitions = d.RequisitionsOf("dataProviders/edp1", 2000);
  REQUIRE(requisitions.size() == 1);
  const Requisition& r = requisitions[0];
  CHECK(r.state() == Requisition::UNFULFILLED);
  CHECK(d.RequisitionsOf("dataProviders/edp2").empty());

  auto stub = d["dataProviders/edp1"].requisitions();
  FulfillDirectRequisitionRequest fulfil;
  fulfil.set_name(r.name());
  fulfil.set_nonce(created.nonces["dataProviders/edp1"] + 1);
  fulfil.set_certificate(d["dataProviders/edp1"].certificate_name);
  fulfil.set_encrypted_result("ciphertext of a signed result");
  Requisition out;
  auto wrong_nonce = Call(*stub, &Requisitions::Stub::FulfillDirectRequisition, fulfil, &out);
  CHECK(wrong_nonce.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(wrong_nonce.error_message(), Catch::Contains("nonce"));
  // Another EDP may not touch it.
  auto other = d["dataProviders/edp2"].requisitions();
  CHECK(Call(*other, &Requisitions::Stub::FulfillDirectRequisition, fulfil, &out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  fulfil.set_nonce(created.nonces["dataProviders/edp1"]);
  fulfil.set_etag("\"1\"");
  CHECK(Call(*stub, &Requisitions::Stub::FulfillDirectRequisition, fulfil, &out).error_code() ==
        grpc::StatusCode::ABORTED);
  fulfil.set_etag(r.etag());
  REQUIRE(Call(*stub, &Requisitions::Stub::FulfillDirectRequisition, fulfil, &out).ok());
  CHECK(out.state() == Requisition::FULFILLED);
  fulfil.clear_etag();
  auto replay = Call(*stub, &Requisitions::Stub::FulfillDirectRequisition, fulfil, &out);
  CHECK(replay.error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  auto mc = d["measurementConsumers/mc1"].measurements();
  GetMeasurementRequest get;
  get.set_name(created.measurement.name());
  Measurement m;
  REQUIRE(Call(*mc, &Measurements::Stub::GetMeasurement, get, &m).ok());
  CHECK(m.state() == Measurement::SUCCEEDED);
  REQUIRE(m.results_size() == 1);
  CHECK(m.results(0).encrypted_result() == "ciphertext of a signed result");
  // Another consumer cannot read it; a finished measurement cannot be cancelled.
  auto other_mc = d["measurementConsumers/mc2"].measurements();
  CHECK(Call(*other_mc, &Measurements::Stub::GetMeasurement, get, &m).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CancelMeasurementRequest cancel;
  cancel.set_name(created.measurement.name());
  CHECK(Call(*mc, &Measurements::Stub::CancelMeasurement, cancel, &m).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_CASE("An LLv2 measurement moves through every internal state as the duchies report") {
  Deployment d;
  d.RegisterAll();
  auto created = d.CreateMeasurement({"dataProviders/edp1", "dataProviders/edp2", "dataProviders/edp3"}, true);
  REQUIRE(created.status.ok());
  CHECK(created.measurement.protocol_config().protocol() == LIQUID_LEGIONS_V2);
  CHECK(created.measurement.protocol_config().duchies_size() == 3);
  // Hidden from the EDPs until every duchy has set its key.
  CHECK(d.RequisitionsOf("dataProviders/edp1").empty());

  // Each duchy finds the computation on its stream.
  std::string computation;
  for (const char* duchy : {"duchies/worker1", "duchies/worker2", "duchies/aggregator"}) {
    auto stub = d[duchy].computations();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto reader = stub->StreamActiveComputations(&context, StreamActiveComputationsRequest());
    StreamActiveComputationsResponse response;
    REQUIRE(reader->Read(&response));
    CHECK(response.computation().state() == Computation::PENDING_REQUISITION_PARAMS);
    CHECK(response.computation().requisitions_size() == 3);
    computation = response.computation().name();
    context.TryCancel();
  }
  auto set_params = [&](const std::string& duchy, const std::string& signer_certificate, bool tamper) {
    Party& p = d[duchy];
    SetParticipantRequisitionParamsRequest request;
    request.set_name(computation);
    *request.mutable_public_key() = p.Sign(ProvenKey(duchy, computation), signer_certificate);
    if (tamper) request.mutable_public_key()->set_data("another key");
    Computation out;
    auto stub = p.computations();
    return std::make_pair(Call(*stub, &Computations::Stub::SetParticipantRequisitionParams, request, &out), out);
  };
  auto tampered = set_params("duchies/worker1", d["duchies/worker1"].certificate_name, true);
  CHECK(tampered.first.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(tampered.first.error_message(), Catch::Contains("public_key.signature"));
  auto foreign = set_params("duchies/worker1", d["duchies/worker2"].certificate_name, false);
  CHECK(foreign.first.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  // A key must come with proof that its duchy knows its secret, for this
  // computation and this duchy.
  auto set_key = [&](const std::string& duchy, const std::string& key) {
    SetParticipantRequisitionParamsRequest request;
    request.set_name(computation);
    *request.mutable_public_key() = d[duchy].Sign(key, d[duchy].certificate_name);
    Computation out;
    return Call(*d[duchy].computations(), &Computations::Stub::SetParticipantRequisitionParams, request, &out);
  };
  const crypto::Scalar secret = crypto::Scalar::Random();
  const crypto::EcPoint point = crypto::EcPoint::MulGenerator(secret);
  for (const auto& [key, problem] : std::vector<std::pair<std::string, std::string>>{
           {api::ToEncryptionPublicKey(point).SerializeAsString(), "64 bytes, not 0"},
           {api::ProvenElGamalKey(secret, point, "computations/another", "worker1").SerializeAsString(),
            "does not verify"},
           {api::ProvenElGamalKey(secret, point, computation, "worker2").SerializeAsString(), "does not verify"},
           {"not a key", "not an EncryptionPublicKey"}}) {
    const grpc::Status refused = set_key("duchies/worker1", key);
    CHECK(refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(refused.error_message(), Catch::Contains("public_key.data") && Catch::Contains(problem));
  }
  REQUIRE(set_params("duchies/worker1", d["duchies/worker1"].certificate_name, false).first.ok());
  CHECK(set_params("duchies/worker1", d["duchies/worker1"].certificate_name, false).first.error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(set_params("duchies/worker2", d["duchies/worker2"].certificate_name, false).first.ok());
  // The rogue key: the last duchy picks x*G minus the others' keys, so the
  // combined key would be x*G. It cannot prove it knows that key's secret.
  crypto::EcPoint rogue = point;
  GetComputationRequest get_computation;
  get_computation.set_name(computation);
  Computation now;
  REQUIRE(Call(*d["duchies/worker1"].computations(), &Computations::Stub::GetComputation, get_computation, &now).ok());
  for (const auto& participant : now.participants()) {
    if (participant.public_key().data().empty()) continue;
    rogue = rogue.Sub(*api::ParseEncryptionPublicKey(participant.public_key().data()));
  }
  const grpc::Status rogue_refused =
      set_key("duchies/aggregator", api::ProvenElGamalKey(secret, rogue, computation, "aggregator").SerializeAsString());
  CHECK(rogue_refused.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(rogue_refused.error_message(), Catch::Contains("proof of key possession does not verify"));
  auto last = set_params("duchies/aggregator", d["duchies/aggregator"].certificate_name, false);
  REQUIRE(last.first.ok());
  CHECK(last.second.state() == Computation::PENDING_REQUISITION_FULFILLMENT);

  // Now each EDP sees its requisition with every duchy's key.
  std::map<std::string, std::string> fulfilling;
  for (const char* edp : {"dataProviders/edp1", "dataProviders/edp2", "dataProviders/edp3"}) {
    auto requisitions = d.RequisitionsOf(edp);
    REQUIRE(requisitions.size() == 1);
    CHECK(requisitions[0].duchies_size() == 3);
    CHECK(!requisitions[0].fulfilling_duchy().empty());
    fulfilling[edp] = requisitions[0].fulfilling_duchy();
  }
  // The fulfilling duchies report the uploads, nonces checked.
  Computation state;
  for (const auto& requisition : last.second.requisitions()) {
    const std::string edp = requisition.data_provider();
    FulfillRequisitionRequest request;
    request.set_name(requisition.name());
    request.set_nonce(created.nonces[edp] ^ 1);
    const std::string duchy = "duchies/" + requisition.fulfilling_duchy();
    auto stub = d[duchy].computations();
    CHECK(Call(*stub, &Computations::Stub::FulfillRequisition, request, &state).error_code() ==
          grpc::StatusCode::INVALID_ARGUMENT);
    const std::string wrong = duchy == "duchies/worker1" ? "duchies/worker2" : "duchies/worker1";
    auto wrong_stub = d[wrong].computations();
    request.set_nonce(created.nonces[edp]);
    CHECK(Call(*wrong_stub, &Computations::Stub::FulfillRequisition, request, &state).error_code() ==
          grpc::StatusCode::PERMISSION_DENIED);
    REQUIRE(Call(*stub, &Computations::Stub::FulfillRequisition, request, &state).ok());
    CHECK(Call(*stub, &Computations::Stub::FulfillRequisition, request, &state).error_code() ==
          grpc::StatusCode::FAILED_PRECONDITION);
  }
  ConfirmComputationParticipantRequest confirm;
  confirm.set_name(computation);
  {
    auto stub = d["duchies/aggregator"].computations();
    REQUIRE(Call(*stub, &Computations::Stub::GetComputation, GetComputationRequest(), &state).error_code() ==
            grpc::StatusCode::INVALID_ARGUMENT);
    GetComputationRequest get;
    get.set_name(computation);
    REQUIRE(Call(*stub, &Computations::Stub::GetComputation, get, &state).ok());
    CHECK(state.state() == Computation::PENDING_PARTICIPANT_CONFIRMATION);
  }
  for (const char* duchy : {"duchies/worker1", "duchies/worker2", "duchies/aggregator"}) {
    auto stub = d[duchy].computations();
    REQUIRE(Call(*stub, &Computations::Stub::ConfirmComputationParticipant, confirm, &state).ok());
  }
  CHECK(state.state() == Computation::PENDING_COMPUTATION);
  SetComputationResultRequest result;
  result.set_name(computation);
  result.set_certificate(d["duchies/worker1"].certificate_name);
  result.set_encrypted_result("encrypted reach and frequency");
  auto worker = d["duchies/worker1"].computations();
  CHECK(Call(*worker, &Computations::Stub::SetComputationResult, result, &state).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  result.set_certificate(d["duchies/aggregator"].certificate_name);
  auto aggregator = d["duchies/aggregator"].computations();
  REQUIRE(Call(*aggregator, &Computations::Stub::SetComputationResult, result, &state).ok());
  CHECK(state.state() == Computation::SUCCEEDED);
  CHECK(Call(*aggregator, &Computations::Stub::SetComputationResult, result, &state).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);

  auto mc = d["measurementConsumers/mc1"].measurements();
  GetMeasurementRequest get;
  get.set_name(created.measurement.name());
  Measurement m;
  REQUIRE(Call(*mc, &Measurements::Stub::GetMeasurement, get, &m).ok());
  CHECK(m.state() == Measurement::SUCCEEDED);
  CHECK(m.results(0).certificate() == d["duchies/aggregator"].certificate_name);
  // A data provider may not use the system API.
  auto edp_system = d["dataProviders/edp1"].computations();
  CHECK(Call(*edp_system, &Computations::Stub::GetComputation, GetComputationRequest(), &state).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("Duchies' stage reports are the measurement's progress, bounded in size and in number") {
  Deployment d;
  d.RegisterAll();
  auto created = d.CreateMeasurement({"dataProviders/edp1", "dataProviders/edp2", "dataProviders/edp3"}, true);
  REQUIRE(created.status.ok());
  std::string computation;
  {
    auto stub = d["duchies/worker1"].computations();
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    auto reader = stub->StreamActiveComputations(&context, StreamActiveComputationsRequest());
    StreamActiveComputationsResponse response;
    REQUIRE(reader->Read(&response));
    computation = response.computation().name();
    context.TryCancel();
  }
  auto report = [&](const std::string& duchy, const std::string& stage, int attempt) {
    CreateComputationLogEntryRequest request;
    request.mutable_entry()->set_computation(computation);
    request.mutable_entry()->set_stage(stage);
    request.mutable_entry()->set_attempt(attempt);
    ComputationLogEntry out;
    return Call(*d[duchy].computations(), &Computations::Stub::CreateComputationLogEntry, request, &out);
  };
  REQUIRE(report("duchies/worker1", "INITIALIZATION_PHASE", 1).ok());
  REQUIRE(report("duchies/worker1", "SETUP_PHASE", 2).ok());
  REQUIRE(report("duchies/aggregator", "INITIALIZATION_PHASE", 1).ok());
  const grpc::Status long_stage = report("duchies/worker2", std::string(65, 'S'), 1);
  CHECK(long_stage.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(long_stage.error_message(), Catch::Contains("entry.stage"));

  GetMeasurementRequest get;
  get.set_name(created.measurement.name());
  Measurement m;
  REQUIRE(Call(*d["measurementConsumers/mc1"].measurements(), &Measurements::Stub::GetMeasurement, get, &m).ok());
  REQUIRE(m.progress_size() == 2);  // each duchy's latest, by duchy
  CHECK(m.progress(0).duchy_id() == "aggregator");
  CHECK(m.progress(0).stage() == "INITIALIZATION_PHASE");
  CHECK(m.progress(1).duchy_id() == "worker1");
  CHECK(m.progress(1).stage() == "SETUP_PHASE");
  CHECK(m.progress(1).attempt() == 2);

  // A participant cannot grow the Kingdom's records without bound.
  for (int i = 3; i < 1000; ++i) REQUIRE(report("duchies/worker2", "SETUP_PHASE", 1).ok());
  const grpc::Status full = report("duchies/worker2", "SETUP_PHASE", 1);
  CHECK(full.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(full.error_message(), Catch::Contains("1000 log entries"));
}

TEST_CASE("A computation stream wakes on each change and resumes after its continuation token") {
  Deployment d;
  d.RegisterAll();
  const std::vector<std::string> edps = {"dataProviders/edp1", "dataProviders/edp2", "dataProviders/edp3"};
  REQUIRE(d.CreateMeasurement(edps, true).status.ok());
  auto stub = d["duchies/worker1"].computations();
  auto open = [&](grpc::ClientContext& context, const std::string& token) {
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    StreamActiveComputationsRequest request;
    request.set_continuation_token(token);
    return stub->StreamActiveComputations(&context, request);
  };
  auto set_params = [&](const std::string& duchy, const std::string& computation) {
    SetParticipantRequisitionParamsRequest request;
    request.set_name(computation);
    *request.mutable_public_key() = d[duchy].Sign(ProvenKey(duchy, computation), d[duchy].certificate_name);
    Computation out;
    auto duchy_stub = d[duchy].computations();
    return Call(*duchy_stub, &Computations::Stub::SetParticipantRequisitionParams, request, &out);
  };
  auto params_set = [](const Computation& c, const std::string& duchy_id) {
    for (const auto& p : c.participants()) {
      if (p.duchy_id() == duchy_id) return p.state() == Computation::Participant::REQUISITION_PARAMS_SET;
    }
    return false;
  };

  grpc::ClientContext context;
  auto reader = open(context, "");
  StreamActiveComputationsResponse response;
  REQUIRE(reader->Read(&response));
  const std::string first = response.computation().name();

  // A measurement created while the stream waits arrives on it, without a
  // new call. (Catch's assertions stay on the test's thread.)
  grpc::Status created;
  std::thread creator([&] {
    absl::SleepFor(absl::Milliseconds(300));
    created = d.CreateMeasurement(edps, true).status;
  });
  const absl::Time waiting = absl::Now();
  const bool woke = reader->Read(&response);
  creator.join();
  REQUIRE(created.ok());
  REQUIRE(woke);
  CHECK(absl::Now() - waiting >= absl::Milliseconds(300));
  const std::string second = response.computation().name();
  CHECK(second != first);
  const std::string before_change = response.continuation_token();

  // A change to the first computation arrives again, after the second.
  REQUIRE(set_params("duchies/worker1", first).ok());
  REQUIRE(reader->Read(&response));
  CHECK(response.computation().name() == first);
  CHECK(params_set(response.computation(), "worker1"));
  const std::string after_change = response.continuation_token();
  context.TryCancel();
  reader->Finish();

  // Resumed after the last token, a stream replays nothing it already gave:
  // the first thing it reads is the next change.
  grpc::ClientContext resumed_context;
  auto resumed = open(resumed_context, after_change);
  grpc::Status changed;
  std::thread changer([&] {
    absl::SleepFor(absl::Milliseconds(300));
    changed = set_params("duchies/worker2", second);
  });
  const bool resumed_read = resumed->Read(&response);
  changer.join();
  REQUIRE(changed.ok());
  REQUIRE(resumed_read);
  CHECK(response.computation().name() == second);
  CHECK(params_set(response.computation(), "worker2"));
  resumed_context.TryCancel();
  resumed->Finish();

  // Resumed from an earlier token, it replays what changed since, in order.
  grpc::ClientContext replay_context;
  auto replay = open(replay_context, before_change);
  std::vector<std::string> replayed;
  for (int i = 0; i < 2 && replay->Read(&response); ++i) replayed.push_back(response.computation().name());
  CHECK(replayed == std::vector<std::string>{first, second});
  replay_context.TryCancel();
  replay->Finish();

  grpc::ClientContext bad_context;
  auto bad = open(bad_context, "not a token");
  CHECK_FALSE(bad->Read(&response));
  const grpc::Status status = bad->Finish();
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(status.error_message(), Catch::Contains("continuation_token"));
}

TEST_CASE("A long-polling data provider wakes when its requisition appears") {
  Deployment d;
  d.RegisterAll();
  grpc::Status created;
  std::thread creator([&] {
    absl::SleepFor(absl::Milliseconds(300));
    created = d.CreateMeasurement({"dataProviders/edp1"}, false).status;
  });
  const absl::Time start = absl::Now();
  const auto requisitions = d.RequisitionsOf("dataProviders/edp1", 20000);
  creator.join();
  REQUIRE(created.ok());
  CHECK(requisitions.size() == 1);
  // Woken by the change, not by the end of its 20-second wait.
  CHECK(absl::Now() - start < absl::Seconds(10));
  // A poll with nothing to find returns empty when its wait is over.
  CHECK(d.RequisitionsOf("dataProviders/edp2", 200).empty());
}

TEST_CASE("The Kingdom picks HMSS when every EDP supports it, and refuses HMSS with delta 0") {
  Deployment d(/*prefer_hmss=*/true);
  d.RegisterAll(/*edps_support_hmss=*/true);
  auto created = d.CreateMeasurement({"dataProviders/edp1", "dataProviders/edp2"}, true);
  REQUIRE(created.status.ok());
  CHECK(created.measurement.protocol_config().protocol() == HONEST_MAJORITY_SHARE_SHUFFLE);
  CHECK(created.measurement.protocol_config().ring_modulus() == 127);
  auto zero_delta = d.CreateMeasurement({"dataProviders/edp1", "dataProviders/edp2"}, false, "",
                                        [](MeasurementSpec& spec, CreateMeasurementRequest&) {
                                          spec.mutable_reach()->mutable_privacy_params()->set_delta(0);
                                        });
  CHECK(zero_delta.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(zero_delta.status.error_message(), Catch::Contains("delta"));
  auto single = d.CreateMeasurement({"dataProviders/edp1"}, true);
  REQUIRE(single.status.ok());
  CHECK(single.measurement.protocol_config().protocol() == DIRECT);
}

TEST_CASE("HMSS is left for LLv2 when the EDPs' frequencies could pass its ring") {
  Deployment d(/*prefer_hmss=*/true);
  d.RegisterAll(/*edps_support_hmss=*/true);
  auto fits = d.CreateMeasurement({"dataProviders/edp1", "dataProviders/edp2"}, true, "",
                                  [](MeasurementSpec& s, CreateMeasurementRequest&) {
                                    s.mutable_reach_and_frequency()->set_maximum_frequency(63);
                                  });
  REQUIRE(fits.status.ok());
  CHECK(fits.measurement.protocol_config().protocol() == HONEST_MAJORITY_SHARE_SHUFFLE);
  auto wide = d.CreateMeasurement({"dataProviders/edp1", "dataProviders/edp2"}, true, "",
                                  [](MeasurementSpec& s, CreateMeasurementRequest&) {
                                    s.mutable_reach_and_frequency()->set_maximum_frequency(64);
                                  });
  REQUIRE(wide.status.ok());
  CHECK(wide.measurement.protocol_config().protocol() == LIQUID_LEGIONS_V2);
}

TEST_CASE("Bad measurement requests are refused naming the field, and nothing is written") {
  Deployment d;
  d.RegisterAll();
  using Edit = std::function<void(MeasurementSpec&, CreateMeasurementRequest&)>;
  const std::vector<std::pair<Edit, std::string>> cases = {
      {[](MeasurementSpec& s, CreateMeasurementRequest&) { s.add_nonce_hashes(std::string(32, 'x')); },
       "measurement_spec.nonce_hashes"},
      {[](MeasurementSpec&, CreateMeasurementRequest& r) {
         r.mutable_measurement()->mutable_data_providers(0)->set_nonce_hash(std::string(31, 'x'));
       },
       "nonce_hash"},
      {[](MeasurementSpec& s, CreateMeasurementRequest&) { s.mutable_reach()->mutable_privacy_params()->set_epsilon(0); },
       "epsilon"},
      {[](MeasurementSpec& s, CreateMeasurementRequest&) { s.mutable_vid_sampling_interval()->set_width(1.5); },
       "vid_sampling_interval.width"},
      {[](MeasurementSpec& s, CreateMeasurementRequest&) { s.mutable_reach()->mutable_privacy_params()->set_epsilon(11); },
       "epsilon: 11 is above the largest this Kingdom accepts, 10"},
      {[](MeasurementSpec& s, CreateMeasurementRequest&) { s.mutable_reach()->mutable_privacy_params()->set_delta(0); },
       "reach.privacy_params.delta: must be > 0"},
      {[](MeasurementSpec& s, CreateMeasurementRequest&) {
         s.clear_reach();
         auto& rf = *s.mutable_reach_and_frequency();
         for (auto* p : {rf.mutable_reach_privacy_params(), rf.mutable_frequency_privacy_params()}) {
           p->set_epsilon(1);
           p->set_delta(1e-9);
         }
         rf.set_maximum_frequency(101);
       },
       "maximum_frequency: must be 2 to 100"},
      // Noise this quiet would pad each duchy's stage with millions of registers.
      {[](MeasurementSpec& s, CreateMeasurementRequest&) {
         s.mutable_reach()->mutable_privacy_params()->set_epsilon(1e-5);
       },
       "noise registers; at most 4194304"},
      {[](MeasurementSpec& s, CreateMeasurementRequest&) { s.set_measurement_public_key("junk"); },
       "measurement_public_key"},
      {[](MeasurementSpec& s, CreateMeasurementRequest&) { s.clear_reach(); }, "measurement_type"},
      {[](MeasurementSpec&, CreateMeasurementRequest& r) {
         r.mutable_measurement()->mutable_data_providers(0)->set_data_provider("dataProviders/nobody");
       },
       "data_provider"},
      {[](MeasurementSpec&, CreateMeasurementRequest& r) {
         r.mutable_measurement()->mutable_data_providers(0)->set_data_provider("data/Providers!");
       },
       "data_providers[0].data_provider"},
      {[](MeasurementSpec&, CreateMeasurementRequest& r) { r.set_parent("measurementConsumers/mc1/x"); }, "parent"},
      {[](MeasurementSpec& s, CreateMeasurementRequest& r) {
         *r.mutable_measurement()->mutable_measurement_spec() = SignedMessage();
         r.mutable_measurement()->mutable_measurement_spec()->set_data(s.SerializeAsString());
         r.mutable_measurement()->mutable_measurement_spec()->set_signature("not a signature");
       },
       "measurement_spec.signature"},
  };
  for (const auto& [edit, field] : cases) {
    auto created = d.CreateMeasurement({"dataProviders/edp1", "dataProviders/edp2"}, false, "", edit);
    INFO(field << ": " << created.status.error_message());
    CHECK(created.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
    CHECK_THAT(created.status.error_message(), Catch::Contains(field));
  }
  auto mc = d["measurementConsumers/mc1"].measurements();
  ListMeasurementsRequest list;
  list.set_parent("measurementConsumers/mc1");
  ListMeasurementsResponse listed;
  REQUIRE(Call(*mc, &Measurements::Stub::ListMeasurements, list, &listed).ok());
  CHECK(listed.measurements_size() == 0);
  list.add_states(static_cast<Measurement::State>(42));
  auto unknown_state = Call(*mc, &Measurements::Stub::ListMeasurements, list, &listed);
  CHECK(unknown_state.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(unknown_state.error_message(), Catch::Contains("states[0]"));
  // Requests larger than the configured limit never reach the ledger.
  auto oversize = d.CreateMeasurement({"dataProviders/edp1"}, false, "", [](MeasurementSpec&, CreateMeasurementRequest& r) {
    r.mutable_measurement()->set_measurement_reference_id(std::string(2 << 20, 'x'));
  });
  CHECK(oversize.status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
}

TEST_CASE("Specs are capped, and a listing is cut by bytes so an MC cannot pad an EDP's listing past gRPC's limit") {
  Deployment d;
  d.RegisterAll();
  auto padded = [](size_t bytes) {
    return [bytes](MeasurementSpec&, CreateMeasurementRequest& r) {
      r.mutable_measurement()->mutable_data_providers(0)->set_encrypted_requisition_spec(std::string(bytes, 'x'));
    };
  };
  const auto over = d.CreateMeasurement({"dataProviders/edp1"}, false, "", padded((256 << 10) + 1));
  CHECK(over.status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(over.status.error_message(),
             Catch::Contains("encrypted_requisition_spec") && Catch::Contains("at most 262144"));
  // 24 requisitions of 250 KiB: 6 MB, past the 4 MiB a client takes at once.
  for (int i = 0; i < 24; ++i) REQUIRE(d.CreateMeasurement({"dataProviders/edp1"}, false, "", padded(250 << 10)).status.ok());
  auto stub = d["dataProviders/edp1"].requisitions();
  ListRequisitionsRequest request;
  request.set_parent("dataProviders/edp1");
  request.set_page_size(50);
  std::set<std::string> seen;
  int pages = 0;
  do {
    ListRequisitionsResponse response;
    const grpc::Status listed = Call(*stub, &Requisitions::Stub::ListRequisitions, request, &response);
    INFO(listed.error_message());
    REQUIRE(listed.ok());
    CHECK(response.ByteSizeLong() <= (2u << 20));
    for (const auto& r : response.requisitions()) CHECK(seen.insert(r.name()).second);
    request.set_page_token(response.next_page_token());
    ++pages;
  } while (!request.page_token().empty() && pages < 100);
  CHECK(seen.size() == 24);
  CHECK(pages >= 3);
}

TEST_CASE("Listings page through more rows than one fetch, filters included, each item once") {
  Deployment d;
  d.RegisterAll();
  // 150 measurements, every third cancelled: more than the 64 rows the
  // ledger fetches at a time, with a filter that drops rows between them.
  std::set<std::string> open_requisitions, open_measurements;
  auto mc = d["measurementConsumers/mc1"].measurements();
  for (int i = 0; i < 150; ++i) {
    const auto created = d.CreateMeasurement({"dataProviders/edp1"}, false);
    REQUIRE(created.status.ok());
    if (i % 3 == 0) {
      CancelMeasurementRequest cancel;
      cancel.set_name(created.measurement.name());
      Measurement cancelled;
      REQUIRE(Call(*mc, &Measurements::Stub::CancelMeasurement, cancel, &cancelled).ok());
    } else {
      open_measurements.insert(created.measurement.name());
    }
  }
  auto edp = d["dataProviders/edp1"].requisitions();
  ListRequisitionsRequest requisitions;
  requisitions.set_parent("dataProviders/edp1");
  requisitions.set_page_size(7);
  requisitions.add_states(Requisition::UNFULFILLED);
  std::set<std::string> seen;
  int pages = 0;
  do {
    ListRequisitionsResponse response;
    REQUIRE(Call(*edp, &Requisitions::Stub::ListRequisitions, requisitions, &response).ok());
    CHECK(response.requisitions_size() <= 7);
    for (const auto& r : response.requisitions()) {
      CHECK(r.state() == Requisition::UNFULFILLED);
      CHECK(seen.insert(r.name()).second);
    }
    requisitions.set_page_token(response.next_page_token());
    ++pages;
  } while (!requisitions.page_token().empty() && pages < 100);
  CHECK(seen.size() == 100);
  ListMeasurementsRequest measurements;
  measurements.set_parent("measurementConsumers/mc1");
  measurements.set_page_size(9);
  measurements.add_states(Measurement::AWAITING_REQUISITION_FULFILLMENT);
  std::set<std::string> listed;
  pages = 0;
  do {
    ListMeasurementsResponse response;
    REQUIRE(Call(*mc, &Measurements::Stub::ListMeasurements, measurements, &response).ok());
    for (const auto& m : response.measurements()) CHECK(listed.insert(m.name()).second);
    measurements.set_page_token(response.next_page_token());
    ++pages;
  } while (!measurements.page_token().empty() && pages < 100);
  CHECK(listed == open_measurements);
}

TEST_CASE("A refusal fails the measurement and withdraws the other requisitions; cancel withdraws too") {
  Deployment d;
  d.RegisterAll();
  auto created = d.CreateMeasurement({"dataProviders/edp1"}, false);
  auto cancelled = d.CreateMeasurement({"dataProviders/edp2"}, false);
  REQUIRE(created.status.ok());
  REQUIRE(cancelled.status.ok());
  const auto requisitions = d.RequisitionsOf("dataProviders/edp1");
  REQUIRE(requisitions.size() == 1);
  auto stub = d["dataProviders/edp1"].requisitions();
  RefuseRequisitionRequest refuse;
  refuse.set_name(requisitions[0].name());
  Requisition out;
  CHECK(Call(*stub, &Requisitions::Stub::RefuseRequisition, refuse, &out).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  refuse.mutable_refusal()->set_justification(Requisition::Refusal::CONSENT_SIGNAL_INVALID);
  refuse.mutable_refusal()->set_message("bad signature");
  REQUIRE(Call(*stub, &Requisitions::Stub::RefuseRequisition, refuse, &out).ok());
  CHECK(out.state() == Requisition::REFUSED);
  auto mc = d["measurementConsumers/mc1"].measurements();
  GetMeasurementRequest get;
  get.set_name(created.measurement.name());
  Measurement m;
  REQUIRE(Call(*mc, &Measurements::Stub::GetMeasurement, get, &m).ok());
  CHECK(m.state() == Measurement::FAILED);
  CHECK(m.failure().reason() == Measurement::Failure::REQUISITION_REFUSED);
  CHECK_THAT(m.failure().message(), Catch::Contains("bad signature"));

  CancelMeasurementRequest cancel;
  cancel.set_name(cancelled.measurement.name());
  cancel.set_etag("\"5\"");
  CHECK(Call(*mc, &Measurements::Stub::CancelMeasurement, cancel, &m).error_code() == grpc::StatusCode::ABORTED);
  cancel.set_etag(cancelled.measurement.etag());
  REQUIRE(Call(*mc, &Measurements::Stub::CancelMeasurement, cancel, &m).ok());
  CHECK(m.state() == Measurement::CANCELLED);
  const auto withdrawn = d.RequisitionsOf("dataProviders/edp2");
  REQUIRE(withdrawn.size() == 1);
  CHECK(withdrawn[0].state() == Requisition::WITHDRAWN);
  auto edp2 = d["dataProviders/edp2"].requisitions();
  FulfillDirectRequisitionRequest fulfil;
  fulfil.set_name(withdrawn[0].name());
  fulfil.set_nonce(cancelled.nonces["dataProviders/edp2"]);
  fulfil.set_certificate(d["dataProviders/edp2"].certificate_name);
  fulfil.set_encrypted_result("late");
  CHECK(Call(*edp2, &Requisitions::Stub::FulfillDirectRequisition, fulfil, &out).error_code() ==
        grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("A revoked certificate is refused from then on and fails what depends on it") {
  Deployment d;
  d.RegisterAll();
  auto created = d.CreateMeasurement({"dataProviders/edp1"}, false);
  REQUIRE(created.status.ok());
  auto certificates = d["dataProviders/edp2"].certificates();
  RevokeCertificateRequest revoke;
  revoke.set_name(d["measurementConsumers/mc1"].certificate_name);
  Certificate out;
  CHECK(Call(*certificates, &Certificates::Stub::RevokeCertificate, revoke, &out).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  // The signing certificate first: what it signed fails; then the TLS one,
  // which no call gets past.
  auto own = d["measurementConsumers/mc1"].certificates();
  REQUIRE(Call(*own, &Certificates::Stub::RevokeCertificate, revoke, &out).ok());
  CHECK(out.revocation_state() == Certificate::REVOKED);
  revoke.set_name(d["measurementConsumers/mc1"].tls_certificate_name);
  REQUIRE(Call(*own, &Certificates::Stub::RevokeCertificate, revoke, &out).ok());
  auto mc = d["measurementConsumers/mc1"].measurements();
  GetMeasurementRequest get;
  get.set_name(created.measurement.name());
  Measurement m;
  auto refused = Call(*mc, &Measurements::Stub::GetMeasurement, get, &m);
  CHECK(refused.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(refused.error_message(), Catch::Contains("revoked"));
  // The EDP sees its requisition withdrawn: the measurement failed.
  const auto requisitions = d.RequisitionsOf("dataProviders/edp1");
  REQUIRE(requisitions.size() == 1);
  CHECK(requisitions[0].state() == Requisition::WITHDRAWN);
}

TEST_CASE("A duchy's stream open when its certificate is revoked ends, and its measurements fail naming it") {
  Deployment d;
  d.RegisterAll();
  auto created = d.CreateMeasurement({"dataProviders/edp1", "dataProviders/edp2"}, true);
  REQUIRE(created.status.ok());
  auto stub = d["duchies/worker2"].computations();
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto reader = stub->StreamActiveComputations(&context, StreamActiveComputationsRequest());
  StreamActiveComputationsResponse response;
  REQUIRE(reader->Read(&response));
  // worker2 takes part: its key is signed with the certificate.
  SetParticipantRequisitionParamsRequest params;
  params.set_name(response.computation().name());
  *params.mutable_public_key() = d["duchies/worker2"].Sign(ProvenKey("duchies/worker2", params.name()),
                                                           d["duchies/worker2"].certificate_name);
  Computation set;
  REQUIRE(Call(*stub, &Computations::Stub::SetParticipantRequisitionParams, params, &set).ok());
  RevokeCertificateRequest revoke;
  revoke.set_name(d["duchies/worker2"].certificate_name);
  Certificate out;
  REQUIRE(Call(*d["admins/operator"].certificates(), &Certificates::Stub::RevokeCertificate, revoke, &out).ok());
  revoke.set_name(d["duchies/worker2"].tls_certificate_name);
  REQUIRE(Call(*d["admins/operator"].certificates(), &Certificates::Stub::RevokeCertificate, revoke, &out).ok());
  // The failure is itself a change the stream would carry; after it the
  // stream ends, refused.
  while (reader->Read(&response)) {
  }
  const grpc::Status ended = reader->Finish();
  CHECK(ended.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(ended.error_message(), Catch::Contains("revoked"));
  GetMeasurementRequest get;
  get.set_name(created.measurement.name());
  Measurement m;
  REQUIRE(Call(*d["measurementConsumers/mc1"].measurements(), &Measurements::Stub::GetMeasurement, get, &m).ok());
  CHECK(m.state() == Measurement::FAILED);
  CHECK_THAT(m.failure().message(), Catch::Contains(d["duchies/worker2"].certificate_name));
}

TEST_CASE("Housekeeping cancels stale pending measurements and deletes old finished ones") {
  absl::Time now = absl::Now();
  absl::Mutex mu;
  Deployment d(false, [&] {
    absl::MutexLock lock(&mu);
    return now;
  });
  d.RegisterAll();
  auto created = d.CreateMeasurement({"dataProviders/edp1"}, false);
  REQUIRE(created.status.ok());
  CHECK(d.server().RunHousekeeping()->first == 0);
  {
    absl::MutexLock lock(&mu);
    now += absl::Hours(25);
  }
  CHECK(*d.server().RunHousekeeping() == std::make_pair(1, 0));
  {
    absl::MutexLock lock(&mu);
    now += absl::Hours(24 * 11);
  }
  CHECK(*d.server().RunHousekeeping() == std::make_pair(0, 1));
  auto mc = d["measurementConsumers/mc1"].measurements();
  GetMeasurementRequest get;
  get.set_name(created.measurement.name());
  Measurement m;
  CHECK(Call(*mc, &Measurements::Stub::GetMeasurement, get, &m).error_code() == grpc::StatusCode::NOT_FOUND);
}

TEST_CASE("State survives a restart of the Kingdom") {
  Deployment d;
  d.RegisterAll();
  auto created = d.CreateMeasurement({"dataProviders/edp1"}, false);
  REQUIRE(created.status.ok());
  d.Restart();
  auto mc = d["measurementConsumers/mc1"].measurements();
  GetMeasurementRequest get;
  get.set_name(created.measurement.name());
  Measurement m;
  REQUIRE(Call(*mc, &Measurements::Stub::GetMeasurement, get, &m).ok());
  CHECK(m.etag() == created.measurement.etag());
  CHECK(d.RequisitionsOf("dataProviders/edp1").size() == 1);
}

}  // namespace
}  // namespace halo::kingdom
