#include "halo/duchy/duchy_daemon.h"

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "duchy_context.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/certificate.h"
#include "halo/net/chunks.h"
#include "halo/net/peer.h"
#include "halo/monitoring/status_page.h"
#include "halo/net/server.h"
#include "herald.h"
#include "mill.h"
#include "mill_work_service.h"
#include "services.h"
#include "spdlog/spdlog.h"

namespace halo::duchy {

struct DuchyDaemon::State {
  std::unique_ptr<DuchyContext> duchy;
  std::unique_ptr<MillWork> mill_work;
  std::unique_ptr<Herald> herald;
  std::vector<std::unique_ptr<Mill>> mills;
  std::unique_ptr<ComputationControlService> computation_control;
  std::unique_ptr<RequisitionFulfillmentService> requisition_fulfillment;
  std::unique_ptr<MillWorkService> mill_work_service;
  std::unique_ptr<net::Server> mill_work_server;
  std::unique_ptr<net::Server> computation_control_server;
  std::unique_ptr<net::Server> requisition_fulfillment_server;
  std::vector<std::thread> threads;
  bool shut_down = false;

  void WakeMills() {
    for (auto& mill : mills) mill->Wake();
    if (mill_work_service != nullptr) mill_work_service->WorkMayBeReady();
  }
};

absl::StatusOr<std::unique_ptr<DuchyDaemon>> DuchyDaemon::Start(DuchyOptions options) {
  const config::DuchyConfig& config = options.config;
  ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromPem(options.tls.certificate_pem));
  const std::string name = absl::StrCat("duchies/", config.duchy_id());
  if (certificate.SubjectName() != name) {
    return absl::InvalidArgumentError(absl::StrCat("duchy.tls.certificate_file: the certificate is for \"",
                                                   certificate.SubjectName(), "\", not ", name));
  }
  RETURN_IF_ERROR(api::CheckContentSigner(options.signer, name, "duchy.signing"));
  ASSIGN_OR_RETURN(crypto::TrustedRoots trusted_roots, crypto::TrustedRoots::FromPem(options.tls.trusted_ca_pem));
  // Only the duchy's own root vouches for its mills.
  ASSIGN_OR_RETURN(crypto::TrustedRoots own_root, trusted_roots.IssuerOf(certificate, absl::Now()));
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", options.data_dir, ": ", error.message()));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<ComputationStore> store,
                   ComputationStore::Open(
                       {.config = config.database(),
                        .sqlite_path = (std::filesystem::path(options.data_dir) / "computations.db").string(),
                        .field = "duchy.database"}));
  // Only this process's mills from before: other processes' mills may be
  // at work still.
  RETURN_IF_ERROR(store->ReleaseClaimsOf(absl::StrCat(name, "/mill-")));
  const std::filesystem::path data(options.data_dir);
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobStore> blobs,
                   config.blob_store() == config::DuchyConfig::FILE_SYSTEM
                       ? storage::OpenFileSystemBlobStore((data / "blob-files").string())
                       : storage::OpenRocksDbBlobStore((data / "blobs").string()));
  const int parallelism = ThreadsOrCores(config.mill_parallelism());
  auto state = std::make_unique<State>();
  State& s = *state;
  s.duchy = std::make_unique<DuchyContext>(
      config.duchy_id(), options.signer->name, options.signer->key, options.tls, std::move(store), std::move(blobs),
      net::OpenChannel(config.kingdom_system_api_target(), options.tls, net::kKingdomSubject, options.metrics),
      std::move(trusted_roots));
  if (options.metrics != nullptr) {
    s.duchy->AttachMetrics(*options.metrics);
    ComputationStore& computations = s.duchy->store();
    const auto claimable = [&computations](bool age) {
      return [&computations, age]() -> absl::StatusOr<std::vector<std::pair<monitoring::LabelValues, double>>> {
        ASSIGN_OR_RETURN(ComputationStore::Claimable now, computations.CountClaimable());
        if (!age) return std::vector<std::pair<monitoring::LabelValues, double>>{{{}, double(now.count)}};
        return std::vector<std::pair<monitoring::LabelValues, double>>{
            {{}, now.oldest ? std::max(0.0, absl::ToDoubleSeconds(absl::Now() - *now.oldest)) : 0.0}};
      };
    };
    options.metrics->AddGaugeReader("halo_cmm_claimable_computations",
                                    "Computations a mill could claim now (runnable, unleased, not waiting to retry)",
                                    {}, claimable(false));
    options.metrics->AddGaugeReader("halo_cmm_oldest_claimable_computation_age_seconds",
                                    "How long the claimable computation that has waited longest has waited (0 when "
                                    "none waits)",
                                    {}, claimable(true));
  }
  for (const config::DuchyPeer& peer : config.peers()) {
    s.duchy->SetPeerTarget(peer.duchy_id(), peer.computation_control_target());
  }
  s.mill_work = LocalMillWork(*s.duchy);
  for (int i = 0; i < options.mills; ++i) {
    s.mills.push_back(std::make_unique<Mill>(
        *s.mill_work, MillOptions{.owner = absl::StrCat(name, "/mill-", i),
                                  .lease = options.lease,
                                  .first_retry = options.first_retry,
                                  .max_attempts = config.max_stage_attempts() > 0 ? config.max_stage_attempts() : 10,
                                  .parallelism = parallelism,
                                  .replay_seed = options.replay_seed,
                                  .metrics = options.metrics}));
  }
  s.herald = std::make_unique<Herald>(*s.duchy, [&s] { s.WakeMills(); });
  s.computation_control = std::make_unique<ComputationControlService>(*s.duchy, [&s] { s.WakeMills(); });
  s.requisition_fulfillment = std::make_unique<RequisitionFulfillmentService>(*s.duchy);
  ASSIGN_OR_RETURN(s.computation_control_server,
                   net::Server::Start({config.computation_control_address()}, options.tls,
                                      {{v1::ComputationControl::service_full_name(), s.computation_control.get()}},
                                      net::kMaxChunkMessageBytes, options.metrics));
  ASSIGN_OR_RETURN(s.requisition_fulfillment_server,
                   net::Server::Start({config.requisition_fulfillment_address()}, options.tls,
                                      {{v1::RequisitionFulfillment::service_full_name(), s.requisition_fulfillment.get()}},
                                      net::kMaxChunkMessageBytes, options.metrics));
  if (!config.mill_service_address().empty()) {
    s.mill_work_service = std::make_unique<MillWorkService>(*s.mill_work, config.duchy_id(), std::move(own_root));
    ASSIGN_OR_RETURN(s.mill_work_server,
                     net::Server::Start({config.mill_service_address()}, options.tls,
                                        {{v1::MillWork::service_full_name(), s.mill_work_service.get()}},
                                        net::kMaxChunkMessageBytes, options.metrics));
    spdlog::info("duchy {}: serving its mills on {}", config.duchy_id(), s.mill_work_server->ports().front());
  }
  s.threads.emplace_back([&s] { s.herald->Run(); });
  for (auto& mill : s.mills) s.threads.emplace_back([m = mill.get()] { m->Run(); });
  spdlog::info("duchy {}: serving ComputationControl on {} and RequisitionFulfillment on {}", config.duchy_id(),
               s.computation_control_server->ports().front(), s.requisition_fulfillment_server->ports().front());
  return std::unique_ptr<DuchyDaemon>(new DuchyDaemon(std::move(state)));
}

