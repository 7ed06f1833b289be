// `halo --role=exchange-daemon`: one party's Panel Exchange step runner.
#ifndef HALO_ROLES_EXCHANGE_EXCHANGE_DAEMON_ROLE_H_
#define HALO_ROLES_EXCHANGE_EXCHANGE_DAEMON_ROLE_H_

#include "absl/status/status.h"
#include "halo/config/config.pb.h"
#include "role_context.h"

namespace halo::exchange {

absl::Status RunExchangeDaemon(const config::HaloConfig& config, const RoleContext& context);

}  // namespace halo::exchange

#endif  // HALO_ROLES_EXCHANGE_EXCHANGE_DAEMON_ROLE_H_
