// `halo --role=edp-agent`: a data provider's agent.
#ifndef HALO_ROLES_EDP_EDP_AGENT_ROLE_H_
#define HALO_ROLES_EDP_EDP_AGENT_ROLE_H_

#include "absl/status/statusor.h"
#include "halo/config/config.pb.h"
#include "service.h"

namespace halo::edp {

absl::StatusOr<StartedService> StartEdpAgent(const config::HaloConfig& config, const ServiceEnvironment& env);

}  // namespace halo::edp

#endif  // HALO_ROLES_EDP_EDP_AGENT_ROLE_H_
