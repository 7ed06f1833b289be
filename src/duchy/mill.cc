#include "mill.h"

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/notification.h"
#include "absl/strings/str_cat.h"
#include "halo/api/protocol_version.h"
#include "halo/common/cpu_timer.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "spdlog/spdlog.h"
#include "stages.h"

namespace halo::duchy {
std::optional<std::string> OverAttempted(const LocalComputation& claimed, int max_attempts,
                                         absl::string_view duchy_id) {
  if (claimed.attempts <= max_attempts) return std::nullopt;
  return absl::StrCat("duchy ", duchy_id, " gave up ", v1::ComputationStage_Name(claimed.stage), " after ",
                      claimed.attempts - 1, " attempt(s), ",
                      claimed.last_error.empty()
                          ? "each ended by its process stopping or crashing"
                          : absl::StrCat("the last that ended in an error with: ", claimed.last_error));
}

absl::Status StageRun::SaveDetails() { return work.SaveDetails(claimed, known.details.SerializeAsString()); }

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> StageRun::ReadInputs(ComputationStage stage) {
  const absl::Time began = absl::Now();
  absl::Cleanup count = [&] { reading += absl::Now() - began; };
  ASSIGN_OR_RETURN(std::vector<StageInput> inputs, work.Inputs(claimed, stage));
  // Not hashed again: a blob's key names the digest its bytes had on
  // arrival, and the blob store checks its own checksums on every read
  // (corruption is DATA_LOSS). Read on the stage's threads: at 10M-slot
  // HMSS shares, reading one after another cost half the aggregation.
  std::vector<absl::StatusOr<std::string>> blobs = ParallelMap<absl::StatusOr<std::string>>(
      absl::MakeConstSpan(inputs), parallelism, [&](const StageInput& input) { return ReadBlob(input.blob_key); });
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    RETURN_IF_ERROR(blobs[i].status());
    out.emplace_back(inputs[i].input, *std::move(blobs[i]));
  }
  return out;
}

absl::StatusOr<std::vector<StageInput>> StageRun::ListInputs(ComputationStage stage) {
  return work.Inputs(claimed, stage);
}

absl::StatusOr<StageRun::Pieces> StageRun::OpenInput(const std::string& blob_key, uint64_t* size) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobReader> opened, work.OpenBlob(claimed, blob_key));
  if (size != nullptr) *size = opened->size();
  std::shared_ptr<storage::BlobReader> reader = std::move(opened);
  return [this, reader]() -> absl::StatusOr<std::optional<std::string>> {
    const absl::Time began = absl::Now();
    absl::StatusOr<std::optional<std::string>> piece = reader->Next();
    reading += absl::Now() - began;
    if (piece.ok() && piece->has_value()) input_bytes += (*piece)->size();
    return piece;
  };
}

absl::StatusOr<std::string> StageRun::ReadBlob(const std::string& key) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobReader> reader, work.OpenBlob(claimed, key));
  ASSIGN_OR_RETURN(std::string bytes, storage::ReadAll(*reader, key));
  input_bytes += bytes.size();
  return bytes;
}

absl::Status StageRun::WriteOutput(absl::string_view piece) {
  if (!output) return absl::InternalError(absl::StrCat(v1::ComputationStage_Name(claimed.stage), " sends no output"));
  const absl::Time began = absl::Now();
  absl::Status written = output(piece);
  storing += absl::Now() - began;
  output_bytes += piece.size();
  return written;
}

absl::Status RunClaimedStage(StageRun& run) {
  const LocalComputation& claimed = run.claimed;
  const std::string& duchy_id = run.work.duchy_id();
  const auto run_stage =
      run.known.protocol_config().protocol() == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE ? &RunHmssStage : &RunLlv2Stage;
  const absl::Time began = absl::Now();
  if (run.step.send_to >= 0) {
    // A stage's output is kept before it is sent: a retry sends the same
    // bytes, so a receiver that already has them acknowledges them again.
    ASSIGN_OR_RETURN(bool stored, run.work.HasOutput(claimed));
    if (!stored) {
      // The output is stored as the stage writes it, in pieces where the
      // stage streams it.
      ASSIGN_OR_RETURN(std::unique_ptr<MillWork::OutputWriter> writer, run.work.OpenOutput(claimed));
      run.output = [&](absl::string_view piece) { return writer->Append(piece); };
      ASSIGN_OR_RETURN(std::string output, run_stage(run));
      if (!output.empty()) RETURN_IF_ERROR(run.WriteOutput(output));
      const absl::Time computed = absl::Now();
      RETURN_IF_ERROR(writer->Commit());
      spdlog::info(
          "duchy {}: {} {} took {:.3f} s (reading inputs {:.3f} s, telling the Kingdom {:.3f} s, storing the output "
          "{:.3f} s); {} bytes for {}",
          duchy_id, claimed.name, v1::ComputationStage_Name(claimed.stage), absl::ToDoubleSeconds(absl::Now() - began),
          absl::ToDoubleSeconds(run.reading), absl::ToDoubleSeconds(run.telling_kingdom),
          absl::ToDoubleSeconds(run.storing + (absl::Now() - computed)), run.output_bytes,
          run.known.protocol_config().duchies(run.step.send_to));
    }
  } else {
    RETURN_IF_ERROR(run_stage(run).status());
    spdlog::info("duchy {}: {} {} took {:.3f} s (reading inputs {:.3f} s, telling the Kingdom {:.3f} s)", duchy_id,
                 claimed.name, v1::ComputationStage_Name(claimed.stage), absl::ToDoubleSeconds(absl::Now() - began),
                 absl::ToDoubleSeconds(run.reading), absl::ToDoubleSeconds(run.telling_kingdom));
  }
  const absl::Time finishing = absl::Now();
  absl::Status finished = run.work.Finish(claimed, run.known.details.SerializeAsString());
  run.finishing = absl::Now() - finishing;
  return finished;
}

