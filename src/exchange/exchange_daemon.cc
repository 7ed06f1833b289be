#include "halo/exchange/exchange_daemon.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <deque>
#include <filesystem>
#include <optional>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "halo/api/certificate_name.h"
#include "halo/api/v1/exchanges.grpc.pb.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/monitoring/metrics.h"
#include "halo/monitoring/status_page.h"
#include "halo/client/certificate_resolver.h"
#include "halo/common/confined_directory.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/exchange/exchange_storage.h"
#include "halo/exchange/workflow.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"
#include "steps.h"

namespace halo::exchange {

using api::v1::ExchangeStepAttempt;
using api::v1::ExchangeWorkflow;

struct ExchangeDaemon::State {
  config::ExchangeDaemonConfig config;
  ExchangeWorkflow::Party party = ExchangeWorkflow::PARTY_UNSPECIFIED;
  std::optional<crypto::CertificateAuthority> certificate_authority;
  std::unique_ptr<ConfinedDirectory> input_dir, output_dir;
  absl::flat_hash_set<std::string> accepted_workflows;
  uint64_t maximum_blob_bytes = 0;
  int threads = 1;
  absl::Duration poll_interval;
  // Step attempts by the step's kind and how they ended; none when null.
  monitoring::Histogram* step_time = nullptr;
  monitoring::Counter* step_attempts = nullptr;
  absl::Duration step_timeout;
  std::shared_ptr<grpc::Channel> kingdom;
  std::unique_ptr<api::v1::ExchangeStepWork::Stub> work;
  std::unique_ptr<api::v1::Certificates::Stub> certificate_registry;
  std::unique_ptr<client::CertificateResolver> certificates;
  std::unique_ptr<ExchangeStorage> private_storage;
  std::unique_ptr<ExchangeStorage> shared_files;
  std::unique_ptr<SignedStorage> shared_storage;
  std::atomic<bool> stopping{false};
  mutable absl::Mutex mutex;
  Counts counts ABSL_GUARDED_BY(mutex);
  // The last step attempts it ran, newest last, for the status page.
  struct Ran {
    std::string attempt, step_id, kind, outcome, message;
    absl::Duration took;
    absl::Time ended;
  };
  std::deque<Ran> recent ABSL_GUARDED_BY(mutex);
  std::vector<std::thread> workers;

