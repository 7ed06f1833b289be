// `halo --role=duchy` (herald, mill and servers in one process), or one part
// of it: `duchy-herald`, `duchy-mill`.
#ifndef HALO_ROLES_DUCHY_DUCHY_ROLE_H_
#define HALO_ROLES_DUCHY_DUCHY_ROLE_H_

#include "absl/status/status.h"
#include "halo/common/shutdown.h"
#include "halo/config/config.pb.h"

namespace halo::duchy {

// Runs the parts of a duchy that config.role() names until `shutdown`.
absl::Status RunDuchy(const config::HaloConfig& config, const ShutdownSignal& shutdown);

}  // namespace halo::duchy

#endif  // HALO_ROLES_DUCHY_DUCHY_ROLE_H_
