// Process-wide logging through spdlog, to stderr (journald under systemd).
// Text for people, or JSON lines ({"time", "level", "logger", "message"}) for
// log shippers.
#ifndef HALO_COMMON_LOGGING_H_
#define HALO_COMMON_LOGGING_H_

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/config/config.pb.h"

namespace halo {

// Parses "trace", "debug", "info", "warn", "error" (case-insensitive).
absl::StatusOr<config::LoggingConfig::Level> ParseLogLevel(absl::string_view name);
// Parses "text" or "json".
absl::StatusOr<config::LoggingConfig::Format> ParseLogFormat(absl::string_view name);

// Sets the default logger's level and format; unspecified means INFO / TEXT.
void ConfigureLogging(const config::LoggingConfig& logging);

// Escapes `text` for the inside of a JSON string.
std::string JsonEscape(absl::string_view text);

}  // namespace halo

#endif  // HALO_COMMON_LOGGING_H_