  void Sleep(absl::Duration duration) {
    const absl::Time until = absl::Now() + duration;
    while (!stopping.load() && absl::Now() < until) absl::SleepFor(std::min(absl::Milliseconds(50), until - absl::Now()));
  }
  void Work();
  absl::StatusOr<std::string> RegisterCertificate(const crypto::Certificate& certificate);
  void Run(const api::v1::ClaimReadyExchangeStepResponse& claimed);
  absl::Status RunStep(const api::v1::ClaimReadyExchangeStepResponse& claimed);
};

void ExchangeDaemon::State::Work() {
  absl::Duration backoff = poll_interval;
  while (!stopping.load()) {
    absl::StatusOr<api::v1::ClaimReadyExchangeStepResponse> claimed =
        net::Call(*work, &api::v1::ExchangeStepWork::Stub::ClaimReadyExchangeStep,
                  api::v1::ClaimReadyExchangeStepRequest(), "the Kingdom's ClaimReadyExchangeStep");
    if (!claimed.ok()) {
      spdlog::warn("exchange daemon {}: {}; again in {}", config.party(), std::string(claimed.status().message()),
                   absl::FormatDuration(backoff));
      Sleep(backoff);
      backoff = std::min(backoff * 2, absl::Minutes(1));
      continue;
    }
    backoff = poll_interval;
    if (!claimed->has_step()) {
      Sleep(poll_interval);
      continue;
    }
    Run(*claimed);
  }
}

absl::StatusOr<std::string> ExchangeDaemon::State::RegisterCertificate(const crypto::Certificate& certificate) {
  api::v1::CreateCertificateRequest request;
  request.set_parent(config.party());
  request.mutable_certificate()->set_x509_der(certificate.ToDer());
  ASSIGN_OR_RETURN(api::v1::Certificate created,
                   net::Call(*certificate_registry, &api::v1::Certificates::Stub::CreateCertificate, request,
                             "the Kingdom's CreateCertificate"));
  return created.name();
}

absl::Status ExchangeDaemon::State::RunStep(const api::v1::ClaimReadyExchangeStepResponse& claimed) {
  const auto& recurring = claimed.recurring_exchange();
  const std::string hash = WorkflowSha256(recurring.workflow());
  if (!accepted_workflows.contains(hash)) {
    return absl::PermissionDeniedError(
        absl::StrCat(config.party(), " has not agreed to run the workflow of ", recurring.name(), ": its SHA-256 ",
                     hash, " is not in exchange_daemon.accepted_workflow_sha256"));
  }
  RETURN_IF_ERROR(ValidateWorkflow(recurring.workflow()));
  const int index = claimed.step().step_index();
  if (index < 0 || index >= recurring.workflow().steps_size()) {
    return absl::InvalidArgumentError(absl::StrCat("step index ", index, " is not in the workflow"));
  }
  const ExchangeWorkflow::Step& step = recurring.workflow().steps(index);
  if (step.party() != party) {
    return absl::InvalidArgumentError(absl::StrCat("step \"", step.step_id(), "\" belongs to ",
                                                   ExchangeWorkflow::Party_Name(step.party()), ", not to ",
                                                   config.party()));
  }
  StepContext context;
  context.workflow = &recurring.workflow();
  context.step = &step;
  context.blob_prefix = absl::StrCat(recurring.name().substr(recurring.name().find('/') + 1), "/",
                                     claimed.exchange().date(), "/");
  context.private_storage = private_storage.get();
  context.shared_storage = shared_storage.get();
  context.data_provider = recurring.data_provider();
  context.model_provider = recurring.model_provider();
  context.input_dir = input_dir.get();
  context.output_dir = output_dir.get();
  context.maximum_blob_bytes = maximum_blob_bytes;
  context.party = config.party();
  if (certificate_authority.has_value()) context.certificate_authority = &*certificate_authority;
  context.register_certificate = [this](const crypto::Certificate& c) { return RegisterCertificate(c); };
  context.threads = threads;
  context.deadline = absl::Now() + step_timeout;
  context.cancelled = &stopping;
  return RunExchangeStep(context);
}

void ExchangeDaemon::State::Run(const api::v1::ClaimReadyExchangeStepResponse& claimed) {
  const std::string& attempt = claimed.attempt().name();
  const absl::Time began = absl::Now();
  // The lease is renewed at a third of its length while the step runs.
  const absl::Duration lease =
      absl::Microseconds(claimed.attempt().lease_expiry_micros() - claimed.attempt().start_time_micros());
  absl::Notification done;
  std::thread heartbeat([&] {
    while (!done.WaitForNotificationWithTimeout(std::max(lease / 3, absl::Milliseconds(100)))) {
      api::v1::RenewExchangeStepAttemptRequest renew;
      renew.set_name(attempt);
      absl::Status renewed = net::Call(*work, &api::v1::ExchangeStepWork::Stub::RenewExchangeStepAttempt, renew,
                                       "the Kingdom's RenewExchangeStepAttempt")
                                 .status();
      if (!renewed.ok()) spdlog::warn("exchange daemon {}: {}", config.party(), std::string(renewed.message()));
    }
  });
  const absl::Status status = RunStep(claimed);
  done.Notify();
  heartbeat.join();
  if (absl::IsCancelled(status) && stopping.load()) {
    spdlog::info("exchange daemon {}: left {} unfinished; it is tried again when its lease runs out",
                 config.party(), attempt);
    return;
  }
  api::v1::FinishExchangeStepAttemptRequest finish;
  finish.set_name(attempt);
  const bool for_good = absl::IsInvalidArgument(status) || absl::IsPermissionDenied(status) ||
                        absl::IsResourceExhausted(status) || absl::IsDataLoss(status);
  finish.set_state(status.ok() ? ExchangeStepAttempt::SUCCEEDED
                               : for_good ? ExchangeStepAttempt::FAILED_STEP : ExchangeStepAttempt::FAILED);
  const absl::Duration took = absl::Now() - began;
  const auto& steps = claimed.recurring_exchange().workflow().steps();
  const int index = claimed.step().step_index();
  const std::string kind = index >= 0 && index < steps.size() ? StepKindName(steps.Get(index)) : "unknown";
  finish.set_message(status.ok() ? absl::StrCat("done in ", absl::FormatDuration(took)) : std::string(status.message()));
  if (step_attempts != nullptr) {
    const std::string outcome = status.ok() ? "succeeded" : for_good ? "failed_step" : "failed";
    step_attempts->Increment({kind, outcome});
    step_time->Observe({kind, outcome}, absl::ToDoubleSeconds(took));
  }
  if (status.ok()) {
    spdlog::info("exchange daemon {}: {} ({}) done in {:.3f} s", config.party(), attempt, claimed.step().step_id(),
                 absl::ToDoubleSeconds(took));
  } else {
    spdlog::warn("exchange daemon {}: {} ({}) failed{}: {}", config.party(), attempt, claimed.step().step_id(),
                 for_good ? " for good" : "", status.ToString());
  }
  absl::StatusOr<ExchangeStepAttempt> finished =
      net::Call(*work, &api::v1::ExchangeStepWork::Stub::FinishExchangeStepAttempt, finish,
                "the Kingdom's FinishExchangeStepAttempt");
  if (!finished.ok()) {
    spdlog::warn("exchange daemon {}: {}", config.party(), std::string(finished.status().message()));
  }
  absl::MutexLock lock(&mutex);
  ++(status.ok() ? counts.succeeded : counts.failed);
  recent.push_back({attempt, claimed.step().step_id(), kind,
                    status.ok() ? "succeeded" : for_good ? "failed for good" : "failed, to be retried",
                    status.ok() ? "" : std::string(status.message()), took, absl::Now()});
  if (recent.size() > 50) recent.pop_front();
}

ExchangeDaemon::ExchangeDaemon(std::unique_ptr<State> state) : state_(std::move(state)) {}

ExchangeDaemon::~ExchangeDaemon() { Shutdown(); }

absl::StatusOr<std::unique_ptr<ExchangeDaemon>> ExchangeDaemon::Start(ExchangeDaemonOptions options) {
  const config::ExchangeDaemonConfig& config = options.config;
  auto state = std::make_unique<State>();
  State& s = *state;
  s.config = config;
  if (absl::StartsWith(config.party(), "dataProviders/")) {
    s.party = ExchangeWorkflow::DATA_PROVIDER;
  } else if (absl::StartsWith(config.party(), "modelProviders/")) {
    s.party = ExchangeWorkflow::MODEL_PROVIDER;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("exchange_daemon.party: \"", config.party(),
                                                   "\" is neither dataProviders/{id} nor modelProviders/{id}"));
  }
  ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromPem(options.tls.certificate_pem));
  if (certificate.SubjectName() != config.party()) {
    return absl::InvalidArgumentError(absl::StrCat("exchange_daemon.tls.certificate_file: the certificate is for \"",
                                                   certificate.SubjectName(), "\", not ", config.party()));
  }
  ASSIGN_OR_RETURN(crypto::TrustedRoots trusted_roots, crypto::TrustedRoots::FromPem(options.tls.trusted_ca_pem));
  RETURN_IF_ERROR(api::CheckContentSigner(options.signer, config.party(), "exchange_daemon.signing"));
  if (!options.certificate_authority_pem.empty()) {
    absl::StatusOr<crypto::CertificateAuthority> ca =
        crypto::CertificateAuthority::Load(options.certificate_authority_pem, options.certificate_authority_key_pem);
    if (!ca.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("exchange_daemon.certificate_authority: ", ca.status().message()));
    }
    // The Kingdom accepts a party's certificates only from the root it
    // registered for that party: the one that issued its TLS certificate.
    if (absl::Status own = certificate.VerifyIssuedBy(ca->certificate(), absl::Now()); !own.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "exchange_daemon.certificate_authority: not the root that issued this party's certificate "
          "(tls.certificate_file), so the Kingdom would refuse the certificates it issues: ",
          own.message()));
    }
    s.certificate_authority = *std::move(ca);
  }
  if (config.accepted_workflow_sha256().empty()) {
    return absl::InvalidArgumentError(
        "exchange_daemon.accepted_workflow_sha256: no workflow is accepted, so no step could run");
  }
  for (const std::string& hash : config.accepted_workflow_sha256()) {
    if (hash.size() != 64 || hash.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("exchange_daemon.accepted_workflow_sha256: \"", hash,
                                                     "\" is not 64 lowercase hex digits"));
    }
    s.accepted_workflows.insert(hash);
  }
  if (config.maximum_blob_mib() < 0) {
    return absl::InvalidArgumentError("exchange_daemon.maximum_blob_mib: must not be negative");
  }
  s.maximum_blob_bytes = static_cast<uint64_t>(config.maximum_blob_mib() > 0 ? config.maximum_blob_mib() : 1024)
                         << 20;
  const std::filesystem::path data(options.data_dir);
  ASSIGN_OR_RETURN(s.input_dir,
                   ConfinedDirectory::Open(config.input_dir().empty() ? (data / "input").string() : config.input_dir()));
  ASSIGN_OR_RETURN(s.output_dir, ConfinedDirectory::Open(config.output_dir().empty() ? (data / "output").string()
                                                                                     : config.output_dir()));
  if (config.private_storage() == config::ExchangeDaemonConfig::ROCKSDB) {
    ASSIGN_OR_RETURN(s.private_storage, RocksDbStorage((data / "private.rocksdb").string()));
  } else {
    ASSIGN_OR_RETURN(s.private_storage, FileSystemStorage((data / "private").string()));
  }
  s.kingdom = net::OpenChannel(config.kingdom_public_api_target(), options.tls, net::kKingdomSubject, options.metrics);
  if (options.metrics != nullptr) {
    s.step_attempts = &options.metrics->AddCounter(
        "halo_cmm_exchange_step_attempts_total",
        "Exchange step attempts this daemon ran, by the step's kind and how they ended: succeeded, failed (tried "
        "again) or failed_step (the exchange fails)",
        {"step_kind", "outcome"});
    s.step_time = &options.metrics->AddHistogram("halo_cmm_exchange_step_time_seconds",
                                                 "Wall time of an exchange step attempt, by kind and outcome",
                                                 {"step_kind", "outcome"}, monitoring::StageSecondsBuckets());
  }
  s.work = api::v1::ExchangeStepWork::NewStub(s.kingdom);
  s.certificate_registry = api::v1::Certificates::NewStub(s.kingdom);
  s.certificates = std::make_unique<client::CertificateResolver>(s.kingdom, trusted_roots);
  ASSIGN_OR_RETURN(s.shared_files, FileSystemStorage(config.shared_storage_dir()));
  client::CertificateResolver* resolver = s.certificates.get();
  s.shared_storage = std::make_unique<SignedStorage>(
      *s.shared_files, options.signer->key, options.signer->name,
      [resolver](const std::string& name) { return resolver->Resolve(name); });
  s.threads = ThreadsOrCores(config.parallelism());
  s.poll_interval = absl::Milliseconds(config.poll_interval_ms() > 0 ? config.poll_interval_ms() : 1000);
  s.step_timeout = absl::Seconds(config.step_timeout_seconds() > 0 ? config.step_timeout_seconds() : 600);
  const int workers = config.max_parallel_steps() > 0 ? config.max_parallel_steps() : 2;
  for (int i = 0; i < workers; ++i) s.workers.emplace_back([&s] { s.Work(); });
  spdlog::info("exchange daemon for {} started with {} workers; private storage in {}, shared in {}", config.party(),
               workers, data.string(), config.shared_storage_dir());
  return std::unique_ptr<ExchangeDaemon>(new ExchangeDaemon(std::move(state)));
}

