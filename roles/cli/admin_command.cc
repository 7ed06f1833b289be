#include "cli/admin_command.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "cli/kingdom_flags.h"
#include "cli/report.h"
#include "halo/api/content_signer.h"
#include "halo/api/encryption_key_file.h"
#include "halo/api/envelopes.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"

namespace halo::cli {
namespace {

struct AdminFlags {
  KingdomFlags kingdom;
  std::string id;
  std::string root_file;
  std::string certificate_file;
  std::string signing_certificate_file;
  std::string signing_key_file;
  std::string encryption_key_file;
  bool hmss = false;
  // add-certificate, revoke-certificate
  std::string parent;
  std::string name;
};

absl::StatusOr<std::unique_ptr<api::v1::Admin::Stub>> Connect(const AdminFlags& flags) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, OpenKingdom(flags.kingdom));
  return api::v1::Admin::NewStub(channel);
}

absl::StatusOr<crypto::Certificate> ReadCertificate(const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadFile(path));
  auto certificate = crypto::Certificate::FromPem(pem);
  if (!certificate.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", certificate.status().message()));
  return certificate;
}

// The entity's root, first TLS certificate and content-signing certificate,
// as every Create request names them.
template <typename Entity>
absl::Status SetCertificates(const AdminFlags& flags, Entity& entity) {
  ASSIGN_OR_RETURN(crypto::Certificate root, ReadCertificate(flags.root_file));
  ASSIGN_OR_RETURN(crypto::Certificate certificate, ReadCertificate(flags.certificate_file));
  ASSIGN_OR_RETURN(crypto::Certificate signing_certificate, ReadCertificate(flags.signing_certificate_file));
  entity.set_root_certificate_der(root.ToDer());
  entity.set_certificate_der(certificate.ToDer());
  entity.set_signing_certificate_der(signing_certificate.ToDer());
  return absl::OkStatus();
}

// A second registration of the same entity is not an error to an operator
// re-running a setup script.
absl::Status Done(const absl::Status& status, const std::string& what) {
  if (absl::IsAlreadyExists(status)) {
    std::cout << what << " is registered already\n";
    return absl::OkStatus();
  }
  if (status.ok()) std::cout << "registered " << what << "\n";
  return status;
}

absl::Status CreateDataProvider(const AdminFlags& flags) {
  ASSIGN_OR_RETURN(auto admin, Connect(flags));
  api::v1::CreateDataProviderRequest request;
  RETURN_IF_ERROR(SetCertificates(flags, *request.mutable_data_provider()));
  const std::string name = absl::StrCat("dataProviders/", flags.id);
  ASSIGN_OR_RETURN(api::ContentSigner signer, api::LoadContentSigner(flags.signing_certificate_file,
                                                                     flags.signing_key_file, name, "signing"));
  ASSIGN_OR_RETURN(crypto::EncryptionKeyPair encryption, api::ReadEncryptionKeyFile(flags.encryption_key_file));
  request.set_data_provider_id(flags.id);
  request.mutable_data_provider()->set_supports_hmss(flags.hmss);
  *request.mutable_data_provider()->mutable_public_key() =
      api::Sign(api::ToEncryptionPublicKey(encryption.public_key), signer.key, signer.name);
  return Done(net::Call(*admin, &api::v1::Admin::Stub::CreateDataProvider, request, "CreateDataProvider").status(),
              name);
}

absl::Status CreateMeasurementConsumer(const AdminFlags& flags) {
  ASSIGN_OR_RETURN(auto admin, Connect(flags));
  api::v1::CreateMeasurementConsumerRequest request;
  request.set_measurement_consumer_id(flags.id);
  RETURN_IF_ERROR(SetCertificates(flags, *request.mutable_measurement_consumer()));
  return Done(net::Call(*admin, &api::v1::Admin::Stub::CreateMeasurementConsumer, request,
                        "CreateMeasurementConsumer")
                  .status(),
              absl::StrCat("measurementConsumers/", flags.id));
}

absl::Status CreateDuchy(const AdminFlags& flags) {
  ASSIGN_OR_RETURN(auto admin, Connect(flags));
  api::v1::CreateDuchyRequest request;
  request.set_duchy_id(flags.id);
  RETURN_IF_ERROR(SetCertificates(flags, *request.mutable_duchy()));
  return Done(net::Call(*admin, &api::v1::Admin::Stub::CreateDuchy, request, "CreateDuchy").status(),
              absl::StrCat("duchies/", flags.id));
}

absl::StatusOr<std::unique_ptr<api::v1::Certificates::Stub>> ConnectCertificates(const AdminFlags& flags) {
  ASSIGN_OR_RETURN(std::shared_ptr<grpc::Channel> channel, OpenKingdom(flags.kingdom));
  return api::v1::Certificates::NewStub(channel);
}

absl::Status AddCertificate(const AdminFlags& flags) {
  ASSIGN_OR_RETURN(crypto::Certificate certificate, ReadCertificate(flags.certificate_file));
  ASSIGN_OR_RETURN(auto certificates, ConnectCertificates(flags));
  api::v1::CreateCertificateRequest request;
  request.set_parent(flags.parent);
  request.mutable_certificate()->set_x509_der(certificate.ToDer());
  ASSIGN_OR_RETURN(api::v1::Certificate added,
                   net::Call(*certificates, &api::v1::Certificates::Stub::CreateCertificate, request,
                             "CreateCertificate"));
  std::cout << "registered " << added.name() << "\n";
  return absl::OkStatus();
}

