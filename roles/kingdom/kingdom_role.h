// `halo --role=kingdom`: the coordinator.
#ifndef HALO_ROLES_KINGDOM_KINGDOM_ROLE_H_
#define HALO_ROLES_KINGDOM_KINGDOM_ROLE_H_

#include "absl/status/statusor.h"
#include "halo/config/config.pb.h"
#include "service.h"

namespace halo::kingdom {

// Serves the public and system APIs over mTLS, keeping its state in the
// data directory.
absl::StatusOr<StartedService> StartKingdom(const config::HaloConfig& config, const ServiceEnvironment& env);

}  // namespace halo::kingdom

#endif  // HALO_ROLES_KINGDOM_KINGDOM_ROLE_H_
