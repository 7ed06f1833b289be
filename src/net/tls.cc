#include "halo/net/tls.h"

#include <grpcpp/security/server_credentials.h>
#include <grpcpp/security/tls_certificate_provider.h>
#include <grpcpp/security/tls_certificate_verifier.h>
#include <grpcpp/security/tls_credentials_options.h>


#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/certificate.h"

namespace halo::net {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, absl::string_view what) {
  absl::StatusOr<std::string> text = halo::ReadFile(path);
  if (!text.ok()) return absl::NotFoundError(absl::StrCat(what, " file ", path, " cannot be read"));
  return text;
}

absl::Status Annotate(const absl::Status& status, absl::string_view prefix) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(prefix, ": ", status.message()));
}

}  // namespace

absl::StatusOr<TlsMaterial> LoadTlsMaterial(const config::TlsConfig& tls) {
  TlsMaterial material;
  ASSIGN_OR_RETURN(material.certificate_pem, ReadFile(tls.certificate_file(), "certificate"));
  ASSIGN_OR_RETURN(material.private_key_pem, ReadSecretFile(tls.private_key_file(), "private key file"));
  ASSIGN_OR_RETURN(material.trusted_ca_pem, ReadFile(tls.trusted_ca_file(), "trusted roots"));

  auto certificate = crypto::Certificate::FromPem(material.certificate_pem);
  RETURN_IF_ERROR(Annotate(certificate.status(), tls.certificate_file()));
  auto key = crypto::SigningKey::FromPrivateKeyPem(material.private_key_pem);
  RETURN_IF_ERROR(Annotate(key.status(), tls.private_key_file()));
  auto roots = crypto::TrustedRoots::FromPem(material.trusted_ca_pem);
  RETURN_IF_ERROR(Annotate(roots.status(), tls.trusted_ca_file()));

  if (certificate->public_key().point() != key->verifying_key().point()) {
    return absl::InvalidArgumentError(absl::StrCat("private key ", tls.private_key_file(),
                                                   " does not match certificate ",
                                                   tls.certificate_file()));
  }
  RETURN_IF_ERROR(Annotate(roots->Verify(*certificate, absl::Now()), tls.certificate_file()));
  material.identity = certificate->SubjectName();
  return material;
}

std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TlsMaterial& tls) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_root_certs = tls.trusted_ca_pem;
  options.pem_key_cert_pairs.push_back({tls.private_key_pem, tls.certificate_pem});
  return grpc::SslServerCredentials(options);
}

namespace {

// Checks, after gRPC has verified the chain, the host name (as its default
// verifier does) and then the subject of the server's certificate.
class ServerSubjectVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit ServerSubjectVerifier(std::string subject) : subject_(std::move(subject)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request, std::function<void(grpc::Status)>,
              grpc::Status* sync_status) override {
    grpc::Status host;
    if (!host_name_.Verify(request, [](grpc::Status) {}, &host)) {
      // The host name check is synchronous; anything else is refused.
      *sync_status = grpc::Status(grpc::StatusCode::INTERNAL, "the host name check did not complete");
      return true;
    }
    if (!host.ok()) {
      *sync_status = host;
      return true;
    }
    const grpc::string_ref name = request->common_name();
    const absl::string_view common_name(name.data(), name.size());
    if (common_name != subject_) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  absl::StrCat("the server's certificate is for \"", common_name, "\", not ", subject_));
    } else {
      *sync_status = grpc::Status::OK;
    }
    return true;
  }

  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  const std::string subject_;
  grpc::experimental::HostNameCertificateVerifier host_name_;
};

}  // namespace

std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const TlsMaterial& tls, absl::string_view server_subject) {
  auto provider = std::make_shared<grpc::experimental::StaticDataCertificateProvider>(
      tls.trusted_ca_pem,
      std::vector<grpc::experimental::IdentityKeyCertPair>{{tls.private_key_pem, tls.certificate_pem}});
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_certificate_provider(std::move(provider));
  options.watch_root_certs();
  options.watch_identity_key_cert_pairs();
  options.set_certificate_verifier(
      grpc::experimental::ExternalCertificateVerifier::Create<ServerSubjectVerifier>(std::string(server_subject)));
  return grpc::experimental::TlsCredentials(options);
}

}  // namespace halo::net
