// `halo --role=edp-agent`: a data provider's agent.
#ifndef HALO_ROLES_EDP_EDP_AGENT_ROLE_H_
#define HALO_ROLES_EDP_EDP_AGENT_ROLE_H_

#include "absl/status/status.h"
#include "halo/config/config.pb.h"
#include "role_context.h"

namespace halo::edp {

absl::Status RunEdpAgent(const config::HaloConfig& config, const RoleContext& context);

}  // namespace halo::edp

#endif  // HALO_ROLES_EDP_EDP_AGENT_ROLE_H_
