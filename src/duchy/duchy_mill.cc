#include "halo/duchy/duchy_mill.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/certificate.h"
#include "halo/net/peer.h"
#include "mill.h"
#include "mill_work_service.h"
#include "spdlog/spdlog.h"

namespace halo::duchy {
namespace {

std::vector<ComputationStage> StagesOf(const config::DuchyMillConfig& config) {
  std::vector<ComputationStage> stages;
  for (int work : config.prioritised()) {
    switch (work) {
      case config::DuchyMillConfig::LIQUID_LEGIONS_V2:
        stages.insert(stages.end(), {v1::INITIALIZATION_PHASE, v1::CONFIRMATION_PHASE, v1::SETUP_PHASE,
                                     v1::EXECUTION_PHASE_ONE, v1::EXECUTION_PHASE_TWO, v1::EXECUTION_PHASE_THREE});
        break;
      case config::DuchyMillConfig::HONEST_MAJORITY_SHARE_SHUFFLE:
        stages.insert(stages.end(), {v1::INITIALIZED, v1::SHUFFLE_PHASE, v1::AGGREGATION_PHASE});
        break;
      default:
        break;
    }
  }
  return stages;
}

}  // namespace

struct DuchyMill::State {
  std::string name;
  std::unique_ptr<MillWork> work;
  std::unique_ptr<Mill> mill;
  std::thread thread;
  bool shut_down = false;
};

absl::StatusOr<std::unique_ptr<DuchyMill>> DuchyMill::Start(DuchyMillOptions options) {
  const config::DuchyMillConfig& config = options.config;
  ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromPem(options.tls.certificate_pem));
  const std::string subject = certificate.SubjectName();
  if (!IsMillOf(subject, config.duchy_id())) {
    return absl::InvalidArgumentError(absl::StrCat("duchy_mill.tls.certificate_file: the certificate is for \"",
                                                   subject, "\", not a mill of duchy ", config.duchy_id(), " (",
                                                   MillSubjectPrefix(config.duchy_id()), "NAME)"));
  }
  for (int work : config.prioritised()) {
    if (work == config::DuchyMillConfig::WORK_UNSPECIFIED) {
      return absl::InvalidArgumentError("duchy_mill.prioritised: WORK_UNSPECIFIED names no work");
    }
  }
  if (config.lease_seconds() != 0 && (config.lease_seconds() < 5 || config.lease_seconds() > 600)) {
    return absl::InvalidArgumentError(
        absl::StrCat("duchy_mill.lease_seconds is ", config.lease_seconds(), "; it must be from 5 to 600"));
  }
  const absl::Duration lease = config.lease_seconds() > 0 ? absl::Seconds(config.lease_seconds()) : options.lease;
  auto state = std::make_unique<State>();
  state->name = subject;
  state->work = RemoteMillWork(
      net::OpenChannel(config.herald_target(), options.tls, net::DuchySubject(config.duchy_id()), options.metrics),
      config.duchy_id());
  const int parallelism = ThreadsOrCores(config.parallelism());
  state->mill = std::make_unique<Mill>(
      *state->work, MillOptions{.owner = subject,
                                .lease = lease,
                                .first_retry = options.first_retry,
                                .max_attempts = config.max_stage_attempts() > 0 ? config.max_stage_attempts() : 10,
                                .parallelism = parallelism,
                                .prioritised = StagesOf(config),
                                // The herald holds a claim request open until there is work.
                                .idle_wait = absl::ZeroDuration(),
                                .replay_seed = options.replay_seed,
                                .metrics = options.metrics});
  state->thread = std::thread([m = state->mill.get()] { m->Run(); });
  spdlog::info("{}: claiming work from its herald at {} with {} thread(s)", subject, config.herald_target(),
               parallelism);
  return std::unique_ptr<DuchyMill>(new DuchyMill(std::move(state)));
}

DuchyMill::DuchyMill(std::unique_ptr<State> state) : state_(std::move(state)) {}
DuchyMill::~DuchyMill() { Shutdown(); }

const std::string& DuchyMill::name() const { return state_->name; }

void DuchyMill::Shutdown() {
  if (state_->shut_down) return;
  state_->shut_down = true;
  state_->mill->Stop();
  state_->thread.join();
}

}  // namespace halo::duchy
