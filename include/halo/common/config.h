// Loading and checking a `halo` config file (protobuf text format, schema in
// proto/halo/config/config.proto).
//
// Every refusal is INVALID_ARGUMENT with a message of the form
//   FILE:LINE:COLUMN: field "path.to.field": what is wrong
// so an operator can go straight to the line.
#ifndef HALO_COMMON_CONFIG_H_
#define HALO_COMMON_CONFIG_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/config/config.pb.h"

namespace halo {

// "kingdom", "duchy", "duchy-herald", "duchy-mill", "edp-agent",
// "exchange-daemon"; refuses anything else, listing the known names.
absl::StatusOr<config::Role> ParseRoleName(absl::string_view name);
std::string RoleName(config::Role role);

// Parses and validates `text` as if read from `file_name`. `role_flag` is the
// --role value, or empty. The returned config has its role set.
absl::StatusOr<config::HaloConfig> ParseConfig(absl::string_view text,
                                               absl::string_view file_name,
                                               absl::string_view role_flag);

// Parses `text` into `message`, any config schema from config.proto (e.g.
// a client's McClientConfig), with the same checks and messages.
absl::Status ParseConfigMessage(absl::string_view text, absl::string_view file_name,
                                google::protobuf::Message& message);
absl::Status LoadConfigMessage(const std::string& path, google::protobuf::Message& message);

// Reads `path` and calls ParseConfig.
absl::StatusOr<config::HaloConfig> LoadConfig(const std::string& path,
                                              absl::string_view role_flag);

}  // namespace halo

#endif  // HALO_COMMON_CONFIG_H_
