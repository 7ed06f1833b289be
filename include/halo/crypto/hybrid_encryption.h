// ECDH on P-256 and hybrid public-key encryption of small messages (results
// to a measurement consumer, requisition specs to a data provider).
//
// Ciphertext: version byte 0x01 || ephemeral public key (33 bytes) ||
// ChaCha20-Poly1305(key, zero nonce, plaintext, aad = context). The key is
// HKDF-SHA-256(ikm = ECDH shared x, salt = ephemeral || recipient,
// info = "halo hybrid v1" || context) and is used for one message only, which
// makes the fixed nonce safe.
#ifndef HALO_CRYPTO_HYBRID_ENCRYPTION_H_
#define HALO_CRYPTO_HYBRID_ENCRYPTION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/crypto/p256.h"

namespace halo::crypto {

// The 32-byte x coordinate of secret*peer. Refuses a zero secret and a
// result at infinity.
absl::StatusOr<std::string> EcdhSharedSecret(const Scalar& secret, const EcPoint& peer);

struct EncryptionKeyPair {
  static EncryptionKeyPair Generate();
  Scalar secret;
  EcPoint public_key;
};

// `context` binds the ciphertext to its purpose (e.g. a measurement name); the
// same context must be given to decrypt.
absl::StatusOr<std::string> HybridEncrypt(const EcPoint& recipient, absl::string_view plaintext,
                                          absl::string_view context);
absl::StatusOr<std::string> HybridDecrypt(const EncryptionKeyPair& recipient,
                                          absl::string_view ciphertext,
                                          absl::string_view context);

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_HYBRID_ENCRYPTION_H_
