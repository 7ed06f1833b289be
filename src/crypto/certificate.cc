#include "halo/crypto/certificate.h"

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "halo/common/hex.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/random.h"
#include "halo/crypto/sha256.h"
#include "openssl_util.h"

namespace halo::crypto {
namespace {

std::shared_ptr<X509> Share(X509* cert) { return std::shared_ptr<X509>(cert, X509_free); }

std::string ToDerBytes(X509* cert) {
  unsigned char* der = nullptr;
  int len = i2d_X509(cert, &der);
  if (len <= 0) internal::OpenSslFatal("i2d_X509");
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

// Re-reads a certificate built here through the same checks as a received one.
absl::StatusOr<Certificate> Adopt(internal::X509Ptr cert) {
  return Certificate::FromDer(ToDerBytes(cert.get()));
}

absl::Time FromAsn1Time(const ASN1_TIME* t) {
  struct tm tm = {};
  if (!ASN1_TIME_to_tm(t, &tm)) return absl::InfinitePast();
  return absl::FromTM(tm, absl::UTCTimeZone());
}

absl::Status AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) {
    return internal::OpenSslError(absl::StrCat("certificate extension ", OBJ_nid2sn(nid), "=", value));
  }
  const int ok = X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  if (!ok) return internal::OpenSslError("X509_add_ext");
  return absl::OkStatus();
}

// A certificate body with a random 128-bit serial, signed later by the issuer.
absl::StatusOr<internal::X509Ptr> NewCertificate(absl::string_view subject,
                                                 const X509_NAME* issuer_name,
                                                 const VerifyingKey& subject_key,
                                                 absl::Duration validity) {
  if (subject.empty()) return absl::InvalidArgumentError("certificate subject name is empty");
  if (validity <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("certificate validity must be positive");
  }
  internal::X509Ptr cert(X509_new());
  if (cert == nullptr) internal::OpenSslFatal("X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);

  std::string serial = SecureRandomBytes(16);
  serial[0] &= 0x7f;  // a positive INTEGER
  internal::BnPtr serial_bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(serial.data()),
                                      serial.size(), nullptr));
  if (!serial_bn || !BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(cert.get()))) {
    internal::OpenSslFatal("certificate serial");
  }

  X509_NAME* name = X509_NAME_new();
  if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                  reinterpret_cast<const unsigned char*>(subject.data()),
                                  static_cast<int>(subject.size()), -1, 0)) {
    X509_NAME_free(name);
    return internal::OpenSslError(absl::StrCat("certificate subject name \"", subject, "\""));
  }
  X509_set_subject_name(cert.get(), name);
  X509_set_issuer_name(cert.get(), issuer_name != nullptr ? issuer_name : name);
  X509_NAME_free(name);

  // Back-date by a minute so that clocks slightly behind accept it.
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), absl::ToInt64Seconds(validity));
  if (!X509_set_pubkey(cert.get(), subject_key.raw())) internal::OpenSslFatal("X509_set_pubkey");
  return cert;
}

}  // namespace

absl::StatusOr<Certificate> Certificate::FromDer(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  X509* cert = d2i_X509(nullptr, &p, der.size());
  if (cert == nullptr) return internal::OpenSslError("certificate is not valid DER");
  std::shared_ptr<X509> shared = Share(cert);
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("certificate DER has trailing bytes");
  }
  EVP_PKEY* pkey = X509_get0_pubkey(cert);
  if (pkey == nullptr) return internal::OpenSslError("certificate has no readable public key");
  unsigned char* spki = nullptr;
  int len = i2d_PUBKEY(pkey, &spki);
  if (len <= 0) return internal::OpenSslError("certificate public key");
  auto key = VerifyingKey::FromSubjectPublicKeyInfo(
      absl::string_view(reinterpret_cast<char*>(spki), len));
  OPENSSL_free(spki);
  if (!key.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("certificate key: ", key.status().message()));
  }
  return Certificate(std::move(shared), *std::move(key));
}

absl::StatusOr<Certificate> Certificate::FromPem(absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) internal::OpenSslFatal("BIO_new_mem_buf");
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (cert == nullptr) return internal::OpenSslError("certificate PEM could not be read");
  return Adopt(internal::X509Ptr(cert));
}

std::string Certificate::ToDer() const { return ToDerBytes(cert_.get()); }