DuchyDaemon::DuchyDaemon(std::unique_ptr<State> state) : state_(std::move(state)) {}

DuchyDaemon::~DuchyDaemon() { Shutdown(); }

int DuchyDaemon::computation_control_port() const { return state_->computation_control_server->ports().front(); }
int DuchyDaemon::requisition_fulfillment_port() const {
  return state_->requisition_fulfillment_server->ports().front();
}
int DuchyDaemon::mill_service_port() const {
  return state_->mill_work_server == nullptr ? 0 : state_->mill_work_server->ports().front();
}

absl::StatusOr<std::string> DuchyDaemon::StatusPage() {
  ComputationStore& store = state_->duchy->store();
  monitoring::StatusPage page(absl::StrCat("duchy ", state_->duchy->duchy_id()));
  const absl::Time now = absl::Now();
  const auto ago = [now](absl::Time then) {
    return then == absl::InfinitePast() ? "-" : monitoring::HumanDuration(absl::ToDoubleSeconds(now - then)) + " ago";
  };
  ASSIGN_OR_RETURN(ComputationStore::Claimable claimable, store.CountClaimable());
  page.Section("Computations in progress");
  page.Paragraph(absl::StrCat(claimable.count, " claimable now",
                              claimable.oldest ? absl::StrCat(", the oldest waiting ",
                                                              monitoring::HumanDuration(
                                                                  absl::ToDoubleSeconds(now - *claimable.oldest)))
                                               : ""));
  constexpr int kShown = 200;
  ASSIGN_OR_RETURN(std::vector<LocalComputation> active, store.List(false, kShown));
  std::vector<std::vector<std::string>> rows;
  for (const LocalComputation& c : active) {
    const bool leased = !c.lease_owner.empty() && c.lease_expiry > now;
    rows.push_back({c.name, v1::ComputationStage_Name(c.stage), c.runnable ? "yes" : "waiting for inputs",
                    absl::StrCat(c.attempts), leased ? c.lease_owner : "-",
                    leased ? absl::StrCat("expires in ", monitoring::HumanDuration(absl::ToDoubleSeconds(c.lease_expiry - now)))
                           : "-",
                    ago(c.updated), c.last_error});
  }
  page.Table("computations", {"computation", "stage", "runnable", "attempts", "lease owner", "lease", "changed",
                              "last error"},
             rows, "No computation is in progress.");
  if (static_cast<int>(active.size()) == kShown) page.Paragraph(absl::StrCat("The ", kShown, " least recently changed."));
  page.Section("Recent failures");
  ASSIGN_OR_RETURN(std::vector<LocalComputation> failed, store.RecentFailures(20));
  rows.clear();
  for (const LocalComputation& c : failed) rows.push_back({c.name, ago(c.updated), c.failure});
  page.Table("failures", {"computation", "failed", "reason"}, rows, "No computation has failed.");
  return page.Html();
}

void DuchyDaemon::SetPeerTarget(const std::string& duchy_id, const std::string& target) {
  state_->duchy->SetPeerTarget(duchy_id, target);
}

void DuchyDaemon::Shutdown() {
  State& s = *state_;
  if (s.shut_down) return;
  s.shut_down = true;
  s.herald->Stop();
  for (auto& mill : s.mills) mill->Stop();
  if (s.mill_work_service != nullptr) {
    s.mill_work_service->Stop();
    s.mill_work_server->Shutdown(absl::Seconds(5));
  }
  s.requisition_fulfillment_server->Shutdown(absl::Seconds(5));
  s.computation_control_server->Shutdown(absl::Seconds(5));
  for (std::thread& t : s.threads) t.join();
}

}  // namespace halo::duchy
