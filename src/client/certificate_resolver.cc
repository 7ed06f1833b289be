#include "halo/client/certificate_resolver.h"

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/net/call.h"

namespace halo::client {

CertificateResolver::CertificateResolver(std::shared_ptr<grpc::Channel> kingdom, crypto::TrustedRoots trusted_roots,
                                         absl::Duration ttl)
    : certificates_(api::v1::Certificates::NewStub(std::move(kingdom))), trusted_roots_(std::move(trusted_roots)), ttl_(ttl) {}

absl::StatusOr<crypto::Certificate> CertificateResolver::Resolve(const std::string& name) {
  const absl::Time now = absl::Now();
  {
    absl::MutexLock lock(&mutex_);
    auto it = known_.find(name);
    if (it != known_.end() && now - it->second.fetched < ttl_) return it->second.certificate;
  }
  const size_t at = name.find("/certificates/");
  if (at == std::string::npos || at == 0) {
    return absl::PermissionDeniedError(absl::StrCat("\"", name, "\" is not a certificate name"));
  }
  const std::string entity = name.substr(0, at);
  api::v1::GetCertificateRequest request;
  request.set_name(name);
  ASSIGN_OR_RETURN(api::v1::Certificate stored,
                   net::Call(*certificates_, &api::v1::Certificates::Stub::GetCertificate, request,
                             absl::StrCat("the Kingdom's GetCertificate of ", name)));
  if (stored.revocation_state() == api::v1::Certificate::REVOKED) {
    return absl::PermissionDeniedError(absl::StrCat("certificate ", name, " is revoked"));
  }
  auto certificate = crypto::Certificate::FromDer(stored.x509_der());
  if (!certificate.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("certificate ", name, " does not parse: ",
                                                    certificate.status().message()));
  }
  if (absl::Status issued = trusted_roots_.Verify(*certificate, now); !issued.ok()) {
    return absl::PermissionDeniedError(absl::StrCat("certificate ", name, ": ", issued.message()));
  }
  if (certificate->SubjectName() != entity) {
    return absl::PermissionDeniedError(absl::StrCat("certificate ", name, " is for \"", certificate->SubjectName(),
                                                    "\", not ", entity));
  }
  absl::MutexLock lock(&mutex_);
  known_.insert_or_assign(name, Known{*certificate, now});
  return *certificate;
}

absl::StatusOr<crypto::Certificate> CertificateResolver::ResolveOf(const std::string& name,
                                                                   const std::string& owner) {
  if (name.rfind(owner + "/certificates/", 0) != 0) {
    return absl::PermissionDeniedError(absl::StrCat("certificate ", name, " is not one of ", owner));
  }
  return Resolve(name);
}

}  // namespace halo::client
