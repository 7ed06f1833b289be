// `halo --role=duchy` (herald, mill and servers in one process), or one part
// of it: `duchy-herald`, `duchy-mill`.
#ifndef HALO_ROLES_DUCHY_DUCHY_ROLE_H_
#define HALO_ROLES_DUCHY_DUCHY_ROLE_H_

#include "absl/status/statusor.h"
#include "halo/config/config.pb.h"
#include "service.h"

namespace halo::duchy {

// The whole duchy in one process: herald, a mill and the servers (and, when
// duchy.mill_service_address is set, the service for mills elsewhere).
absl::StatusOr<StartedService> StartDuchy(const config::HaloConfig& config, const ServiceEnvironment& env);
// The duchy's state, servers and Kingdom sync, with no mill of its own: its
// mills are `duchy-mill` processes calling duchy.mill_service_address.
absl::StatusOr<StartedService> StartDuchyHerald(const config::HaloConfig& config, const ServiceEnvironment& env);
// One mill, from the duchy_mill section.
absl::StatusOr<StartedService> StartDuchyMill(const config::HaloConfig& config, const ServiceEnvironment& env);

}  // namespace halo::duchy

#endif  // HALO_ROLES_DUCHY_DUCHY_ROLE_H_
