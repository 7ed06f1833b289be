#include "kingdom/kingdom_role.h"

#include <spdlog/spdlog.h>

#include "halo/common/data_directory.h"
#include "halo/common/status_macros.h"
#include "halo/kingdom/kingdom_server.h"
#include "halo/net/tls.h"

namespace halo::kingdom {

absl::Status RunKingdom(const config::HaloConfig& config, const RoleContext& context) {
  const ShutdownSignal& shutdown = context.shutdown;
  ASSIGN_OR_RETURN(std::unique_ptr<DataDirectory> data_dir, DataDirectory::Acquire(config.data_dir()));
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(config.kingdom().tls()));
  const std::string identity = tls.identity;
  ASSIGN_OR_RETURN(std::unique_ptr<KingdomServer> server,
                   KingdomServer::Start({.config = config.kingdom(),
                                         .database_path = data_dir->File("kingdom.db"),
                                         .tls = std::move(tls),
                                         .replay_seed = context.replay_seed}));
  spdlog::info("kingdom {} serving: public API on port {}, system API on port {}, data in {}", identity,
               server->public_port(), server->system_port(), data_dir->path());
  shutdown.Wait();
  spdlog::info("kingdom shutting down");
  server->Shutdown(absl::Seconds(5));
  spdlog::info("kingdom stopped");
  return absl::OkStatus();
}

}  // namespace halo::kingdom