std::string Certificate::ToPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || !PEM_write_bio_X509(bio, cert_.get())) internal::OpenSslFatal("PEM_write_bio_X509");
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, len);
  BIO_free(bio);
  return out;
}

std::string Certificate::SubjectName() const {
  X509_NAME* name = X509_get_subject_name(cert_.get());
  int index = X509_NAME_get_index_by_NID(name, NID_commonName, -1);
  if (index < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  int len = ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) return "";
  std::string out(reinterpret_cast<char*>(utf8), len);
  OPENSSL_free(utf8);
  return out;
}

std::string Certificate::SerialHex() const {
  internal::BnPtr bn(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert_.get()), nullptr));
  if (bn == nullptr) return "";
  std::string bytes(BN_num_bytes(bn.get()), '\0');
  BN_bn2bin(bn.get(), reinterpret_cast<unsigned char*>(bytes.data()));
  return HexEncode(bytes);
}

bool Certificate::IsCertificateAuthority() const { return X509_check_ca(cert_.get()) > 0; }

namespace {
constexpr char kDocumentSigningOid[] = "1.3.6.1.5.5.7.3.36";
}  // namespace

bool Certificate::AllowsUse(CertificateUse use) const {
  int critical = 0;
  std::unique_ptr<EXTENDED_KEY_USAGE, decltype(&EXTENDED_KEY_USAGE_free)> usages(
      static_cast<EXTENDED_KEY_USAGE*>(X509_get_ext_d2i(cert_.get(), NID_ext_key_usage, &critical, nullptr)),
      EXTENDED_KEY_USAGE_free);
  if (usages == nullptr) return false;
  std::unique_ptr<ASN1_OBJECT, decltype(&ASN1_OBJECT_free)> document_signing(OBJ_txt2obj(kDocumentSigningOid, 1),
                                                                            ASN1_OBJECT_free);
  bool tls = false, signing = false;
  for (int i = 0; i < sk_ASN1_OBJECT_num(usages.get()); ++i) {
    const ASN1_OBJECT* usage = sk_ASN1_OBJECT_value(usages.get(), i);
    const int nid = OBJ_obj2nid(usage);
    if (nid == NID_server_auth || nid == NID_client_auth) tls = true;
    if (document_signing != nullptr && OBJ_cmp(usage, document_signing.get()) == 0) signing = true;
  }
  return use == CertificateUse::kTls ? tls && !signing : signing && !tls;
}

absl::Time Certificate::NotBefore() const { return FromAsn1Time(X509_get0_notBefore(cert_.get())); }
absl::Time Certificate::NotAfter() const { return FromAsn1Time(X509_get0_notAfter(cert_.get())); }

absl::Status Certificate::VerifyIssuedBy(const Certificate& issuer, absl::Time now) const {
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  if (!store || !ctx || !X509_STORE_add_cert(store.get(), issuer.raw()) ||
      !X509_STORE_CTX_init(ctx.get(), store.get(), cert_.get(), nullptr)) {
    internal::OpenSslFatal("X509 store setup");
  }
  X509_STORE_CTX_set_time(ctx.get(), 0, absl::ToTimeT(now));
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    ERR_clear_error();
    return absl::InvalidArgumentError(
        absl::StrCat("certificate \"", SubjectName(), "\" is not valid under CA \"",
                     issuer.SubjectName(), "\": ", X509_verify_cert_error_string(err)));
  }
  return absl::OkStatus();
}

std::string Certificate::FingerprintHex() const { return HexEncode(Sha256(ToDer())); }

absl::StatusOr<TrustedRoots> TrustedRoots::FromPem(absl::string_view bundle) {
  constexpr absl::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  std::vector<Certificate> roots;
  for (size_t at = bundle.find(kBegin); at != absl::string_view::npos; at = bundle.find(kBegin, at + 1)) {
    auto root = Certificate::FromPem(bundle.substr(at));
    if (!root.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("certificate ", roots.size() + 1, ": ", root.status().message()));
    }
    if (!root->IsCertificateAuthority()) {
      return absl::InvalidArgumentError(absl::StrCat("certificate ", roots.size() + 1, " (\"", root->SubjectName(),
                                                     "\") is not a CA certificate"));
    }
    roots.push_back(*std::move(root));
  }
  if (roots.empty()) return absl::InvalidArgumentError("holds no PEM certificate");
  return TrustedRoots(std::move(roots));
}

