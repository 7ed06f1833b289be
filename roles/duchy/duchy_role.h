// `halo --role=duchy` (herald, mill and servers in one process), or one part
// of it: `duchy-herald`, `duchy-mill`.
#ifndef HALO_ROLES_DUCHY_DUCHY_ROLE_H_
#define HALO_ROLES_DUCHY_DUCHY_ROLE_H_

#include "absl/status/statusor.h"
#include "halo/config/config.pb.h"
#include "service.h"

namespace halo::duchy {

// Starts the parts of a duchy that config.role() names.
absl::StatusOr<StartedService> StartDuchy(const config::HaloConfig& config, const ServiceEnvironment& env);

}  // namespace halo::duchy

#endif  // HALO_ROLES_DUCHY_DUCHY_ROLE_H_
