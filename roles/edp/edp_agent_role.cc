#include "edp/edp_agent_role.h"

#include <spdlog/spdlog.h>

#include "halo/api/content_signer.h"
#include "halo/api/encryption_key_file.h"
#include "halo/common/data_directory.h"
#include "halo/common/status_macros.h"
#include "halo/edp/edp_agent.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"

namespace halo::edp {

absl::Status RunEdpAgent(const config::HaloConfig& config, const RoleContext& context) {
  const ShutdownSignal& shutdown = context.shutdown;
  const config::EdpAgentConfig& agent_config = config.edp_agent();
  ASSIGN_OR_RETURN(std::unique_ptr<DataDirectory> data_dir, DataDirectory::Acquire(config.data_dir()));
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(agent_config.tls()));
  EdpAgentOptions options;
  options.config = agent_config;
  options.data_dir = data_dir->path();
  options.tls = tls;
  options.replay_seed = context.replay_seed;
  ASSIGN_OR_RETURN(options.signer, api::LoadContentSigner(agent_config.signing().certificate_file(),
                                                          agent_config.signing().private_key_file(),
                                                          agent_config.data_provider(), "edp_agent.signing"));
  ASSIGN_OR_RETURN(options.encryption_key, api::ReadEncryptionKeyFile(agent_config.encryption_key_file()));
  ASSIGN_OR_RETURN(std::unique_ptr<EdpAgent> agent, EdpAgent::Start(options));
  auto kingdom = net::OpenChannel(agent_config.kingdom_public_api_target(), tls, net::kKingdomSubject);
  net::WatchPeerUntilShutdown(*kingdom, "kingdom public API at " + agent_config.kingdom_public_api_target(),
                              absl::Seconds(10), shutdown);
  agent->Shutdown();
  const EdpAgent::Counts counts = agent->counts();
  spdlog::info("edp agent for {} stopped ({} fulfilled, {} refused)", agent_config.data_provider(), counts.fulfilled,
               counts.refused);
  return absl::OkStatus();
}

}  // namespace halo::edp
