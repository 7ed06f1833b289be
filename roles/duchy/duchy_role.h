// `halo --role=duchy` (herald, mill and servers in one process), or one part
// of it: `duchy-herald`, `duchy-mill`.
#ifndef HALO_ROLES_DUCHY_DUCHY_ROLE_H_
#define HALO_ROLES_DUCHY_DUCHY_ROLE_H_

#include "absl/status/status.h"
#include "halo/config/config.pb.h"
#include "role_context.h"

namespace halo::duchy {

// Runs the parts of a duchy that config.role() names until `shutdown`.
absl::Status RunDuchy(const config::HaloConfig& config, const RoleContext& context);

}  // namespace halo::duchy

#endif  // HALO_ROLES_DUCHY_DUCHY_ROLE_H_
