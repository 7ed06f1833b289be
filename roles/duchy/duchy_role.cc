#include "duchy/duchy_role.h"

#include "absl/strings/str_cat.h"
#include "halo/api/content_signer.h"
#include "halo/common/status_macros.h"
#include "halo/duchy/duchy_daemon.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"

namespace halo::duchy {
namespace {

class DuchyService final : public Service {
 public:
  explicit DuchyService(std::unique_ptr<DuchyDaemon> daemon) : daemon_(std::move(daemon)) {}
  void Shutdown() override { daemon_->Shutdown(); }

 private:
  std::unique_ptr<DuchyDaemon> daemon_;
};

}  // namespace

absl::StatusOr<StartedService> StartDuchy(const config::HaloConfig& config, const ServiceEnvironment& env) {
  if (config.role() != config::DUCHY) {
    // The herald, the mills and the servers share one RocksDB blob store,
    // which one process at a time may open.
    return absl::FailedPreconditionError(absl::StrCat(
        "role ", config::Role_Name(config.role()),
        ": a duchy runs as one process (role DUCHY); its parts share a blob store only one process may open"));
  }
  const config::DuchyConfig& duchy = config.duchy();
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(duchy.tls()));
  DuchyOptions options;
  options.config = duchy;
  options.data_dir = env.data_dir;
  options.tls = tls;
  options.replay_seed = env.replay_seed;
  ASSIGN_OR_RETURN(options.signer,
                   api::LoadContentSigner(duchy.signing().certificate_file(), duchy.signing().private_key_file(),
                                          absl::StrCat("duchies/", duchy.duchy_id()), "duchy.signing"));
  ASSIGN_OR_RETURN(std::unique_ptr<DuchyDaemon> daemon, DuchyDaemon::Start(options));
  StartedService started;
  started.name = absl::StrCat("duchy ", duchy.duchy_id());
  started.started = absl::StrCat("duchy ", duchy.duchy_id(), " started as ", tls.identity, ", data in ", env.data_dir);
  started.kingdom = net::OpenChannel(duchy.kingdom_system_api_target(), tls, net::kKingdomSubject);
  started.kingdom_name = "kingdom system API at " + duchy.kingdom_system_api_target();
  started.service = std::make_unique<DuchyService>(std::move(daemon));
  return started;
}

}  // namespace halo::duchy
