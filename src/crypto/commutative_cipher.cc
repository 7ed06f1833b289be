#include "halo/crypto/commutative_cipher.h"

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/hash_to_curve.h"

namespace halo::crypto {
namespace {

absl::StatusOr<EcPoint> DecodeEncryptedJoinKey(absl::string_view encrypted) {
  auto point = EcPoint::Decode(encrypted);
  if (!point.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("encrypted join key: ", point.status().message()));
  }
  return point;
}

}  // namespace

CommutativeCipher CommutativeCipher::Generate() {
  Scalar key = Scalar::Random();
  Scalar inverse = *key.Inverse();
  return CommutativeCipher(std::move(key), std::move(inverse));
}

absl::StatusOr<CommutativeCipher> CommutativeCipher::FromKeyBytes(absl::string_view key_bytes) {
  auto key = Scalar::FromBytes(key_bytes);
  if (!key.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("commutative cipher key: ", key.status().message()));
  }
  if (key->IsZero()) return absl::InvalidArgumentError("commutative cipher key is zero");
  ASSIGN_OR_RETURN(Scalar inverse, key->Inverse());
  return CommutativeCipher(*std::move(key), std::move(inverse));
}

absl::StatusOr<std::string> CommutativeCipher::Encrypt(absl::string_view join_key, PointEncoding encoding) const {
  ASSIGN_OR_RETURN(EcPoint hashed, HashToCurve(join_key, kJoinKeyHashDst));
  return hashed.Mul(key_).Encode(encoding);
}

absl::StatusOr<std::string> CommutativeCipher::ReEncrypt(absl::string_view encrypted, PointEncoding encoding) const {
  ASSIGN_OR_RETURN(EcPoint point, DecodeEncryptedJoinKey(encrypted));
  return point.Mul(key_).Encode(encoding);
}

absl::StatusOr<std::string> CommutativeCipher::Decrypt(absl::string_view encrypted, PointEncoding encoding) const {
  ASSIGN_OR_RETURN(EcPoint point, DecodeEncryptedJoinKey(encrypted));
  return point.Mul(inverse_).Encode(encoding);
}

}  // namespace halo::crypto
