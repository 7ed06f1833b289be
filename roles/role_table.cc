#include "role_table.h"

#include <spdlog/spdlog.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "duchy/duchy_role.h"
#include "edp/edp_agent_role.h"
#include "exchange/exchange_daemon_role.h"
#include "halo/common/config.h"
#include "halo/common/data_directory.h"
#include "halo/common/status_macros.h"
#include "halo/net/peer.h"
#include "kingdom/kingdom_role.h"
#include "service.h"

namespace halo {
namespace {

const std::map<config::Role, ServiceFactory>& Factories() {
  static const auto* factories = new std::map<config::Role, ServiceFactory>{
      {config::KINGDOM, kingdom::StartKingdom},
      {config::DUCHY, duchy::StartDuchy},
      {config::DUCHY_HERALD, duchy::StartDuchyHerald},
      {config::DUCHY_MILL, duchy::StartDuchyMill},
      {config::EDP_AGENT, edp::StartEdpAgent},
      {config::EXCHANGE_DAEMON, exchange::StartExchangeDaemon},
  };
  return *factories;
}

}  // namespace

absl::Status RunRole(const config::HaloConfig& config, const ShutdownSignal& shutdown,
                     const std::string& replay_seed) {
  auto factory = Factories().find(config.role());
  if (factory == Factories().end()) {
    return absl::InvalidArgumentError(absl::StrCat("no runner for role ", RoleName(config.role())));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<DataDirectory> data_dir, DataDirectory::Acquire(config.data_dir()));
  ASSIGN_OR_RETURN(StartedService started, factory->second(config, {data_dir->path(), replay_seed}));
  spdlog::info("{}", started.started);
  if (started.kingdom != nullptr) {
    net::WatchPeerUntilShutdown(*started.kingdom, started.kingdom_name, absl::Seconds(10), shutdown);
  } else {
    shutdown.Wait();
  }
  spdlog::info("{} shutting down", started.name);
  started.service->Shutdown();
  spdlog::info("{} stopped", started.name);
  return absl::OkStatus();
}

}  // namespace halo