Mill::Metrics::Metrics(monitoring::Registry& registry)
    : stage_time(registry.AddHistogram("halo_cmm_computation_stage_time_seconds",
                                       "Wall time of a stage attempt at this mill, end to end",
                                       {"computation_type", "stage"}, monitoring::StageSecondsBuckets())),
      crypto_time(registry.AddHistogram(
          "halo_cmm_computation_stage_crypto_time_seconds",
          "Wall time of a stage attempt's own work: less reading inputs, storing and sending the output, and "
          "calls to the Kingdom",
          {"computation_type", "stage"}, monitoring::StageSecondsBuckets())),
      crypto_cpu_time(registry.AddHistogram("halo_cmm_computation_stage_crypto_cpu_time_seconds",
                                            "CPU time of the mill's process while a stage attempt ran",
                                            {"computation_type", "stage"}, monitoring::StageSecondsBuckets())),
      transmission_time(registry.AddHistogram(
          "halo_cmm_computation_stage_transmission_time_seconds",
          "Time to send a stage's output to the next duchy and move the computation on",
          {"computation_type", "stage"}, monitoring::StageSecondsBuckets())),
      attempts(registry.AddCounter("halo_cmm_computation_stage_attempts_total",
                                   "Stage attempts by how they ended: succeeded, retry (will run again), failed "
                                   "(the computation failed), superseded (another mill holds the claim now)",
                                   {"computation_type", "stage", "outcome"})),
      claims_lost(registry.AddCounter("halo_cmm_mill_claims_lost_total",
                                      "Claims this mill lost while it ran the stage (its lease lapsed and "
                                      "another mill took the computation over)")) {}

absl::Status Mill::RunStage(const LocalComputation& claimed, StageAttempt& attempt) {
  ASSIGN_OR_RETURN(KnownComputation known, Know(claimed));
  if (const int32_t version = known.protocol_config().protocol_version(); version != api::kProtocolVersion) {
    return absl::InvalidArgumentError(absl::StrCat(claimed.name, " is for protocol version ", version, "; duchy ",
                                                   work_.duchy_id(), " speaks version ", api::kProtocolVersion));
  }
  const StageStep* step = FindStep(known.plan, claimed.stage);
  if (step == nullptr || step->advance != StageStep::Advance::kMill) {
    return absl::InternalError(absl::StrCat(claimed.name, " is runnable at ", v1::ComputationStage_Name(claimed.stage),
                                            ", which no mill works"));
  }
  computation_type_ = api::v1::Protocol_Name(known.protocol_config().protocol());
  StageRun run{work_, claimed, std::move(known), *step, options_.parallelism, options_.replay_seed};
  absl::Status ran = RunClaimedStage(run);
  attempt.bytes_in = run.input_bytes;
  attempt.bytes_out = run.output_bytes;
  plumbing_ = run.reading + run.telling_kingdom + run.storing + run.finishing;
  transmission_ = step->send_to >= 0 ? std::optional<absl::Duration>(run.finishing) : std::nullopt;
  return ran;
}

void Mill::Count(const LocalComputation& claimed, const StageAttempt& attempt, const absl::Status& status) {
  if (metrics_ == nullptr) return;
  const std::string stage = v1::ComputationStage_Name(claimed.stage);
  const monitoring::LabelValues labels = {computation_type_.empty() ? "UNKNOWN" : computation_type_, stage};
  std::string outcome = "succeeded";
  if (!status.ok()) {
    outcome = absl::IsAborted(status) ? "superseded" : ForGood(claimed, status) ? "failed" : "retry";
  }
  metrics_->attempts.Increment({labels[0], labels[1], outcome});
  if (!status.ok()) return;
  metrics_->stage_time.Observe(labels, absl::ToDoubleSeconds(attempt.wall));
  metrics_->crypto_time.Observe(labels, absl::ToDoubleSeconds(std::max(absl::ZeroDuration(), attempt.wall - plumbing_)));
  metrics_->crypto_cpu_time.Observe(labels, absl::ToDoubleSeconds(attempt.cpu));
  if (transmission_) metrics_->transmission_time.Observe(labels, absl::ToDoubleSeconds(*transmission_));
}

bool Mill::ForGood(const LocalComputation& claimed, const absl::Status& status) const {
  return absl::IsInvalidArgument(status) || absl::IsDataLoss(status) || absl::IsPermissionDenied(status) ||
         absl::IsInternal(status) || absl::IsUnimplemented(status) || claimed.attempts >= options_.max_attempts;
}

