// Which service each role runs, and the one way every role runs.
#ifndef HALO_ROLES_ROLE_TABLE_H_
#define HALO_ROLES_ROLE_TABLE_H_

#include <string>

#include "absl/status/status.h"
#include "halo/common/shutdown.h"
#include "halo/config/config.pb.h"

namespace halo {

// Acquires config.data_dir, starts the service of config.role(), watches
// the Kingdom it works for until `shutdown`, then shuts it down. An error
// when the role cannot start.
absl::Status RunRole(const config::HaloConfig& config, const ShutdownSignal& shutdown,
                     const std::string& replay_seed);

}  // namespace halo

#endif  // HALO_ROLES_ROLE_TABLE_H_
