// Hashing to P-256 per RFC 9380, suite P256_XMD:SHA-256_SSWU_RO_.
//
// Used to map join keys to points for the commutative cipher and to derive
// points nobody knows the discrete logarithm of. Not constant-time: callers
// hash their own data on their own machine.
#ifndef HALO_CRYPTO_HASH_TO_CURVE_H_
#define HALO_CRYPTO_HASH_TO_CURVE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/crypto/p256.h"

namespace halo::crypto {

// RFC 9380 section 5.3.1 with SHA-256. Refuses a DST over 255 bytes and
// lengths over 8160 bytes (255 SHA-256 blocks).
absl::StatusOr<std::string> ExpandMessageXmd(absl::string_view message,
                                             absl::string_view dst,
                                             size_t length);

// hash_to_curve(message) with domain separation tag `dst` (non-empty, at most
// 255 bytes). The result is never the identity in practice (probability
// 2^-256) and is a uniformly random point.
absl::StatusOr<EcPoint> HashToCurve(absl::string_view message,
                                    absl::string_view dst);

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_HASH_TO_CURVE_H_
