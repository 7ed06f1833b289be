#include "duchy/duchy_role.h"

#include "absl/strings/str_cat.h"
#include "halo/api/content_signer.h"
#include "halo/common/status_macros.h"
#include "halo/duchy/duchy_daemon.h"
#include "halo/duchy/duchy_mill.h"
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

class MillService final : public Service {
 public:
  explicit MillService(std::unique_ptr<DuchyMill> mill) : mill_(std::move(mill)) {}
  void Shutdown() override { mill_->Shutdown(); }

 private:
  std::unique_ptr<DuchyMill> mill_;
};

absl::StatusOr<StartedService> StartDuchyDaemon(const config::HaloConfig& config, const ServiceEnvironment& env,
                                                int mills) {
  const config::DuchyConfig& duchy = config.duchy();
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(duchy.tls()));
  DuchyOptions options;
  options.config = duchy;
  options.data_dir = env.data_dir;
  options.tls = tls;
  options.mills = mills;
  options.replay_seed = env.replay_seed;
  options.metrics = env.metrics.get();
  ASSIGN_OR_RETURN(options.signer,
                   api::LoadContentSigner(duchy.signing().certificate_file(), duchy.signing().private_key_file(),
                                          absl::StrCat("duchies/", duchy.duchy_id()), "duchy.signing"));
  ASSIGN_OR_RETURN(std::unique_ptr<DuchyDaemon> daemon, DuchyDaemon::Start(options));
  const std::string what = mills > 0 ? "duchy" : "duchy herald";
  StartedService started;
  started.name = absl::StrCat(what, " ", duchy.duchy_id());
  started.started = absl::StrCat(what, " ", duchy.duchy_id(), " started as ", tls.identity, ", data in ", env.data_dir,
                                 duchy.database().has_postgresql() ? ", computations on PostgreSQL"
                                                                   : ", computations in SQLite");
  if (daemon->mill_service_port() != 0) {
    absl::StrAppend(&started.started, ", serving its mills on port ", daemon->mill_service_port());
  }
  started.kingdom = net::OpenChannel(duchy.kingdom_system_api_target(), tls, net::kKingdomSubject);
  started.kingdom_name = "kingdom system API at " + duchy.kingdom_system_api_target();
  started.status_page = [daemon = daemon.get()] { return daemon->StatusPage(); };
  started.service = std::make_unique<DuchyService>(std::move(daemon));
  return started;
}

}  // namespace

absl::StatusOr<StartedService> StartDuchy(const config::HaloConfig& config, const ServiceEnvironment& env) {
  return StartDuchyDaemon(config, env, /*mills=*/1);
}

absl::StatusOr<StartedService> StartDuchyHerald(const config::HaloConfig& config, const ServiceEnvironment& env) {
  if (config.duchy().mill_service_address().empty()) {
    return absl::InvalidArgumentError(
        "duchy.mill_service_address: a herald must say where its mills reach it (role DUCHY_HERALD)");
  }
  return StartDuchyDaemon(config, env, /*mills=*/0);
}

absl::StatusOr<StartedService> StartDuchyMill(const config::HaloConfig& config, const ServiceEnvironment& env) {
  const config::DuchyMillConfig& mill = config.duchy_mill();
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(mill.tls()));
  DuchyMillOptions options;
  options.config = mill;
  options.tls = tls;
  options.replay_seed = env.replay_seed;
  options.metrics = env.metrics.get();
  ASSIGN_OR_RETURN(std::unique_ptr<DuchyMill> started_mill, DuchyMill::Start(options));
  StartedService started;
  started.name = started_mill->name();
  started.started = absl::StrCat("duchy mill ", started_mill->name(), " started, working for its herald at ",
                                 mill.herald_target());
  // Watched like a Kingdom, so that the log says when the herald is gone.
  started.kingdom = net::OpenChannel(mill.herald_target(), tls, net::DuchySubject(mill.duchy_id()));
  started.kingdom_name = "herald at " + mill.herald_target();
  started.service = std::make_unique<MillService>(std::move(started_mill));
  return started;
}

}  // namespace halo::duchy
