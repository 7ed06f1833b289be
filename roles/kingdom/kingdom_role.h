// `halo --role=kingdom`: the coordinator.
#ifndef HALO_ROLES_KINGDOM_KINGDOM_ROLE_H_
#define HALO_ROLES_KINGDOM_KINGDOM_ROLE_H_

#include "absl/status/status.h"
#include "halo/config/config.pb.h"
#include "role_context.h"

namespace halo::kingdom {

// Serves the public and system APIs over mTLS until `shutdown`, keeping its
// state in the data directory. Returns an error when it cannot start.
absl::Status RunKingdom(const config::HaloConfig& config, const RoleContext& context);

}  // namespace halo::kingdom

#endif  // HALO_ROLES_KINGDOM_KINGDOM_ROLE_H_
