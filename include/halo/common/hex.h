// Hexadecimal text for bytes: test vectors, logs and key fingerprints.
#ifndef HALO_COMMON_HEX_H_
#define HALO_COMMON_HEX_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo {

// Lower-case hex of `bytes`.
std::string HexEncode(absl::string_view bytes);

// Refuses odd lengths and non-hex characters, naming the offending offset.
absl::StatusOr<std::string> HexDecode(absl::string_view hex);

}  // namespace halo

#endif  // HALO_COMMON_HEX_H_