absl::Status TrustedRoots::Verify(const Certificate& certificate, absl::Time now) const {
  // A root whose subject is the certificate's issuer says why it fails
  // (expired, bad signature); the others only that they did not issue it.
  absl::Status named_issuer_refused;
  for (const Certificate& root : roots_) {
    absl::Status issued = certificate.VerifyIssuedBy(root, now);
    if (issued.ok()) return issued;
    if (roots_.size() == 1 ||
        X509_NAME_cmp(X509_get_issuer_name(certificate.raw()), X509_get_subject_name(root.raw())) == 0) {
      named_issuer_refused = issued;
    }
  }
  if (!named_issuer_refused.ok()) return named_issuer_refused;
  return absl::InvalidArgumentError(absl::StrCat("certificate \"", certificate.SubjectName(),
                                                 "\" is not issued by any of the ", roots_.size(), " trusted roots"));
}

absl::StatusOr<TrustedRoots> TrustedRoots::IssuerOf(const Certificate& certificate, absl::Time now) const {
  for (const Certificate& root : roots_) {
    if (certificate.VerifyIssuedBy(root, now).ok()) return TrustedRoots({root});
  }
  RETURN_IF_ERROR(Verify(certificate, now));
  return absl::InternalError("a root verified a certificate it did not issue");
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::Create(absl::string_view name,
                                                                  absl::Duration validity) {
  SigningKey key = SigningKey::Generate();
  ASSIGN_OR_RETURN(internal::X509Ptr cert,
                   NewCertificate(name, nullptr, key.verifying_key(), validity));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE"));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign"));
  RETURN_IF_ERROR(AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash"));
  if (X509_sign(cert.get(), key.raw(), EVP_sha256()) <= 0) internal::OpenSslFatal("X509_sign");
  ASSIGN_OR_RETURN(Certificate certificate, Adopt(std::move(cert)));
  return CertificateAuthority(std::move(certificate), std::move(key));
}

absl::StatusOr<CertificateAuthority> CertificateAuthority::Load(absl::string_view certificate_pem,
                                                                absl::string_view private_key_pem) {
  ASSIGN_OR_RETURN(Certificate certificate, Certificate::FromPem(certificate_pem));
  ASSIGN_OR_RETURN(SigningKey key, SigningKey::FromPrivateKeyPem(private_key_pem));
  if (!certificate.IsCertificateAuthority()) {
    return absl::InvalidArgumentError(
        absl::StrCat("certificate \"", certificate.SubjectName(), "\" is not a CA certificate"));
  }
  if (!(certificate.public_key().point() == key.verifying_key().point())) {
    return absl::InvalidArgumentError("CA private key does not match the CA certificate");
  }
  return CertificateAuthority(std::move(certificate), std::move(key));
}

absl::StatusOr<Certificate> CertificateAuthority::Issue(const CertificateRequest& request,
                                                        const VerifyingKey& subject_key) const {
  X509* issuer = certificate_.raw();
  ASSIGN_OR_RETURN(internal::X509Ptr cert,
                   NewCertificate(request.subject_name, X509_get_subject_name(issuer),
                                  subject_key, request.validity));
  std::vector<std::string> alt_names;
  for (const std::string& dns : request.dns_names) alt_names.push_back("DNS:" + dns);
  for (const std::string& ip : request.ip_addresses) alt_names.push_back("IP:" + ip);
  RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE"));
  if (request.use == CertificateUse::kContentSigning) {
    if (!alt_names.empty()) return absl::InvalidArgumentError("a content-signing certificate names no host");
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature,nonRepudiation"));
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_ext_key_usage, kDocumentSigningOid));
  } else {
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature"));
    RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_ext_key_usage, "serverAuth,clientAuth"));
  }
  RETURN_IF_ERROR(AddExtension(cert.get(), issuer, NID_authority_key_identifier, "keyid:always"));
  if (!alt_names.empty()) {
    RETURN_IF_ERROR(
        AddExtension(cert.get(), issuer, NID_subject_alt_name, absl::StrJoin(alt_names, ",")));
  }
  if (X509_sign(cert.get(), key_.raw(), EVP_sha256()) <= 0) internal::OpenSslFatal("X509_sign");
  return Adopt(std::move(cert));
}

}  // namespace halo::crypto
