// Exponential ElGamal on P-256 for the duchies' multiparty computation.
//
// A ciphertext of a point M under public key Y = x*G is (u, e) = (r*G, M + r*Y).
// Each duchy holds one secret x_i; the combined key is the sum of the duchies'
// public keys, so removing every duchy's layer (e - x_i*u) in any order
// reveals M. Small integers are encrypted as m*G and recovered by table
// lookup. Raising both components to a secret k (Blind) gives a
// deterministic Pohlig-Hellman layer: equal plaintexts stay equal.
//
// Every function here is thread-safe; the *Batch functions split their input
// across `threads` threads.
#ifndef HALO_CRYPTO_ELGAMAL_H_
#define HALO_CRYPTO_ELGAMAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "halo/crypto/p256.h"

namespace halo::crypto {

struct ElGamalCiphertext {
  EcPoint u;  // r*G: never the identity
  EcPoint e;  // M + r*Y

  // u then e, each 33 (compressed) or 65 (uncompressed) bytes.
  std::string Encode(PointEncoding encoding = PointEncoding::kCompressed) const;
  // Accepts 66 or 130 bytes; refuses points off the curve and an identity u.
  static absl::StatusOr<ElGamalCiphertext> Decode(absl::string_view bytes);
};

class ElGamalPublicKey {
 public:
  // Refuses the identity, which would encrypt nothing.
  static absl::StatusOr<ElGamalPublicKey> FromPoint(EcPoint y);
  static absl::StatusOr<ElGamalPublicKey> Decode(absl::string_view bytes);
  // The sum of the duchies' public keys; refuses an empty list.
  static absl::StatusOr<ElGamalPublicKey> Combine(
      absl::Span<const ElGamalPublicKey> keys);

  ElGamalCiphertext Encrypt(const EcPoint& message) const;
  // Encrypts m*G.
  ElGamalCiphertext EncryptInteger(uint64_t m) const;
  // Same plaintext, fresh randomness: (u + s*G, e + s*Y).
  ElGamalCiphertext ReRandomize(const ElGamalCiphertext& ciphertext) const;

  const EcPoint& point() const { return y_; }
  std::string Encode() const { return y_.Encode(); }

 private:
  explicit ElGamalPublicKey(EcPoint y) : y_(std::move(y)) {}
  EcPoint y_;
};

class ElGamalKeyPair {
 public:
  static ElGamalKeyPair Generate();
  // Refuses a zero secret.
  static absl::StatusOr<ElGamalKeyPair> FromSecret(const Scalar& x);

  const ElGamalPublicKey& public_key() const { return public_key_; }
  const Scalar& secret() const { return x_; }

  // Partial decryption: removes this key's layer, (u, e - x*u). Under a
  // combined key the result is still encrypted under the other duchies' keys.
  ElGamalCiphertext RemoveLayer(const ElGamalCiphertext& ciphertext) const;
  // Removes the last layer and returns the plaintext point.
  EcPoint Decrypt(const ElGamalCiphertext& ciphertext) const;

 private:
  ElGamalKeyPair(Scalar x, ElGamalPublicKey public_key)
      : x_(std::move(x)), public_key_(std::move(public_key)) {}
  Scalar x_;
  ElGamalPublicKey public_key_;
};

// Homomorphic addition: encrypts the sum of the two plaintext points.
ElGamalCiphertext AddCiphertexts(const ElGamalCiphertext& a,
                                 const ElGamalCiphertext& b);

// (k*u, k*e): encrypts k*M under the same key, deterministically in M.
ElGamalCiphertext Blind(const ElGamalCiphertext& ciphertext, const Scalar& k);

// Recovers m from m*G for m in [0, max_value] by table lookup.
class SmallIntegerTable {
 public:
  explicit SmallIntegerTable(uint64_t max_value);
  // NOT_FOUND, naming the bound, when the point is no m*G in range.
  absl::StatusOr<uint64_t> Lookup(const EcPoint& point) const;
  uint64_t max_value() const { return max_value_; }

 private:
  uint64_t max_value_;
  absl::flat_hash_map<std::string, uint64_t> by_encoding_;
};

std::vector<ElGamalCiphertext> EncryptBatch(const ElGamalPublicKey& key,
                                            absl::Span<const EcPoint> messages,
                                            int threads);
std::vector<ElGamalCiphertext> ReRandomizeBatch(
    const ElGamalPublicKey& key, absl::Span<const ElGamalCiphertext> ciphertexts,
    int threads);
std::vector<ElGamalCiphertext> RemoveLayerBatch(
    const ElGamalKeyPair& key, absl::Span<const ElGamalCiphertext> ciphertexts,
    int threads);
std::vector<EcPoint> DecryptBatch(const ElGamalKeyPair& key,
                                  absl::Span<const ElGamalCiphertext> ciphertexts,
                                  int threads);
std::vector<ElGamalCiphertext> BlindBatch(
    const Scalar& k, absl::Span<const ElGamalCiphertext> ciphertexts, int threads);

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_ELGAMAL_H_
