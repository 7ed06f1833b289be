// `halo --role=exchange-daemon`: one party's Panel Exchange step runner.
#ifndef HALO_ROLES_EXCHANGE_EXCHANGE_DAEMON_ROLE_H_
#define HALO_ROLES_EXCHANGE_EXCHANGE_DAEMON_ROLE_H_

#include "absl/status/statusor.h"
#include "halo/config/config.pb.h"
#include "service.h"

namespace halo::exchange {

absl::StatusOr<StartedService> StartExchangeDaemon(const config::HaloConfig& config, const ServiceEnvironment& env);

}  // namespace halo::exchange

#endif  // HALO_ROLES_EXCHANGE_EXCHANGE_DAEMON_ROLE_H_
