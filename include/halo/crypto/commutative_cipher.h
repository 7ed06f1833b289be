// Commutative deterministic encryption of join keys for private set
// intersection: E_k(x) = k*H(x) with H = RFC 9380 hash-to-curve, so
// E_a(E_b(x)) == E_b(E_a(x)) and equal identifiers give equal ciphertexts.
#ifndef HALO_CRYPTO_COMMUTATIVE_CIPHER_H_
#define HALO_CRYPTO_COMMUTATIVE_CIPHER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/crypto/p256.h"

namespace halo::crypto {

// The domain separation tag for join keys; both parties must use the same.
inline constexpr absl::string_view kJoinKeyHashDst =
    "HALO-V01-CS02-with-P256_XMD:SHA-256_SSWU_RO_-join-key";

class CommutativeCipher {
 public:
  static CommutativeCipher Generate();
  // 32-byte big-endian secret in [1, n).
  static absl::StatusOr<CommutativeCipher> FromKeyBytes(absl::string_view key);

  std::string KeyBytes() const { return key_.ToBytes(); }

  // k*H(join_key). Uncompressed points cost the next party no square root
  // to decode, so bulk exchanges use them; both parties must use one
  // encoding for equal keys to give equal bytes.
  absl::StatusOr<std::string> Encrypt(absl::string_view join_key,
                                      PointEncoding encoding = PointEncoding::kCompressed) const;
  // Adds this party's layer to a point the other party encrypted.
  absl::StatusOr<std::string> ReEncrypt(absl::string_view encrypted,
                                        PointEncoding encoding = PointEncoding::kCompressed) const;
  // Removes this party's layer (multiplies by k^-1).
  absl::StatusOr<std::string> Decrypt(absl::string_view encrypted,
                                      PointEncoding encoding = PointEncoding::kCompressed) const;

 private:
  CommutativeCipher(Scalar key, Scalar inverse)
      : key_(std::move(key)), inverse_(std::move(inverse)) {}
  Scalar key_;
  Scalar inverse_;
};

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_COMMUTATIVE_CIPHER_H_
