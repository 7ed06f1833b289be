#include "kingdom/kingdom_role.h"

#include <spdlog/spdlog.h>

#include "halo/common/data_directory.h"
#include "halo/common/status_macros.h"
#include "halo/net/server.h"
#include "halo/net/tls.h"
#include "halo/storage/sqlite_database.h"

namespace halo::kingdom {

absl::Status RunKingdom(const config::HaloConfig& config, const ShutdownSignal& shutdown) {
  const config::KingdomConfig& kingdom = config.kingdom();
  ASSIGN_OR_RETURN(std::unique_ptr<DataDirectory> data_dir, DataDirectory::Acquire(config.data_dir()));
  ASSIGN_OR_RETURN(std::unique_ptr<storage::SqliteDatabase> db,
                   storage::SqliteDatabase::Open(data_dir->File("kingdom.db")));
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(kingdom.tls()));
  ASSIGN_OR_RETURN(std::unique_ptr<net::Server> server,
                   net::Server::Start({kingdom.public_api_address(), kingdom.system_api_address()},
                                      tls, {}));
  spdlog::info("kingdom {} serving: public API on port {}, system API on port {}, data in {}",
               tls.identity, server->ports()[0], server->ports()[1], data_dir->path());
  shutdown.Wait();
  spdlog::info("kingdom shutting down");
  server->Shutdown(absl::Seconds(5));
  spdlog::info("kingdom stopped");
  return absl::OkStatus();
}

}  // namespace halo::kingdom