absl::Status RevokeCertificate(const AdminFlags& flags) {
  ASSIGN_OR_RETURN(auto certificates, ConnectCertificates(flags));
  api::v1::RevokeCertificateRequest request;
  request.set_name(flags.name);
  ASSIGN_OR_RETURN(api::v1::Certificate revoked,
                   net::Call(*certificates, &api::v1::Certificates::Stub::RevokeCertificate, request,
                             "RevokeCertificate"));
  std::cout << "revoked " << revoked.name() << "\n";
  return absl::OkStatus();
}

absl::Status CreateModelProvider(const AdminFlags& flags) {
  ASSIGN_OR_RETURN(auto admin, Connect(flags));
  api::v1::CreateModelProviderRequest request;
  request.set_model_provider_id(flags.id);
  RETURN_IF_ERROR(SetCertificates(flags, *request.mutable_model_provider()));
  return Done(net::Call(*admin, &api::v1::Admin::Stub::CreateModelProvider, request, "CreateModelProvider").status(),
              absl::StrCat("modelProviders/", flags.id));
}

}  // namespace

void AddAdminCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<AdminFlags>();
  CLI::App* admin = app.add_subcommand("admin", "An operator's commands: register parties with the Kingdom");
  AddKingdomFlags(admin, flags->kingdom, /*required=*/true);
  admin->require_subcommand(1);

  CLI::App* edp = admin->add_subcommand("create-data-provider", "Register a data provider");
  edp->add_option("--id", flags->id, "e.g. edp1")->required();
  edp->add_option("--certificate", flags->certificate_file, "Its TLS certificate (PEM)")->required();
  edp->add_option("--signing-certificate", flags->signing_certificate_file,
                 "Its content-signing certificate (PEM; `halo certs issue --signing`)")
      ->required();
  edp->add_option("--root", flags->root_file, "Its organisation's root CA certificate (PEM), which issued it")
      ->required();
  edp->add_option("--signing-key", flags->signing_key_file,
                  "The private key of its signing certificate, to sign its encryption key")
      ->required();
  edp->add_option("--encryption-key", flags->encryption_key_file, "Its encryption key file")->required();
  edp->add_flag("--hmss", flags->hmss, "Its agent builds HMSS frequency vectors");
  edp->callback([flags, &exit_code] { exit_code = Report("admin", CreateDataProvider(*flags)); });

  CLI::App* mc = admin->add_subcommand("create-measurement-consumer", "Register a measurement consumer");
  mc->add_option("--id", flags->id, "e.g. mc1")->required();
  mc->add_option("--certificate", flags->certificate_file, "Its TLS certificate (PEM)")->required();
  mc->add_option("--signing-certificate", flags->signing_certificate_file,
                 "Its content-signing certificate (PEM; `halo certs issue --signing`)")
      ->required();
  mc->add_option("--root", flags->root_file, "Its organisation's root CA certificate (PEM), which issued it")
      ->required();
  mc->callback([flags, &exit_code] { exit_code = Report("admin", CreateMeasurementConsumer(*flags)); });

  CLI::App* mp = admin->add_subcommand("create-model-provider", "Register a model provider (Panel Exchange)");
  mp->add_option("--id", flags->id, "e.g. mp1")->required();
  mp->add_option("--certificate", flags->certificate_file, "Its TLS certificate (PEM)")->required();
  mp->add_option("--signing-certificate", flags->signing_certificate_file,
                 "Its content-signing certificate (PEM; `halo certs issue --signing`)")
      ->required();
  mp->add_option("--root", flags->root_file, "Its organisation's root CA certificate (PEM), which issued it")
      ->required();
  mp->callback([flags, &exit_code] { exit_code = Report("admin", CreateModelProvider(*flags)); });

  CLI::App* duchy = admin->add_subcommand("create-duchy", "Register a duchy");
  duchy->add_option("--id", flags->id, "e.g. worker1")->required();
  duchy->add_option("--certificate", flags->certificate_file, "Its TLS certificate (PEM)")->required();
  duchy->add_option("--signing-certificate", flags->signing_certificate_file,
                 "Its content-signing certificate (PEM; `halo certs issue --signing`)")
      ->required();
  duchy->add_option("--root", flags->root_file, "Its organisation's root CA certificate (PEM), which issued it")
      ->required();
  duchy->callback([flags, &exit_code] { exit_code = Report("admin", CreateDuchy(*flags)); });

  CLI::App* add = admin->add_subcommand(
      "add-certificate", "Register another certificate of a party (a renewal, or a replacement for a revoked one)");
  add->add_option("--parent", flags->parent, "The party, e.g. dataProviders/edp1")->required();
  add->add_option("--certificate", flags->certificate_file, "The certificate (PEM), from the party's own root")
      ->required();
  add->callback([flags, &exit_code] { exit_code = Report("admin", AddCertificate(*flags)); });

  CLI::App* revoke = admin->add_subcommand(
      "revoke-certificate",
      "Revoke a registered certificate: it stops authenticating, and measurements it signed for fail");
  revoke->add_option("name", flags->name, "e.g. dataProviders/edp1/certificates/abc")->required();
  revoke->callback([flags, &exit_code] { exit_code = Report("admin", RevokeCertificate(*flags)); });
}

}  // namespace halo::cli
