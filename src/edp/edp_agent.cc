#include "halo/edp/edp_agent.h"

#include <spdlog/spdlog.h>

#include <cmath>

#include <deque>
#include <filesystem>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "halo/dp/limits.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"
#include "halo/monitoring/metrics.h"
#include "halo/monitoring/status_page.h"
#include "refusal.h"
#include "requisition_work.h"

namespace halo::edp {

using api::v1::Requisition;

namespace {

// The least budget (rho) left in any bucket of each measurement consumer.
std::map<std::string, double> LeastRhoLeft(const std::vector<PrivacyBudgetLedger::BucketUse>& usage) {
  std::map<std::string, double> least;
  for (const auto& bucket : usage) {
    auto [it, added] = least.emplace(bucket.measurement_consumer, bucket.rho_left);
    if (!added) it->second = std::min(it->second, bucket.rho_left);
  }
  return least;
}

}  // namespace

struct EdpAgent::State {
  AgentContext agent;
  config::EdpAgentConfig config;
  absl::Duration first_retry;
  std::unique_ptr<api::v1::Requisitions::Stub> requisitions;

  mutable absl::Mutex mutex;
  bool stopping ABSL_GUARDED_BY(mutex) = false;
  std::deque<Requisition> queue ABSL_GUARDED_BY(mutex);
  // Requisitions queued or in progress, and those done (until the Kingdom
  // stops listing them): not to be taken again.
  absl::flat_hash_map<std::string, absl::Time> taken ABSL_GUARDED_BY(mutex);
  struct Retry {
    int attempts = 0;
    absl::Time after;
  };
  absl::flat_hash_map<std::string, Retry> retries ABSL_GUARDED_BY(mutex);
  Counts counts ABSL_GUARDED_BY(mutex);
  // The last requisitions it ended or failed at, newest last, for the
  // status page.
  struct Outcome {
    std::string requisition;
    std::string outcome;
    std::string why;
    absl::Time when;
  };
  std::deque<Outcome> recent ABSL_GUARDED_BY(mutex);
  void Remember(Outcome outcome) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) {
    recent.push_back(std::move(outcome));
    if (recent.size() > 50) recent.pop_front();
  }
  // Requisitions by how they ended; justification empty for fulfilled.
  monitoring::Counter* outcomes = nullptr;
  monitoring::Counter* failed_attempts = nullptr;
  absl::Notification registered;
  std::thread poller;
  std::vector<std::thread> workers;

  bool Stopping() const {
    absl::MutexLock lock(&mutex);
    return stopping;
  }
  // Sleeps up to `duration`, waking early at shutdown.
  void Sleep(absl::Duration duration) {
    absl::MutexLock lock(&mutex);
    mutex.AwaitWithTimeout(absl::Condition(&stopping), duration);
  }

  absl::Status RegisterEventGroups();
  void Poll();
  void Work();
  void Handle(const Requisition& requisition);
};

