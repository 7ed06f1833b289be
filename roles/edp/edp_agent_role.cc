#include "edp/edp_agent_role.h"

#include <spdlog/spdlog.h>

#include "halo/common/data_directory.h"
#include "halo/common/status_macros.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"

namespace halo::edp {

absl::Status RunEdpAgent(const config::HaloConfig& config, const ShutdownSignal& shutdown) {
  const config::EdpAgentConfig& agent = config.edp_agent();
  ASSIGN_OR_RETURN(std::unique_ptr<DataDirectory> data_dir, DataDirectory::Acquire(config.data_dir()));
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(agent.tls()));
  spdlog::info("edp agent for {} started as {}, data in {}", agent.data_provider(), tls.identity,
               data_dir->path());
  auto kingdom = net::OpenChannel(agent.kingdom_public_api_target(), tls);
  net::WatchPeerUntilShutdown(*kingdom, "kingdom public API at " + agent.kingdom_public_api_target(),
                              absl::Seconds(10), shutdown);
  spdlog::info("edp agent for {} stopped", agent.data_provider());
  return absl::OkStatus();
}

}  // namespace halo::edp
