// Proof that whoever published a P-256 public key Y = x*G knows x: a Schnorr
// proof made non-interactive by Fiat-Shamir and bound to a context (which
// computation, which duchy). Without it, the last party to publish an
// ElGamal key could choose Y = x*G - (the others' keys) so that the
// combined key is one it alone can decrypt with; with it, such a Y cannot
// be published, since its maker does not know its discrete log.
#ifndef HALO_CRYPTO_SCHNORR_H_
#define HALO_CRYPTO_SCHNORR_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "halo/crypto/p256.h"

namespace halo::crypto {

// 64 bytes: the challenge c and the response s, each 32 big-endian bytes.
inline constexpr size_t kSchnorrProofBytes = 64;

// A proof for `public_key` = `secret` * G under `context`.
std::string ProveKeyPossession(const Scalar& secret, const EcPoint& public_key, absl::string_view context);

// OK when `proof` was made by the holder of `public_key`'s secret under the
// same `context`; INVALID_ARGUMENT saying what is wrong otherwise.
absl::Status VerifyKeyPossession(const EcPoint& public_key, absl::string_view proof, absl::string_view context);

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_SCHNORR_H_
