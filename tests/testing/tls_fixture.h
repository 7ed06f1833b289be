// Writes a CA and certificates for loopback mTLS tests into a temp dir.
#ifndef HALO_TESTS_TESTING_TLS_FIXTURE_H_
#define HALO_TESTS_TESTING_TLS_FIXTURE_H_

#include <string>

#include "halo/api/content_signer.h"
#include "halo/config/config.pb.h"
#include "halo/crypto/certificate.h"
#include "testing/temp_dir.h"

namespace halo::testing {

class TlsFixture {
 public:
  // A fresh CA named `ca_name` under `dir`.
  TlsFixture(const TempDir& dir, const std::string& ca_name);

  // Issues a certificate for `subject`, valid for localhost and 127.0.0.1,
  // and returns the TlsConfig naming its files.
  config::TlsConfig Issue(const std::string& subject) const;
  // Issues a content-signing certificate for `subject` and returns the
  // SigningConfig naming its files.
  config::SigningConfig IssueSigning(const std::string& subject) const;

  const std::string& ca_file() const { return ca_file_; }

 private:
  // Issues `request` with a fresh key and writes both beside the CA, as
  // {ca}-{subject}{suffix}.pem and .key (0600); returns that stem.
  std::string WriteIssued(const crypto::CertificateRequest& request, const std::string& suffix) const;
  const TempDir& dir_;
  std::string ca_name_;
  crypto::CertificateAuthority ca_;
  std::string ca_file_;
};

// The private key and the certificate (DER) of an issued TlsConfig, read
// back from its files: a test signs and registers as that party.
crypto::SigningKey SigningKeyOf(const config::TlsConfig& tls);
std::string CertificateDerOf(const config::TlsConfig& tls);
// The content-signing identity of an issued SigningConfig.
api::ContentSigner SignerOf(const config::SigningConfig& signing, const std::string& subject);
// The DER of the fixture's CA, which a test registers as every entity's root.
std::string RootDerOf(const config::TlsConfig& tls);
// What kingdom.administrator_certificates names the certificate by.
std::string FingerprintOf(const config::TlsConfig& tls);

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_TLS_FIXTURE_H_
