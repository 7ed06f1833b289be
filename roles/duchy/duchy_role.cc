#include "duchy/duchy_role.h"

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"

#include "halo/api/content_signer.h"
#include "halo/common/data_directory.h"
#include "halo/common/status_macros.h"
#include "halo/duchy/duchy_daemon.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"

namespace halo::duchy {

absl::Status RunDuchy(const config::HaloConfig& config, const RoleContext& context) {
  const ShutdownSignal& shutdown = context.shutdown;
  if (config.role() != config::DUCHY) {
    // The herald, the mills and the servers share one RocksDB blob store,
    // which one process at a time may open.
    return absl::FailedPreconditionError(absl::StrCat(
        "role ", config::Role_Name(config.role()),
        ": a duchy runs as one process (role DUCHY); its parts share a blob store only one process may open"));
  }
  const config::DuchyConfig& duchy = config.duchy();
  ASSIGN_OR_RETURN(std::unique_ptr<DataDirectory> data_dir, DataDirectory::Acquire(config.data_dir()));
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(duchy.tls()));
  DuchyOptions options;
  options.config = duchy;
  options.data_dir = data_dir->path();
  options.tls = tls;
  options.replay_seed = context.replay_seed;
  ASSIGN_OR_RETURN(options.signer,
                   api::LoadContentSigner(duchy.signing().certificate_file(), duchy.signing().private_key_file(),
                                          absl::StrCat("duchies/", duchy.duchy_id()), "duchy.signing"));
  ASSIGN_OR_RETURN(std::unique_ptr<DuchyDaemon> daemon, DuchyDaemon::Start(options));
  spdlog::info("duchy {} started as {}, data in {}", duchy.duchy_id(), tls.identity, data_dir->path());
  auto kingdom = net::OpenChannel(duchy.kingdom_system_api_target(), tls, net::kKingdomSubject);
  net::WatchPeerUntilShutdown(*kingdom, "kingdom system API at " + duchy.kingdom_system_api_target(),
                              absl::Seconds(10), shutdown);
  spdlog::info("duchy {} shutting down", duchy.duchy_id());
  daemon->Shutdown();
  spdlog::info("duchy {} stopped", duchy.duchy_id());
  return absl::OkStatus();
}

}  // namespace halo::duchy
