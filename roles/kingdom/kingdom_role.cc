#include "kingdom/kingdom_role.h"

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/kingdom/kingdom_server.h"
#include "halo/net/tls.h"

namespace halo::kingdom {
namespace {

class KingdomService final : public Service {
 public:
  explicit KingdomService(std::unique_ptr<KingdomServer> server) : server_(std::move(server)) {}
  void Shutdown() override { server_->Shutdown(absl::Seconds(5)); }

 private:
  std::unique_ptr<KingdomServer> server_;
};

}  // namespace

absl::StatusOr<StartedService> StartKingdom(const config::HaloConfig& config, const ServiceEnvironment& env) {
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(config.kingdom().tls()));
  const std::string identity = tls.identity;
  ASSIGN_OR_RETURN(std::unique_ptr<KingdomServer> server,
                   KingdomServer::Start({.config = config.kingdom(),
                                         .database_path = env.data_dir + "/kingdom.db",
                                         .tls = std::move(tls),
                                         .replay_seed = env.replay_seed,
                                         .metrics = env.metrics.get()}));
  StartedService started;
  started.name = "kingdom";
  started.started = absl::StrCat("kingdom ", identity, " serving: public API on port ", server->public_port(),
                                 ", system API on port ", server->system_port(), ", data in ", env.data_dir,
                                 config.kingdom().database().has_postgresql() ? ", records on PostgreSQL"
                                                                              : ", records in SQLite");
  started.health = [server = server.get()] { return server->CheckHealth(); };
  started.status_page = [server = server.get()] { return server->StatusPage(); };
  started.service = std::make_unique<KingdomService>(std::move(server));
  return started;
}

}  // namespace halo::kingdom
