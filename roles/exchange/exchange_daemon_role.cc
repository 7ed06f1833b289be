#include "exchange/exchange_daemon_role.h"

#include <spdlog/spdlog.h>

#include "halo/common/data_directory.h"
#include "halo/common/status_macros.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"

namespace halo::exchange {

absl::Status RunExchangeDaemon(const config::HaloConfig& config, const ShutdownSignal& shutdown) {
  const config::ExchangeDaemonConfig& daemon = config.exchange_daemon();
  ASSIGN_OR_RETURN(std::unique_ptr<DataDirectory> data_dir, DataDirectory::Acquire(config.data_dir()));
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(daemon.tls()));
  spdlog::info("exchange daemon for {} started as {}, data in {}", daemon.party(), tls.identity,
               data_dir->path());
  auto kingdom = net::OpenChannel(daemon.kingdom_public_api_target(), tls);
  net::WatchPeerUntilShutdown(*kingdom, "kingdom public API at " + daemon.kingdom_public_api_target(),
                              absl::Seconds(10), shutdown);
  spdlog::info("exchange daemon for {} stopped", daemon.party());
  return absl::OkStatus();
}

}  // namespace halo::exchange
