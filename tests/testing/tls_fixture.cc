#include "testing/tls_fixture.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_replace.h"

namespace halo::testing {
namespace {

void Write(const std::string& path, const std::string& contents) {
  std::ofstream(path) << contents;
}

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

}  // namespace

TlsFixture::TlsFixture(const TempDir& dir, const std::string& ca_name)
    : dir_(dir), ca_name_(ca_name),
      ca_(*crypto::CertificateAuthority::Create(ca_name, absl::Hours(24))),
      ca_file_(dir.Sub(ca_name + "-ca.pem")) {
  Write(ca_file_, ca_.certificate().ToPem());
}

std::string TlsFixture::WriteIssued(const crypto::CertificateRequest& request, const std::string& suffix) const {
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  const crypto::Certificate cert = *ca_.Issue(request, key.verifying_key());
  const std::string stem = dir_.Sub(ca_name_ + "-" + absl::StrReplaceAll(request.subject_name, {{"/", "_"}}) + suffix);
  Write(stem + ".pem", cert.ToPem());
  Write(stem + ".key", key.ToPrivateKeyPem());
  std::filesystem::permissions(stem + ".key", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return stem;
}

config::TlsConfig TlsFixture::Issue(const std::string& subject) const {
  crypto::CertificateRequest request;
  request.subject_name = subject;
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1"};
  const std::string stem = WriteIssued(request, "");
  config::TlsConfig tls;
  tls.set_certificate_file(stem + ".pem");
  tls.set_private_key_file(stem + ".key");
  tls.set_trusted_ca_file(ca_file_);
  return tls;
}

config::SigningConfig TlsFixture::IssueSigning(const std::string& subject) const {
  crypto::CertificateRequest request;
  request.subject_name = subject;
  request.use = crypto::CertificateUse::kContentSigning;
  const std::string stem = WriteIssued(request, "-signing");
  config::SigningConfig signing;
  signing.set_certificate_file(stem + ".pem");
  signing.set_private_key_file(stem + ".key");
  return signing;
}

api::ContentSigner SignerOf(const config::SigningConfig& signing, const std::string& subject) {
  return *api::ContentSignerFromPem(Read(signing.certificate_file()), Read(signing.private_key_file()), subject,
                                    "signing");
}

crypto::SigningKey SigningKeyOf(const config::TlsConfig& tls) {
  return *crypto::SigningKey::FromPrivateKeyPem(Read(tls.private_key_file()));
}

std::string CertificateDerOf(const config::TlsConfig& tls) {
  return crypto::Certificate::FromPem(Read(tls.certificate_file()))->ToDer();
}

std::string RootDerOf(const config::TlsConfig& tls) {
  return crypto::Certificate::FromPem(Read(tls.trusted_ca_file()))->ToDer();
}

std::string FingerprintOf(const config::TlsConfig& tls) {
  return crypto::Certificate::FromPem(Read(tls.certificate_file()))->FingerprintHex();
}

}  // namespace halo::testing