absl::Status EdpAgent::State::RegisterEventGroups() {
  auto stub = api::v1::EventGroups::NewStub(agent.kingdom);
  std::map<std::string, api::v1::EventGroup> existing;  // by reference id
  std::string page;
  do {
    api::v1::ListEventGroupsRequest list;
    list.set_parent(agent.data_provider);
    list.set_page_token(page);
    ASSIGN_OR_RETURN(api::v1::ListEventGroupsResponse listed,
                     net::Call(*stub, &api::v1::EventGroups::Stub::ListEventGroups, list,
                               "the Kingdom's ListEventGroups"));
    for (const auto& group : listed.event_groups()) existing[group.event_group_reference_id()] = group;
    page = listed.next_page_token();
  } while (!page.empty());
  std::map<std::string, RegisteredEventGroup> registered_groups;
  for (const config::EventGroupConfig& wanted : config.event_groups()) {
    api::v1::EventGroup group;
    auto found = existing.find(wanted.reference_id());
    if (found != existing.end()) group = found->second;
    const bool same = found != existing.end() && group.measurement_consumer() == wanted.measurement_consumer() &&
                      group.brand_name() == wanted.brand_name() && group.campaign_name() == wanted.campaign_name();
    group.set_event_group_reference_id(wanted.reference_id());
    group.set_measurement_consumer(wanted.measurement_consumer());
    group.set_brand_name(wanted.brand_name());
    group.set_campaign_name(wanted.campaign_name());
    if (found == existing.end()) {
      api::v1::CreateEventGroupRequest create;
      create.set_parent(agent.data_provider);
      *create.mutable_event_group() = group;
      create.set_request_id(absl::StrCat("register ", wanted.reference_id()));
      ASSIGN_OR_RETURN(group, net::Call(*stub, &api::v1::EventGroups::Stub::CreateEventGroup, create,
                                        absl::StrCat("the Kingdom's CreateEventGroup of ", wanted.reference_id())));
      spdlog::info("{}: registered event group {} as {}", agent.data_provider, wanted.reference_id(), group.name());
    } else if (!same) {
      api::v1::UpdateEventGroupRequest update;
      *update.mutable_event_group() = group;
      ASSIGN_OR_RETURN(group, net::Call(*stub, &api::v1::EventGroups::Stub::UpdateEventGroup, update,
                                        absl::StrCat("the Kingdom's UpdateEventGroup of ", group.name())));
      spdlog::info("{}: updated event group {} ({})", agent.data_provider, wanted.reference_id(), group.name());
    }
    registered_groups[group.name()] = {wanted.reference_id(), wanted.measurement_consumer()};
  }
  agent.event_groups = std::move(registered_groups);
  return absl::OkStatus();
}

void EdpAgent::State::Poll() {
  absl::Duration backoff = first_retry;
  while (!Stopping() && !registered.HasBeenNotified()) {
    absl::Status status = RegisterEventGroups();
    if (status.ok()) {
      registered.Notify();
      break;
    }
    spdlog::warn("{}: cannot register event groups yet: {}", agent.data_provider, std::string(status.message()));
    Sleep(backoff);
    backoff = std::min(backoff * 2, absl::Minutes(1));
  }
  while (!Stopping()) {
    api::v1::ListRequisitionsRequest list;
    list.set_parent(agent.data_provider);
    list.add_states(Requisition::UNFULFILLED);
    list.set_page_size(100);
    list.set_wait_milliseconds(5000);
    absl::StatusOr<api::v1::ListRequisitionsResponse> listed =
        net::Call(*requisitions, &api::v1::Requisitions::Stub::ListRequisitions, list,
                  "the Kingdom's ListRequisitions", absl::Seconds(20));
    if (!listed.ok()) {
      spdlog::warn("{}: {}", agent.data_provider, std::string(listed.status().message()));
      Sleep(absl::Seconds(2));
      continue;
    }
    int added = 0;
    {
      absl::MutexLock lock(&mutex);
      const absl::Time now = absl::Now();
      for (auto it = taken.begin(); it != taken.end();) {
        // Done long ago and listed no more; or still listed, so keep it.
        if (now - it->second > absl::Minutes(30)) {
          taken.erase(it++);
        } else {
          ++it;
        }
      }
      for (const Requisition& r : listed->requisitions()) {
        if (taken.contains(r.name())) continue;
        auto retry = retries.find(r.name());
        if (retry != retries.end() && retry->second.after > now) continue;
        // An MPC requisition is ready once every duchy has given its key.
        if (r.protocol_config().protocol() != api::v1::DIRECT &&
            r.duchies_size() < r.protocol_config().duchies_size()) {
          continue;
        }
        taken[r.name()] = absl::InfiniteFuture();
        queue.push_back(r);
        ++added;
      }
    }
    if (added == 0) Sleep(absl::Milliseconds(500));
  }
}

void EdpAgent::State::Work() {
  while (true) {
    Requisition requisition;
    {
      absl::MutexLock lock(&mutex);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex) { return stopping || !queue.empty(); };
      mutex.Await(absl::Condition(&ready));
      if (stopping) return;
      requisition = std::move(queue.front());
      queue.pop_front();
    }
    Handle(requisition);
  }
}

