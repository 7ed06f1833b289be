// ECDSA P-256 with SHA-256 for signed messages (MeasurementSpec,
// RequisitionSpec, results, shared blobs). Signatures are DER-encoded; the
// verifier refuses BER and any other non-canonical form.
#ifndef HALO_CRYPTO_SIGNING_H_
#define HALO_CRYPTO_SIGNING_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/crypto/p256.h"

struct evp_pkey_st;

namespace halo::crypto {

class VerifyingKey {
 public:
  static absl::StatusOr<VerifyingKey> FromPoint(const EcPoint& point);
  // DER SubjectPublicKeyInfo of a P-256 key; refuses other curves and
  // algorithms, explicit curve parameters and trailing bytes.
  static absl::StatusOr<VerifyingKey> FromSubjectPublicKeyInfo(absl::string_view der);

  std::string ToSubjectPublicKeyInfo() const;
  const EcPoint& point() const { return point_; }
  // OK, or INVALID_ARGUMENT saying the signature does not verify.
  absl::Status Verify(absl::string_view message, absl::string_view signature) const;

  evp_pkey_st* raw() const { return pkey_.get(); }

 private:
  VerifyingKey(std::shared_ptr<evp_pkey_st> pkey, EcPoint point)
      : pkey_(std::move(pkey)), point_(std::move(point)) {}
  std::shared_ptr<evp_pkey_st> pkey_;
  EcPoint point_;
};

class SigningKey {
 public:
  static SigningKey Generate();
  // PKCS#8 PEM ("BEGIN PRIVATE KEY") of a P-256 key.
  static absl::StatusOr<SigningKey> FromPrivateKeyPem(absl::string_view pem);

  std::string ToPrivateKeyPem() const;
  std::string Sign(absl::string_view message) const;
  const VerifyingKey& verifying_key() const { return verifying_key_; }

  evp_pkey_st* raw() const { return pkey_.get(); }

 private:
  SigningKey(std::shared_ptr<evp_pkey_st> pkey, VerifyingKey verifying_key)
      : pkey_(std::move(pkey)), verifying_key_(std::move(verifying_key)) {}
  static absl::StatusOr<SigningKey> FromPkey(std::shared_ptr<evp_pkey_st> pkey);
  std::shared_ptr<evp_pkey_st> pkey_;
  VerifyingKey verifying_key_;
};

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_SIGNING_H_
