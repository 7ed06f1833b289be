// Times as operators and event files write them.
#ifndef HALO_COMMON_TIMESTAMP_H_
#define HALO_COMMON_TIMESTAMP_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace halo {

// Microseconds since the Unix epoch, written as that integer or as RFC 3339
// (2026-01-01T00:00:00Z); nullopt for anything else, so that each caller
// names the field in its error.
std::optional<int64_t> ParseTimestampMicros(absl::string_view text);

}  // namespace halo

#endif  // HALO_COMMON_TIMESTAMP_H_
