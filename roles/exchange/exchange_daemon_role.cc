#include "exchange/exchange_daemon_role.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "halo/api/content_signer.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/exchange/exchange_daemon.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"

namespace halo::exchange {
namespace {

class ExchangeDaemonService final : public Service {
 public:
  ExchangeDaemonService(std::unique_ptr<ExchangeDaemon> daemon, std::string party)
      : daemon_(std::move(daemon)), party_(std::move(party)) {}
  void Shutdown() override {
    daemon_->Shutdown();
    const ExchangeDaemon::Counts counts = daemon_->counts();
    spdlog::info("exchange daemon for {}: {} steps succeeded, {} failed", party_, counts.succeeded, counts.failed);
  }

 private:
  std::unique_ptr<ExchangeDaemon> daemon_;
  std::string party_;
};

}  // namespace

absl::StatusOr<StartedService> StartExchangeDaemon(const config::HaloConfig& config, const ServiceEnvironment& env) {
  const config::ExchangeDaemonConfig& daemon_config = config.exchange_daemon();
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(daemon_config.tls()));
  ExchangeDaemonOptions options;
  options.config = daemon_config;
  options.data_dir = env.data_dir;
  options.metrics = env.metrics.get();
  options.tls = tls;
  ASSIGN_OR_RETURN(options.signer, api::LoadContentSigner(daemon_config.signing().certificate_file(),
                                                          daemon_config.signing().private_key_file(),
                                                          daemon_config.party(), "exchange_daemon.signing"));
  if (daemon_config.has_certificate_authority()) {
    const auto& ca = daemon_config.certificate_authority();
    absl::StatusOr<std::string> pem = ReadFile(ca.certificate_file());
    if (!pem.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("exchange_daemon.certificate_authority.certificate_file: ", pem.status().message()));
    }
    absl::StatusOr<std::string> key = ReadSecretFile(ca.private_key_file(), "the CA's private key file");
    if (!key.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("exchange_daemon.certificate_authority.private_key_file: ", key.status().message()));
    }
    options.certificate_authority_pem = *std::move(pem);
    options.certificate_authority_key_pem = *std::move(key);
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ExchangeDaemon> daemon, ExchangeDaemon::Start(options));
  StartedService started;
  started.name = absl::StrCat("exchange daemon for ", daemon_config.party());
  started.started = absl::StrCat("exchange daemon for ", daemon_config.party(), " started, data in ", env.data_dir);
  started.kingdom = net::OpenChannel(daemon_config.kingdom_public_api_target(), tls, net::kKingdomSubject);
  started.kingdom_name = "kingdom public API at " + daemon_config.kingdom_public_api_target();
  started.status_page = [daemon = daemon.get()] { return daemon->StatusPage(); };
  started.service = std::make_unique<ExchangeDaemonService>(std::move(daemon), daemon_config.party());
  return started;
}

}  // namespace halo::exchange