void ExchangeDaemon::Shutdown() {
  if (state_ == nullptr) return;
  state_->stopping = true;
  for (std::thread& worker : state_->workers) {
    if (worker.joinable()) worker.join();
  }
}

absl::StatusOr<std::string> ExchangeDaemon::StatusPage() const {
  const State& s = *state_;
  monitoring::StatusPage page(absl::StrCat("exchange daemon of ", s.config.party()));
  const absl::Time now = absl::Now();
  std::vector<std::vector<std::string>> rows;
  absl::MutexLock lock(&s.mutex);
  page.Section("Exchange steps");
  page.Paragraph(absl::StrCat(s.counts.succeeded, " step attempts succeeded and ", s.counts.failed,
                              " failed since the daemon started"));
  for (auto it = s.recent.rbegin(); it != s.recent.rend(); ++it) {
    rows.push_back({it->attempt, it->step_id, it->kind, it->outcome,
                    monitoring::HumanDuration(absl::ToDoubleSeconds(it->took)),
                    monitoring::HumanDuration(absl::ToDoubleSeconds(now - it->ended)) + " ago", it->message});
  }
  page.Table("steps", {"attempt", "step", "kind", "outcome", "took", "ended", "message"}, rows,
             "No step has run since the daemon started.");
  return page.Html();
}

ExchangeDaemon::Counts ExchangeDaemon::counts() const {
  absl::MutexLock lock(&state_->mutex);
  return state_->counts;
}

}  // namespace halo::exchange
