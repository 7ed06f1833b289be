#include "duchy/duchy_role.h"

#include <spdlog/spdlog.h>

#include "halo/common/data_directory.h"
#include "halo/common/status_macros.h"
#include "halo/net/peer.h"
#include "halo/net/server.h"
#include "halo/net/tls.h"

namespace halo::duchy {

absl::Status RunDuchy(const config::HaloConfig& config, const ShutdownSignal& shutdown) {
  const config::DuchyConfig& duchy = config.duchy();
  ASSIGN_OR_RETURN(std::unique_ptr<DataDirectory> data_dir, DataDirectory::Acquire(config.data_dir()));
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(duchy.tls()));

  // The duchy's servers (computation control, requisition fulfillment) run
  // with the whole duchy; herald and mill alone are clients only.
  std::unique_ptr<net::Server> server;
  if (config.role() == config::DUCHY) {
    ASSIGN_OR_RETURN(server, net::Server::Start({duchy.computation_control_address(),
                                                 duchy.requisition_fulfillment_address()},
                                                tls, {}));
    spdlog::info("duchy {} serving: computation control on port {}, requisition fulfillment on port {}",
                 duchy.duchy_id(), server->ports()[0], server->ports()[1]);
  }
  spdlog::info("duchy {} started as {}, data in {}", duchy.duchy_id(), tls.identity, data_dir->path());
  auto kingdom = net::OpenChannel(duchy.kingdom_system_api_target(), tls);
  net::WatchPeerUntilShutdown(*kingdom, "kingdom system API at " + duchy.kingdom_system_api_target(),
                              absl::Seconds(10), shutdown);
  spdlog::info("duchy {} shutting down", duchy.duchy_id());
  if (server != nullptr) server->Shutdown(absl::Seconds(5));
  spdlog::info("duchy {} stopped", duchy.duchy_id());
  return absl::OkStatus();
}

}  // namespace halo::duchy
