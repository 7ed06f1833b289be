#include "edp/edp_agent_role.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "halo/api/content_signer.h"
#include "halo/api/encryption_key_file.h"
#include "halo/common/status_macros.h"
#include "halo/edp/edp_agent.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"

namespace halo::edp {
namespace {

class EdpAgentService final : public Service {
 public:
  EdpAgentService(std::unique_ptr<EdpAgent> agent, std::string data_provider)
      : agent_(std::move(agent)), data_provider_(std::move(data_provider)) {}
  void Shutdown() override {
    agent_->Shutdown();
    const EdpAgent::Counts counts = agent_->counts();
    spdlog::info("edp agent for {}: {} fulfilled, {} refused", data_provider_, counts.fulfilled, counts.refused);
  }

 private:
  std::unique_ptr<EdpAgent> agent_;
  std::string data_provider_;
};

}  // namespace

absl::StatusOr<StartedService> StartEdpAgent(const config::HaloConfig& config, const ServiceEnvironment& env) {
  const config::EdpAgentConfig& agent_config = config.edp_agent();
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(agent_config.tls()));
  EdpAgentOptions options;
  options.config = agent_config;
  options.data_dir = env.data_dir;
  options.tls = tls;
  options.replay_seed = env.replay_seed;
  options.metrics = env.metrics.get();
  ASSIGN_OR_RETURN(options.signer, api::LoadContentSigner(agent_config.signing().certificate_file(),
                                                          agent_config.signing().private_key_file(),
                                                          agent_config.data_provider(), "edp_agent.signing"));
  ASSIGN_OR_RETURN(options.encryption_key, api::ReadEncryptionKeyFile(agent_config.encryption_key_file()));
  ASSIGN_OR_RETURN(std::unique_ptr<EdpAgent> agent, EdpAgent::Start(options));
  StartedService started;
  started.name = absl::StrCat("edp agent for ", agent_config.data_provider());
  started.started = absl::StrCat("edp agent for ", agent_config.data_provider(), " started, data in ", env.data_dir);
  started.kingdom = net::OpenChannel(agent_config.kingdom_public_api_target(), tls, net::kKingdomSubject);
  started.kingdom_name = "kingdom public API at " + agent_config.kingdom_public_api_target();
  started.status_page = [agent = agent.get()] { return agent->StatusPage(); };
  started.service = std::make_unique<EdpAgentService>(std::move(agent), agent_config.data_provider());
  return started;
}

}  // namespace halo::edp
