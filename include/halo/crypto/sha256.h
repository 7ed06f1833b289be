// SHA-256, for fingerprints and nonce hashes.
#ifndef HALO_CRYPTO_SHA256_H_
#define HALO_CRYPTO_SHA256_H_

#include <string>

#include "absl/strings/string_view.h"

namespace halo::crypto {

inline constexpr size_t kSha256Bytes = 32;

// The 32-byte digest.
std::string Sha256(absl::string_view data);

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_SHA256_H_
