#include "testing/kingdom_process.h"

#include <fstream>

#include "absl/strings/str_cat.h"
#include "halo/api/envelopes.h"
#include "halo/api/nonce.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/net/peer.h"

namespace halo::testing {

KingdomProcess::KingdomProcess(const std::string& halo_binary, const TempDir& dir, const TlsFixture& fixture,
                               const std::string& postgres_conninfo_file)
    : halo_binary_(halo_binary),
      dir_(dir.path().string()),
      tls_(fixture.Issue("kingdom")),
      administrator_(fixture.Issue("admins/operator")),
      postgres_conninfo_file_(postgres_conninfo_file) {
  WriteConfig("kingdom");
}

std::unique_ptr<KingdomProcess> KingdomProcess::Replica(const std::string& name) const {
  std::unique_ptr<KingdomProcess> replica(new KingdomProcess());
  replica->halo_binary_ = halo_binary_;
  replica->dir_ = dir_;
  replica->tls_ = tls_;
  replica->administrator_ = administrator_;
  replica->postgres_conninfo_file_ = postgres_conninfo_file_;
  replica->WriteConfig(name);
  return replica;
}

void KingdomProcess::WriteConfig(const std::string& name) {
  config_path_ = absl::StrCat(dir_, "/", name, ".textproto");
  public_port_ = FreeLoopbackPort();
  system_port_ = FreeLoopbackPort();
  std::ofstream config(config_path_);
  config << "role: KINGDOM\ndata_dir: \"" << dir_ << "/" << name << "-data\"\nkingdom {\n"
         << "  public_api_address: \"127.0.0.1:" << public_port_ << "\"\n"
         << "  system_api_address: \"127.0.0.1:" << system_port_ << "\"\n"
         << "  tls { certificate_file: \"" << tls_.certificate_file() << "\" private_key_file: \""
         << tls_.private_key_file() << "\" trusted_ca_file: \"" << tls_.trusted_ca_file()
         << "\" }\n  administrator_certificates: \"" << FingerprintOf(administrator_) << "\"\n"
         << "  protocols { duchies: \"worker1\" duchies: \"worker2\" duchies: \"aggregator\" "
            "aggregator: \"aggregator\" }\n";
  if (!postgres_conninfo_file_.empty()) {
    config << "  database { postgresql { conninfo_file: \"" << postgres_conninfo_file_ << "\" } }\n";
  }
  config << "}\n";
}

bool KingdomProcess::Start() {
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{halo_binary_, "--config", config_path_});
  return process_->WaitForStderr("serving", absl::Seconds(20));
}

absl::StatusOr<DirectMeasurementConsumer> DirectMeasurementConsumer::Register(const std::string& target,
                                                                             const TlsFixture& fixture,
                                                                             const config::TlsConfig& admin,
                                                                             const config::TlsConfig& mc,
                                                                             const config::TlsConfig& edp) {
  const api::ContentSigner mc_signer =
      SignerOf(fixture.IssueSigning("measurementConsumers/mc1"), "measurementConsumers/mc1");
  const api::ContentSigner edp_signer = SignerOf(fixture.IssueSigning("dataProviders/edp1"), "dataProviders/edp1");
  auto admin_tls = net::LoadTlsMaterial(admin);
  if (!admin_tls.ok()) return admin_tls.status();
  auto stub = api::v1::Admin::NewStub(net::OpenChannel(target, *admin_tls, net::kKingdomSubject));
  api::v1::CreateMeasurementConsumerRequest create_mc;
  create_mc.set_measurement_consumer_id("mc1");
  create_mc.mutable_measurement_consumer()->set_certificate_der(CertificateDerOf(mc));
  create_mc.mutable_measurement_consumer()->set_signing_certificate_der(mc_signer.certificate.ToDer());
  create_mc.mutable_measurement_consumer()->set_root_certificate_der(RootDerOf(mc));
  api::v1::MeasurementConsumer consumer;
  grpc::ClientContext mc_context;
  if (grpc::Status s = stub->CreateMeasurementConsumer(&mc_context, create_mc, &consumer); !s.ok()) {
    return absl::InternalError(absl::StrCat("registering mc1: ", s.error_message()));
  }
  api::v1::CreateDataProviderRequest create_edp;
  create_edp.set_data_provider_id("edp1");
  create_edp.mutable_data_provider()->set_certificate_der(CertificateDerOf(edp));
  create_edp.mutable_data_provider()->set_signing_certificate_der(edp_signer.certificate.ToDer());
  create_edp.mutable_data_provider()->set_root_certificate_der(RootDerOf(edp));
  api::v1::EncryptionPublicKey edp_key;
  edp_key.set_point(crypto::EncryptionKeyPair::Generate().public_key.Encode());
  *create_edp.mutable_data_provider()->mutable_public_key() = api::Sign(edp_key, edp_signer.key, edp_signer.name);
  api::v1::DataProvider provider;
  grpc::ClientContext edp_context;
  if (grpc::Status s = stub->CreateDataProvider(&edp_context, create_edp, &provider); !s.ok()) {
    return absl::InternalError(absl::StrCat("registering edp1: ", s.error_message()));
  }
  api::v1::EncryptionPublicKey measurement_key;
  measurement_key.set_point(crypto::EncryptionKeyPair::Generate().public_key.Encode());
  return DirectMeasurementConsumer(mc_signer.key, consumer.signing_certificate(), measurement_key.SerializeAsString());
}

api::v1::CreateMeasurementRequest DirectMeasurementConsumer::ReachRequest(
    uint64_t nonce, const std::string& request_id, std::string encrypted_requisition_spec) const {
  api::v1::MeasurementSpec spec;
  spec.set_measurement_public_key(measurement_public_key_);
  spec.add_nonce_hashes(api::NonceHash(nonce));
  spec.mutable_reach()->mutable_privacy_params()->set_epsilon(1);
  spec.mutable_reach()->mutable_privacy_params()->set_delta(1e-9);
  api::v1::CreateMeasurementRequest request;
  request.set_parent("measurementConsumers/mc1");
  request.set_request_id(request_id);
  auto& m = *request.mutable_measurement();
  m.set_measurement_consumer_certificate(certificate_);
  *m.mutable_measurement_spec() = api::Sign(spec, key_, certificate_);
  auto& entry = *m.add_data_providers();
  entry.set_data_provider("dataProviders/edp1");
  entry.set_encrypted_requisition_spec(std::move(encrypted_requisition_spec));
  entry.set_nonce_hash(api::NonceHash(nonce));
  return request;
}

}  // namespace halo::testing
