#include "halo/crypto/signing.h"

#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "openssl_util.h"

namespace halo::crypto {
namespace {

std::shared_ptr<EVP_PKEY> Share(EVP_PKEY* pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

// The public point of an EC key, after checking the key is on P-256.
absl::StatusOr<EcPoint> P256PublicPoint(EVP_PKEY* pkey) {
  if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC) {
    return absl::InvalidArgumentError("public key is not an elliptic-curve key");
  }
  char group[64] = {};
  size_t group_len = 0;
  if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                      &group_len)) {
    return absl::InvalidArgumentError(
        "public key does not name its curve (explicit curve parameters are refused)");
  }
  // OpenSSL maps explicit parameters that resemble P-256 to its name even when
  // the cofactor or other fields differ; only the named-curve form is trusted.
  char encoding[32] = {};
  if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_EC_ENCODING, encoding,
                                      sizeof(encoding), nullptr) ||
      std::strcmp(encoding, OSSL_PKEY_EC_ENCODING_GROUP) != 0) {
    return absl::InvalidArgumentError(
        "public key uses explicit curve parameters; only the named curve P-256 is accepted");
  }
  if (std::strcmp(group, "prime256v1") != 0) {
    return absl::InvalidArgumentError(absl::StrCat("public key is on curve ", group, ", not P-256"));
  }
  unsigned char encoded[kUncompressedPointBytes + 1];
  size_t encoded_len = 0;
  if (!EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY, encoded, sizeof(encoded),
                                       &encoded_len)) {
    return internal::OpenSslError("public key has no readable point");
  }
  return EcPoint::Decode(absl::string_view(reinterpret_cast<char*>(encoded), encoded_len));
}

// The fixed DER prefix of a P-256 SubjectPublicKeyInfo with an uncompressed
// point: SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING }.
constexpr unsigned char kP256SpkiPrefix[] = {
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
    0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00};

}  // namespace

absl::StatusOr<VerifyingKey> VerifyingKey::FromPoint(const EcPoint& point) {
  if (point.IsIdentity()) return absl::InvalidArgumentError("verifying key is the identity");
  std::string der(reinterpret_cast<const char*>(kP256SpkiPrefix), sizeof(kP256SpkiPrefix));
  der += point.Encode(PointEncoding::kUncompressed);
  return FromSubjectPublicKeyInfo(der);
}

absl::StatusOr<VerifyingKey> VerifyingKey::FromSubjectPublicKeyInfo(absl::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EVP_PKEY* pkey = d2i_PUBKEY(nullptr, &p, der.size());
  if (pkey == nullptr) return internal::OpenSslError("SubjectPublicKeyInfo is not valid DER");
  std::shared_ptr<EVP_PKEY> shared = Share(pkey);
  if (p != reinterpret_cast<const unsigned char*>(der.data()) + der.size()) {
    return absl::InvalidArgumentError("SubjectPublicKeyInfo has trailing bytes");
  }
  ASSIGN_OR_RETURN(EcPoint point, P256PublicPoint(pkey));
  return VerifyingKey(std::move(shared), std::move(point));
}

std::string VerifyingKey::ToSubjectPublicKeyInfo() const {
  unsigned char* der = nullptr;
  int len = i2d_PUBKEY(pkey_.get(), &der);
  if (len <= 0) internal::OpenSslFatal("i2d_PUBKEY");
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

absl::Status VerifyingKey::Verify(absl::string_view message, absl::string_view signature) const {
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  if (ctx == nullptr) internal::OpenSslFatal("EVP_MD_CTX_new");
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey_.get()) != 1) {
    return internal::OpenSslError("ECDSA verification setup failed");
  }
  int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(message.data()),
                            message.size());
  ERR_clear_error();
  if (rc != 1) return absl::InvalidArgumentError("ECDSA P-256 signature does not verify");
  return absl::OkStatus();
}

SigningKey SigningKey::Generate() {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  if (pkey == nullptr) internal::OpenSslFatal("EVP_EC_gen");
  return *FromPkey(Share(pkey));
}

absl::StatusOr<SigningKey> SigningKey::FromPkey(std::shared_ptr<EVP_PKEY> pkey) {
  ASSIGN_OR_RETURN(EcPoint point, P256PublicPoint(pkey.get()));
  ASSIGN_OR_RETURN(VerifyingKey verifying_key, VerifyingKey::FromPoint(point));
  return SigningKey(std::move(pkey), std::move(verifying_key));
}

absl::StatusOr<SigningKey> SigningKey::FromPrivateKeyPem(absl::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) internal::OpenSslFatal("BIO_new_mem_buf");
  EVP_PKEY* pkey = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (pkey == nullptr) return internal::OpenSslError("private key PEM could not be read");
  return FromPkey(Share(pkey));
}

std::string SigningKey::ToPrivateKeyPem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || !PEM_write_bio_PrivateKey(bio, pkey_.get(), nullptr, nullptr, 0, nullptr,
                                                  nullptr)) {
    internal::OpenSslFatal("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  std::string out(data, len);
  BIO_free(bio);
  return out;
}

std::string SigningKey::Sign(absl::string_view message) const {
  internal::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  size_t len = 0;
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey_.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    internal::OpenSslFatal("ECDSA sign setup");
  }
  std::string signature(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                     reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1) {
    internal::OpenSslFatal("EVP_DigestSign");
  }
  signature.resize(len);
  return signature;
}

}  // namespace halo::crypto