void EdpAgent::State::Handle(const Requisition& requisition) {
  const std::string& name = requisition.name();
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(VerifiedRequisition verified, VerifyRequisition(agent, requisition));
    return FulfilRequisition(agent, verified);
  }();
  const std::optional<Requisition::Refusal> refusal = RefusalOf(status);
  const std::string justification =
      refusal.has_value() ? Requisition::Refusal::Justification_Name(refusal->justification()) : "";
  if (refusal.has_value()) {
    api::v1::RefuseRequisitionRequest refuse;
    refuse.set_name(name);
    *refuse.mutable_refusal() = *refusal;
    spdlog::warn("{}: refusing {} ({}): {}", agent.data_provider, name, justification, refusal->message());
    status = net::Call(*requisitions, &api::v1::Requisitions::Stub::RefuseRequisition, refuse,
                       "the Kingdom's RefuseRequisition")
                 .status();
  }
  absl::MutexLock lock(&mutex);
  if (status.ok()) {
    taken[name] = absl::Now();
    retries.erase(name);
    const std::string outcome = refusal.has_value() ? "refused" : "fulfilled";
    if (outcomes != nullptr) outcomes->Increment({outcome, justification});
    Remember({name, outcome, refusal.has_value() ? absl::StrCat(justification, ": ", refusal->message()) : "",
              absl::Now()});
    if (refusal.has_value()) {
      ++counts.refused;
    } else {
      ++counts.fulfilled;
      spdlog::info("{}: fulfilled {}", agent.data_provider, name);
    }
    return;
  }
  ++counts.failed_attempts;
  Remember({name, "failed, to be retried", std::string(status.message()), absl::Now()});
  if (failed_attempts != nullptr) failed_attempts->Increment({});
  Retry& retry = retries[name];
  const absl::Duration wait = std::min(first_retry * (1 << std::min(retry.attempts, 20)), absl::Minutes(5));
  retry.attempts += 1;
  retry.after = absl::Now() + wait;
  taken.erase(name);
  spdlog::warn("{}: {} failed (attempt {}), retrying in {}: {}", agent.data_provider, name, retry.attempts,
               absl::FormatDuration(wait), std::string(status.message()));
}

namespace {

// The privacy settings with their defaults; refuses a negative or
// out-of-range one, naming it.
absl::StatusOr<PrivacyLimits> LimitsOf(const config::PrivacyGuardConfig& c) {
  for (const auto& [value, name] : {std::pair{c.maximum_epsilon(), "maximum_epsilon"},
                                    std::pair{c.maximum_delta(), "maximum_delta"},
                                    std::pair{c.budget_epsilon(), "budget_epsilon"},
                                    std::pair{c.budget_delta(), "budget_delta"}}) {
    if (!(value >= 0) || !std::isfinite(value)) {
      return absl::InvalidArgumentError(absl::StrCat("edp_agent.privacy.", name, ": must be >= 0, got ", value));
    }
  }
  for (const auto& [value, name] : {std::pair{c.maximum_delta(), "maximum_delta"}, std::pair{c.budget_delta(), "budget_delta"}}) {
    if (value >= 1) return absl::InvalidArgumentError(absl::StrCat("edp_agent.privacy.", name, ": must be below 1, got ", value));
  }
  for (const auto& [value, name] : {std::pair{c.maximum_frequency(), "maximum_frequency"},
                                    std::pair{c.maximum_impressions_per_user(), "maximum_impressions_per_user"},
                                    std::pair{c.maximum_watch_seconds_per_user(), "maximum_watch_seconds_per_user"}}) {
    if (value < 0) return absl::InvalidArgumentError(absl::StrCat("edp_agent.privacy.", name, ": must be >= 0, got ", value));
  }
  if (c.maximum_frequency() > dp::kMaxFrequency) {
    return absl::InvalidArgumentError(absl::StrCat("edp_agent.privacy.maximum_frequency: at most ", dp::kMaxFrequency,
                                                   ", got ", c.maximum_frequency()));
  }
  if (c.age_field().empty() != c.gender_field().empty()) {
    return absl::InvalidArgumentError("edp_agent.privacy: age_field and gender_field are set together or not at all");
  }
  PrivacyLimits limits;
  if (c.maximum_epsilon() > 0) limits.maximum_epsilon = c.maximum_epsilon();
  if (c.maximum_delta() > 0) limits.maximum_delta = c.maximum_delta();
  if (c.maximum_frequency() > 0) limits.maximum_frequency = c.maximum_frequency();
  if (c.maximum_impressions_per_user() > 0) limits.maximum_impressions_per_user = c.maximum_impressions_per_user();
  if (c.maximum_watch_seconds_per_user() > 0) limits.maximum_watch_seconds_per_user = c.maximum_watch_seconds_per_user();
  return limits;
}

}  // namespace

