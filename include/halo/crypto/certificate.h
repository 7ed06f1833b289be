// X.509 identities: every organisation has its own root certificate
// authority, which issues P-256 certificates whose subject names a halo
// resource ("dataProviders/abc"). The Kingdom records each entity's root and
// certificates, so a certificate with the right subject from another
// organisation's root identifies no one.
#ifndef HALO_CRYPTO_CERTIFICATE_H_
#define HALO_CRYPTO_CERTIFICATE_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "halo/crypto/signing.h"

struct x509_st;

namespace halo::crypto {

// What an entity certificate's key is for. A party keeps its TLS key on its
// front ends and its content-signing key (specs, results, published keys)
// apart, so that a stolen TLS key cannot sign what a party vouches for, and
// a signing key never opens a connection.
enum class CertificateUse {
  kTls,             // extended key usage serverAuth, clientAuth
  kContentSigning,  // extended key usage documentSigning (RFC 9336) only
};

class Certificate {
 public:
  static absl::StatusOr<Certificate> FromPem(absl::string_view pem);
  static absl::StatusOr<Certificate> FromDer(absl::string_view der);

  std::string ToPem() const;
  std::string ToDer() const;
  // The subject common name: the resource name for entity certificates.
  std::string SubjectName() const;
  // Lower-case hex serial number.
  std::string SerialHex() const;
  bool IsCertificateAuthority() const;
  // Whether the extended key usage allows `use`; a certificate with both a
  // TLS usage and documentSigning is good for neither.
  bool AllowsUse(CertificateUse use) const;
  absl::Time NotBefore() const;
  absl::Time NotAfter() const;
  const VerifyingKey& public_key() const { return public_key_; }

  // OK when `issuer` signed this certificate and both are valid at `now`;
  // otherwise INVALID_ARGUMENT naming the reason (wrong CA, expired, ...).
  absl::Status VerifyIssuedBy(const Certificate& issuer, absl::Time now) const;

  // Lower-case hex SHA-256 of the DER: how configuration names a certificate
  // (an administrator's, say) without trusting its subject.
  std::string FingerprintHex() const;

  x509_st* raw() const { return cert_.get(); }

 private:
  Certificate(std::shared_ptr<x509_st> cert, VerifyingKey public_key)
      : cert_(std::move(cert)), public_key_(std::move(public_key)) {}
  std::shared_ptr<x509_st> cert_;
  VerifyingKey public_key_;
};

// The roots a process accepts certificates from: one PEM file holding every
// organisation's root, one after another.
class TrustedRoots {
 public:
  TrustedRoots() = default;  // trusts nothing

  // INVALID_ARGUMENT when the bundle holds no certificate, an unreadable
  // one, or one that is not a CA.
  static absl::StatusOr<TrustedRoots> FromPem(absl::string_view bundle);

  // OK when one of the roots issued `certificate` and both are valid at
  // `now`; otherwise INVALID_ARGUMENT naming the certificate.
  absl::Status Verify(const Certificate& certificate, absl::Time now) const;
  // Only the root that issued `certificate`: what an organisation trusts
  // for its own parts (a duchy's mills), which another organisation's root
  // must not vouch for. INVALID_ARGUMENT as Verify when none did.
  absl::StatusOr<TrustedRoots> IssuerOf(const Certificate& certificate, absl::Time now) const;

  const std::vector<Certificate>& roots() const { return roots_; }

 private:
  explicit TrustedRoots(std::vector<Certificate> roots) : roots_(std::move(roots)) {}
  std::vector<Certificate> roots_;
};

struct CertificateRequest {
  // Subject common name, e.g. "dataProviders/abc" or "duchies/worker1".
  std::string subject_name;
  // For TLS servers: names and addresses the certificate is valid for.
  std::vector<std::string> dns_names;
  std::vector<std::string> ip_addresses;
  absl::Duration validity = absl::Hours(24 * 365);
  CertificateUse use = CertificateUse::kTls;
};

class CertificateAuthority {
 public:
  // A self-signed CA with a fresh key.
  static absl::StatusOr<CertificateAuthority> Create(absl::string_view name,
                                                     absl::Duration validity);
  static absl::StatusOr<CertificateAuthority> Load(absl::string_view certificate_pem,
                                                   absl::string_view private_key_pem);

  absl::StatusOr<Certificate> Issue(const CertificateRequest& request,
                                    const VerifyingKey& subject_key) const;

  const Certificate& certificate() const { return certificate_; }
  const SigningKey& key() const { return key_; }

 private:
  CertificateAuthority(Certificate certificate, SigningKey key)
      : certificate_(std::move(certificate)), key_(std::move(key)) {}
  Certificate certificate_;
  SigningKey key_;
};

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_CERTIFICATE_H_
