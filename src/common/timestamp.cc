#include "halo/common/timestamp.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"

namespace halo {

std::optional<int64_t> ParseTimestampMicros(absl::string_view text) {
  int64_t micros = 0;
  if (absl::SimpleAtoi(text, &micros)) return micros;
  absl::Time time;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return absl::ToUnixMicros(time);
  return std::nullopt;
}

}  // namespace halo