void Mill::HandleFailure(const LocalComputation& claimed, const absl::Status& status) {
  if (absl::IsAborted(status)) {
    // Another mill claimed it after this one's lease lapsed: its work
    // stands, and this attempt's is discarded.
    spdlog::warn("duchy {}: {} gave up {}: {}", work_.duchy_id(), options_.owner, claimed.name, std::string(status.message()));
    return;
  }
  const bool for_good = ForGood(claimed, status);
  const std::string stage = v1::ComputationStage_Name(claimed.stage);
  if (!for_good) {
    const absl::Duration delay =
        std::min(absl::Minutes(10), options_.first_retry * std::pow(2.0, std::min(claimed.attempts - 1, 20)));
    spdlog::warn("duchy {}: {} at {}, attempt {}: {}; again in {}", work_.duchy_id(), claimed.name, stage,
                 claimed.attempts, status.ToString(), absl::FormatDuration(delay));
    if (absl::Status released = work_.Release(claimed, delay, std::string(status.message()));
        !released.ok()) {
      spdlog::warn("duchy {}: {}: {}", work_.duchy_id(), claimed.name, released.ToString());
    }
    return;
  }
  GiveUp(claimed, absl::StrCat("duchy ", work_.duchy_id(), " failed ", stage, " after ", claimed.attempts,
                               " attempt(s): ", status.message()));
}

void Mill::GiveUp(const LocalComputation& claimed, const std::string& reason) {
  if (absl::Status failed = work_.Fail(claimed, reason); !failed.ok()) {
    spdlog::error("duchy {}: {}: {}", work_.duchy_id(), claimed.name, failed.ToString());
  }
}

void Mill::Run() {
  std::string claim_error;
  absl::Time claim_error_logged = absl::InfinitePast();
  while (!stop_.requested()) {
    absl::StatusOr<std::optional<LocalComputation>> claimed =
        work_.Claim(options_.owner, options_.lease, options_.prioritised);
    if (!claimed.ok()) {
      // Said once a minute while it lasts (a herald down for a while).
      const std::string error = claimed.status().ToString();
      if (error != claim_error || absl::Now() - claim_error_logged > absl::Minutes(1)) {
        spdlog::error("duchy {}: {} cannot claim work: {}", work_.duchy_id(), options_.owner, error);
        claim_error = error;
        claim_error_logged = absl::Now();
      }
      Idle(absl::Seconds(1));
      continue;
    }
    if (!claim_error.empty()) {
      spdlog::info("duchy {}: {} claims work again", work_.duchy_id(), options_.owner);
      claim_error.clear();
    }
    if (!claimed->has_value()) {
      Idle(options_.idle_wait);
      continue;
    }
    const LocalComputation& c = **claimed;
    if (std::optional<std::string> reason = OverAttempted(c, options_.max_attempts, work_.duchy_id())) {
      GiveUp(c, *reason);
      continue;
    }
    spdlog::debug("duchy {}: {} runs {} at {}", work_.duchy_id(), options_.owner, c.name, v1::ComputationStage_Name(c.stage));
    // The claim is renewed while the stage runs, so it lapses within one
    // lease only if this mill dies.
    absl::Notification finished;
    std::thread heartbeat([&] {
      while (!finished.WaitForNotificationWithTimeout(options_.lease / 3)) {
        const absl::Status renewed = work_.RenewLease(c, options_.lease);
        if (absl::IsAborted(renewed)) {
          if (metrics_ != nullptr) metrics_->claims_lost.Increment({});
          spdlog::warn("duchy {}: {} lost its claim on {}: {}", work_.duchy_id(), options_.owner, c.name,
                       std::string(renewed.message()));
          return;
        }
      }
    });
    StageAttempt attempt{.stage = c.stage, .attempt = c.attempts, .owner = options_.owner, .started = absl::Now()};
    computation_type_.clear();
    plumbing_ = absl::ZeroDuration();
    transmission_.reset();
    const CpuTimer cpu;
    absl::Status status = RunStage(c, attempt);
    finished.Notify();
    heartbeat.join();
    attempt.wall = absl::Now() - attempt.started;
    attempt.cpu = absl::Microseconds(cpu.ElapsedMicros());
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) == 0) attempt.peak_rss_bytes = int64_t{usage.ru_maxrss} * 1024;
    attempt.outcome = status.ok() ? "succeeded" : status.ToString();
    if (absl::Status recorded = work_.RecordAttempt(c, attempt); !recorded.ok()) {
      spdlog::warn("duchy {}: {}: {}", work_.duchy_id(), c.name, recorded.ToString());
    }
    if (!stop_.requested()) Count(c, attempt, status);
    if (!status.ok() && !stop_.requested()) HandleFailure(c, status);
  }
}

void Mill::Idle(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(
                           +[](bool* woken) { return *woken; }, &woken_),
                       timeout);
  woken_ = false;
}

void Mill::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void Mill::Stop() {
  stop_.Request();
  work_.Interrupt();
  Wake();
}

}  // namespace halo::duchy
