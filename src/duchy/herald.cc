#include "herald.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"
#include "halo/common/status_macros.h"

namespace halo::duchy {
namespace {

using api::v1::Computation;

bool IsTerminal(Computation::State state) {
  return state == Computation::SUCCEEDED || state == Computation::FAILED || state == Computation::CANCELLED;
}

// Whether the Kingdom has moved far enough for a duchy waiting at `stage`.
bool KingdomPassed(ComputationStage stage, Computation::State state) {
  switch (stage) {
    case v1::WAIT_REQUISITIONS_AND_KEY_SET:
      return state == Computation::PENDING_PARTICIPANT_CONFIRMATION || state == Computation::PENDING_COMPUTATION;
    case v1::WAIT_TO_START:
      return state == Computation::PENDING_COMPUTATION;
    default:
      return false;
  }
}

}  // namespace

absl::StatusOr<bool> ApplyKingdomState(DuchyContext& duchy, const Computation& computation) {
  auto planned = PlanFor(computation, duchy.duchy_id());
  if (!planned.ok()) return false;
  const auto& [position, plan] = *planned;
  absl::StatusOr<LocalComputation> local = duchy.store().Get(computation.name());
  if (absl::IsNotFound(local.status())) {
    if (IsTerminal(computation.state())) return false;
    v1::ComputationDetails details;
    *details.mutable_computation() = computation;
    details.set_position(position);
    LocalComputation created;
    created.name = computation.name();
    created.stage = plan.front().stage;
    created.runnable = MillRuns(plan, created.stage);
    created.details = details.SerializeAsString();
    return duchy.store().Create(created);
  }
  RETURN_IF_ERROR(local.status());
  if (local->stage == v1::COMPLETE || local->stage == v1::FAILED) return false;
  if (computation.state() == Computation::FAILED || computation.state() == Computation::CANCELLED) {
    RETURN_IF_ERROR(duchy.store().Fail(
        computation.name(), absl::StrCat("the Kingdom ended the computation: ", Computation::State_Name(computation.state()))));
    return true;
  }
  const StageStep* step = FindStep(plan, local->stage);
  if (step == nullptr || step->advance != StageStep::Advance::kKingdom ||
      !KingdomPassed(step->stage, computation.state())) {
    return false;
  }
  absl::Status moved =
      duchy.store().AdvanceWaiting(computation.name(), step->stage, step->next, MillRuns(plan, step->next),
                                   WaitAt(plan, step->next));
  // Another caller (the mill catching up, or a replayed stream) got there first.
  if (absl::IsFailedPrecondition(moved)) return false;
  RETURN_IF_ERROR(moved);
  return true;
}

void Herald::Run() {
  absl::Duration delay = absl::Milliseconds(200);
  while (!stop_.requested()) {
    absl::StatusOr<std::string> token = duchy_.store().HeraldToken();
    if (!token.ok()) {
      spdlog::error("herald: cannot read its continuation token: {}", token.status().ToString());
      stop_.WaitFor(absl::Seconds(5));
      continue;
    }
    grpc::ClientContext context;
    {
      absl::MutexLock lock(&mu_);
      if (stop_.requested()) return;
      active_ = &context;
    }
    api::v1::StreamActiveComputationsRequest request;
    request.set_continuation_token(*token);
    auto stream = duchy_.kingdom().StreamActiveComputations(&context, request);
    api::v1::StreamActiveComputationsResponse response;
    bool received = false;
    HeraldMetrics* metrics = duchy_.metrics();
    const auto heard = [metrics] {
      if (metrics != nullptr) metrics->last_contact.Set({}, absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
    };
    while (stream->Read(&response)) {
      received = true;
      heard();
      if (metrics != nullptr && response.computation().update_time_micros() > 0) {
        metrics->lag.Observe({}, std::max(0.0, absl::ToDoubleSeconds(
                                                   absl::Now() - absl::FromUnixMicros(
                                                                     response.computation().update_time_micros()))));
      }
      absl::StatusOr<bool> applied = ApplyKingdomState(duchy_, response.computation());
      if (!applied.ok()) {
        // Not remembered as seen: the next stream replays it.
        spdlog::error("herald: {}: {}", response.computation().name(), applied.status().ToString());
        context.TryCancel();
        break;
      }
      if (*applied) on_change_();
      if (absl::Status saved = duchy_.store().SetHeraldToken(response.continuation_token()); !saved.ok()) {
        spdlog::error("herald: cannot keep its continuation token: {}", saved.ToString());
      }
    }
    const grpc::Status finished = stream->Finish();
    if (finished.ok() || finished.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) heard();
    {
      absl::MutexLock lock(&mu_);
      active_ = nullptr;
    }
    if (stop_.requested()) return;
    if (received) delay = absl::Milliseconds(200);
    if (!finished.ok() && finished.error_code() != grpc::StatusCode::DEADLINE_EXCEEDED) {
      spdlog::warn("herald: the Kingdom's stream ended: {}; again in {}", finished.error_message(),
               absl::FormatDuration(delay));
    }
    stop_.WaitFor(delay);
    delay = std::min(delay * 2, absl::Seconds(30));
  }
}

void Herald::Stop() {
  absl::MutexLock lock(&mu_);
  stop_.Request();
  if (active_ != nullptr) active_->TryCancel();
}

}  // namespace halo::duchy
