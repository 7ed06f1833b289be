// Authenticated encryption with associated data, through libsodium.
//
// ChaCha20-Poly1305 (IETF, RFC 8439) with 12-byte nonces serves single-use
// keys (hybrid encryption); XChaCha20-Poly1305 with random 24-byte nonces
// serves long-lived keys over many blobs, where random 12-byte nonces could
// collide.
#ifndef HALO_CRYPTO_AEAD_H_
#define HALO_CRYPTO_AEAD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo::crypto {

enum class AeadAlgorithm { kChaCha20Poly1305, kXChaCha20Poly1305 };

inline constexpr size_t kAeadKeyBytes = 32;
inline constexpr size_t kAeadTagBytes = 16;
size_t AeadNonceBytes(AeadAlgorithm algorithm);

// Returns ciphertext || tag. Refuses keys and nonces of the wrong size.
absl::StatusOr<std::string> AeadSeal(AeadAlgorithm algorithm, absl::string_view key,
                                     absl::string_view nonce, absl::string_view plaintext,
                                     absl::string_view associated_data);
// Refuses wrong sizes and, with a status that says so, any ciphertext whose
// tag does not verify.
absl::StatusOr<std::string> AeadOpen(AeadAlgorithm algorithm, absl::string_view key,
                                     absl::string_view nonce,
                                     absl::string_view ciphertext_and_tag,
                                     absl::string_view associated_data);

// Blob encryption under a long-lived key: XChaCha20-Poly1305 with a fresh
// random nonce, output nonce || ciphertext || tag.
absl::StatusOr<std::string> SealBlob(absl::string_view key, absl::string_view plaintext,
                                     absl::string_view associated_data);
absl::StatusOr<std::string> OpenBlob(absl::string_view key, absl::string_view sealed,
                                     absl::string_view associated_data);

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_AEAD_H_