std::string PrivacyBudgetPath(const std::string& data_dir) {
  return (std::filesystem::path(data_dir) / "privacy_budget.db").string();
}

dp::PrivacyBudget PrivacyBudgetOf(const config::PrivacyGuardConfig& privacy) {
  return {privacy.budget_epsilon() > 0 ? privacy.budget_epsilon() : 10.0,
          privacy.budget_delta() > 0 ? privacy.budget_delta() : 1e-6};
}

EdpAgent::EdpAgent(std::unique_ptr<State> state) : state_(std::move(state)) {}

EdpAgent::~EdpAgent() { Shutdown(); }

absl::StatusOr<std::unique_ptr<EdpAgent>> EdpAgent::Start(EdpAgentOptions options) {
  const config::EdpAgentConfig& config = options.config;
  ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromPem(options.tls.certificate_pem));
  if (certificate.SubjectName() != config.data_provider()) {
    return absl::InvalidArgumentError(absl::StrCat("edp_agent.tls.certificate_file: the certificate is for \"",
                                                   certificate.SubjectName(), "\", not ", config.data_provider()));
  }
  ASSIGN_OR_RETURN(crypto::TrustedRoots trusted_roots, crypto::TrustedRoots::FromPem(options.tls.trusted_ca_pem));
  auto state = std::make_unique<State>();
  State& s = *state;
  s.config = config;
  s.first_retry = options.first_retry;
  AgentContext& agent = s.agent;
  agent.data_provider = config.data_provider();
  RETURN_IF_ERROR(api::CheckContentSigner(options.signer, config.data_provider(), "edp_agent.signing"));
  agent.certificate = options.signer->name;
  agent.signing_key = options.signer->key;
  agent.encryption_key = options.encryption_key;
  agent.tls = options.tls;
  agent.metrics = options.metrics;
  agent.kingdom = net::OpenChannel(config.kingdom_public_api_target(), options.tls, net::kKingdomSubject, options.metrics);
  agent.certificates = std::make_unique<client::CertificateResolver>(agent.kingdom, trusted_roots);
  for (const auto& duchy : config.duchies()) agent.duchy_targets[duchy.duchy_id()] = duchy.requisition_fulfillment_target();
  agent.events_dir = config.events_dir().empty() ? (std::filesystem::path(options.data_dir) / "events").string()
                                                 : config.events_dir();
  std::error_code error;
  std::filesystem::create_directories(agent.events_dir, error);
  if (error) {
    return absl::FailedPreconditionError(absl::StrCat("cannot create ", agent.events_dir, ": ", error.message()));
  }
  agent.replay_seed = options.replay_seed;
  ASSIGN_OR_RETURN(agent.limits, LimitsOf(config.privacy()));
  agent.demographics = {config.privacy().age_field(), config.privacy().gender_field()};
  std::error_code made;
  std::filesystem::create_directories(options.data_dir, made);
  if (made) return absl::FailedPreconditionError(absl::StrCat("cannot create ", options.data_dir, ": ", made.message()));
  ASSIGN_OR_RETURN(agent.budget, PrivacyBudgetLedger::Open(PrivacyBudgetPath(options.data_dir),
                                                           PrivacyBudgetOf(config.privacy())));
  agent.parallelism = ThreadsOrCores(config.encryption_parallelism());
  if (options.metrics != nullptr) {
    s.outcomes = &options.metrics->AddCounter(
        "halo_cmm_edp_requisitions_total",
        "Requisitions this agent ended: fulfilled, or refused with the refusal's justification",
        {"outcome", "justification"});
    s.failed_attempts = &options.metrics->AddCounter(
        "halo_cmm_edp_requisition_failed_attempts_total",
        "Attempts at a requisition that failed for want of the Kingdom or a duchy, and will be retried");
    PrivacyBudgetLedger& budget = *agent.budget;
    options.metrics->AddGaugeReader(
        "halo_cmm_edp_privacy_budget_rho_left", "The least privacy budget (rho) left in any bucket, by measurement consumer",
        {"measurement_consumer"}, [&budget]() -> absl::StatusOr<std::vector<std::pair<monitoring::LabelValues, double>>> {
          ASSIGN_OR_RETURN(std::vector<PrivacyBudgetLedger::BucketUse> usage, budget.Usage());
          std::vector<std::pair<monitoring::LabelValues, double>> values;
          for (const auto& [consumer, rho] : LeastRhoLeft(usage)) values.push_back({{consumer}, rho});
          return values;
        });
  }
  s.requisitions = api::v1::Requisitions::NewStub(agent.kingdom);
  const int workers = config.max_concurrent_requisitions() > 0 ? config.max_concurrent_requisitions() : 2;
  for (int i = 0; i < workers; ++i) s.workers.emplace_back([&s] { s.Work(); });
  s.poller = std::thread([&s] { s.Poll(); });
  spdlog::info("edp agent for {} started as {}, events in {}", agent.data_provider, agent.certificate,
               agent.events_dir);
  return std::unique_ptr<EdpAgent>(new EdpAgent(std::move(state)));
}

