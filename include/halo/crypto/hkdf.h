// HKDF-SHA-256 (RFC 5869) through OpenSSL.
#ifndef HALO_CRYPTO_HKDF_H_
#define HALO_CRYPTO_HKDF_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo::crypto {

inline constexpr size_t kHkdfSha256MaxOutputBytes = 255 * 32;

// Refuses an output size of 0 or over 8160 bytes.
absl::StatusOr<std::string> HkdfSha256(absl::string_view ikm, absl::string_view salt,
                                       absl::string_view info, size_t size);

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_HKDF_H_
