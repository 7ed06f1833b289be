// How a client command ends: exit code 0, or 1 after saying why on stderr
// as "halo COMMAND: message".
#ifndef HALO_ROLES_CLI_REPORT_H_
#define HALO_ROLES_CLI_REPORT_H_

#include <iostream>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace halo::cli {

inline int Report(absl::string_view command, const absl::Status& status) {
  if (status.ok()) return 0;
  std::cerr << "halo " << command << ": " << status.message() << "\n";
  return 1;
}

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_REPORT_H_