absl::StatusOr<std::string> EdpAgent::StatusPage() const {
  const State& s = *state_;
  monitoring::StatusPage page(absl::StrCat("EDP agent of ", s.agent.data_provider));
  const absl::Time now = absl::Now();
  std::vector<std::vector<std::string>> rows;
  {
    absl::MutexLock lock(&s.mutex);
    page.Section("Requisitions");
    page.Paragraph(absl::StrCat(s.counts.fulfilled, " fulfilled, ", s.counts.refused, " refused, ",
                                s.counts.failed_attempts, " failed attempts (retried) since the agent started; ",
                                s.queue.size(), " queued"));
    for (auto it = s.recent.rbegin(); it != s.recent.rend(); ++it) {
      rows.push_back({it->requisition, it->outcome,
                      monitoring::HumanDuration(absl::ToDoubleSeconds(now - it->when)) + " ago", it->why});
    }
  }
  page.Table("requisitions", {"requisition", "outcome", "when", "why"}, rows, "No requisition yet.");
  page.Section("Privacy budget");
  const dp::PrivacyBudget& budget = s.agent.budget->budget();
  page.Paragraph(absl::StrFormat("Each bucket's budget: epsilon %g, delta %g.", budget.epsilon, budget.delta));
  ASSIGN_OR_RETURN(std::vector<PrivacyBudgetLedger::BucketUse> usage, s.agent.budget->Usage());
  rows.clear();
  const std::map<std::string, double> least = LeastRhoLeft(usage);
  std::vector<std::pair<std::string, double>> bars(least.begin(), least.end());
  page.BarChart("budget-chart", bars);
  for (const auto& u : usage) {
    rows.push_back({u.measurement_consumer,
                    absl::FormatCivilTime(absl::CivilDay(1970, 1, 1) + u.cell.day), AgeGroupName(u.cell.age_group),
                    GenderName(u.cell.gender), absl::StrCat(u.first_slice, "-", u.last_slice),
                    absl::StrFormat("%.4g", u.used.rho), absl::StrFormat("%.3g", u.delta),
                    absl::StrFormat("%.4g", u.rho_left)});
  }
  page.Table("budget", {"measurement consumer", "day", "age", "gender", "VID slices", "rho used", "delta", "rho left"},
             rows, "No budget spent yet.");
  return page.Html();
}

bool EdpAgent::AwaitRegistered(absl::Duration timeout) {
  return state_->registered.WaitForNotificationWithTimeout(timeout);
}

void EdpAgent::Shutdown() {
  if (state_ == nullptr) return;
  {
    absl::MutexLock lock(&state_->mutex);
    if (state_->stopping && !state_->poller.joinable()) return;
    state_->stopping = true;
  }
  if (state_->poller.joinable()) state_->poller.join();
  for (std::thread& worker : state_->workers) {
    if (worker.joinable()) worker.join();
  }
}

EdpAgent::Counts EdpAgent::counts() const {
  absl::MutexLock lock(&state_->mutex);
  return state_->counts;
}

}  // namespace halo::edp
