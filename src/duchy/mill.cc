#include "mill.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/synchronization/notification.h"
#include "absl/strings/str_cat.h"
#include "halo/api/protocol_version.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/sha256.h"
#include "halo/duchy/blob_transfer.h"
#include "herald.h"
#include "spdlog/spdlog.h"
#include "stages.h"

namespace halo::duchy {
namespace {

// Sends a stored output to `peer` as the input of `stage` there.
// Where a stored output's SHA-256 is kept, so that sending it reads it once.
std::string DigestKey(const std::string& output_key) { return output_key + ".sha256"; }

absl::Status SendOutput(DuchyContext& duchy, const std::string& computation, const std::string& peer,
                        ComputationStage stage, const std::string& key) {
  ASSIGN_OR_RETURN(v1::ComputationControl::Stub * stub, duchy.Peer(peer));
  ASSIGN_OR_RETURN(std::string sha256, duchy.blobs().Get(DigestKey(key)));
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobReader> reader, duchy.blobs().OpenReader(key));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
  v1::AdvanceComputationResponse response;
  auto stream = stub->AdvanceComputation(&context, &response);
  v1::AdvanceComputationRequest header;
  header.mutable_header()->set_computation(computation);
  header.mutable_header()->set_stage(stage);
  header.mutable_header()->set_total_bytes(static_cast<int64_t>(reader->size()));
  header.mutable_header()->set_sha256(sha256);
  header.mutable_header()->set_protocol_version(api::kProtocolVersion);
  if (stream->Write(header)) {
    absl::Status sent = SendChunks(*reader, [&](absl::string_view chunk) {
      v1::AdvanceComputationRequest message;
      message.set_chunk(std::string(chunk));
      return stream->Write(message);
    });
    if (!sent.ok()) context.TryCancel();
  }
  stream->WritesDone();
  return FromGrpc(stream->Finish(),
                  absl::StrCat("sending ", v1::ComputationStage_Name(stage), " of ", computation, " to duchy ", peer));
}

}  // namespace

std::optional<std::string> OverAttempted(const LocalComputation& claimed, int max_attempts,
                                         absl::string_view duchy_id) {
  if (claimed.attempts <= max_attempts) return std::nullopt;
  return absl::StrCat("duchy ", duchy_id, " gave up ", v1::ComputationStage_Name(claimed.stage), " after ",
                      claimed.attempts - 1, " attempt(s), ",
                      claimed.last_error.empty()
                          ? "each ended by its process stopping or crashing"
                          : absl::StrCat("the last that ended in an error with: ", claimed.last_error));
}

absl::Status StageRun::SaveDetails() { return duchy.store().SaveDetails(claimed, known.details.SerializeAsString()); }

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> StageRun::ReadInputs(ComputationStage stage) {
  const absl::Time began = absl::Now();
  absl::Cleanup count = [&] { reading += absl::Now() - began; };
  ASSIGN_OR_RETURN(std::vector<StageInput> inputs, duchy.store().Inputs(claimed.name, stage));
  // Not hashed again: a blob's key names the digest its bytes had on
  // arrival, and the blob store checks its own checksums on every read
  // (corruption is DATA_LOSS). Read on the stage's threads: at 10M-slot
  // HMSS shares, reading one after another cost half the aggregation.
  std::vector<absl::StatusOr<std::string>> blobs = ParallelMap<absl::StatusOr<std::string>>(
      absl::MakeConstSpan(inputs), duchy.parallelism(),
      [&](const StageInput& input) { return duchy.blobs().Get(input.blob_key); });
  std::vector<std::pair<std::string, std::string>> out;
  for (size_t i = 0; i < inputs.size(); ++i) {
    RETURN_IF_ERROR(blobs[i].status());
    out.emplace_back(inputs[i].input, *std::move(blobs[i]));
  }
  return out;
}

absl::StatusOr<std::vector<StageInput>> StageRun::ListInputs(ComputationStage stage) {
  return duchy.store().Inputs(claimed.name, stage);
}

absl::StatusOr<StageRun::Pieces> StageRun::OpenInput(const std::string& blob_key, uint64_t* size) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobReader> opened, duchy.blobs().OpenReader(blob_key));
  if (size != nullptr) *size = opened->size();
  std::shared_ptr<storage::BlobReader> reader = std::move(opened);
  return [this, reader]() -> absl::StatusOr<std::optional<std::string>> {
    const absl::Time began = absl::Now();
    absl::StatusOr<std::optional<std::string>> piece = reader->Next();
    reading += absl::Now() - began;
    return piece;
  };
}

absl::Status StageRun::WriteOutput(absl::string_view piece) {
  if (!output) return absl::InternalError(absl::StrCat(v1::ComputationStage_Name(claimed.stage), " sends no output"));
  const absl::Time began = absl::Now();
  absl::Status written = output(piece);
  storing += absl::Now() - began;
  output_bytes += piece.size();
  return written;
}

absl::Status Mill::RunStage(const LocalComputation& claimed) {
  ASSIGN_OR_RETURN(KnownComputation known, Know(claimed));
  if (const int32_t version = known.protocol_config().protocol_version(); version != api::kProtocolVersion) {
    return absl::InvalidArgumentError(absl::StrCat(claimed.name, " is for protocol version ", version, "; duchy ",
                                                   duchy_.duchy_id(), " speaks version ", api::kProtocolVersion));
  }
  const StageStep* step = FindStep(known.plan, claimed.stage);
  if (step == nullptr || step->advance != StageStep::Advance::kMill) {
    return absl::InternalError(absl::StrCat(claimed.name, " is runnable at ", v1::ComputationStage_Name(claimed.stage),
                                            ", which no mill works"));
  }
  StageRun run{duchy_, claimed, std::move(known), *step};
  const auto run_stage =
      run.known.protocol_config().protocol() == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE ? &RunHmssStage : &RunLlv2Stage;
  if (step->send_to >= 0) {
    // A stage's output is kept before it is sent: a retry sends the same
    // bytes, so a receiver that already has them acknowledges them again.
    const std::string key = absl::StrCat(claimed.name, "/outputs/", v1::ComputationStage_Name(claimed.stage));
    absl::StatusOr<std::unique_ptr<storage::BlobReader>> stored = duchy_.blobs().OpenReader(key);
    if (absl::IsNotFound(stored.status())) {
      const absl::Time began = absl::Now();
      // The output is stored as the stage writes it, in pieces where the
      // stage streams it.
      ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobWriter> writer, duchy_.blobs().OpenWriter(key));
      crypto::Sha256Hasher digest;
      run.output = [&](absl::string_view piece) {
        digest.Update(piece);
        return writer->Append(piece);
      };
      ASSIGN_OR_RETURN(std::string output, run_stage(run));
      if (!output.empty()) RETURN_IF_ERROR(run.WriteOutput(output));
      const absl::Time computed = absl::Now();
      // The digest first: an output without one was not stored whole.
      RETURN_IF_ERROR(duchy_.blobs().Put(DigestKey(key), digest.Finish()));
      RETURN_IF_ERROR(writer->Commit());
      spdlog::info(
          "duchy {}: {} {} took {:.3f} s (reading inputs {:.3f} s, telling the Kingdom {:.3f} s, storing the output "
          "{:.3f} s); {} bytes for {}",
          duchy_.duchy_id(), claimed.name, v1::ComputationStage_Name(claimed.stage),
          absl::ToDoubleSeconds(absl::Now() - began), absl::ToDoubleSeconds(run.reading),
          absl::ToDoubleSeconds(run.telling_kingdom), absl::ToDoubleSeconds(run.storing + (absl::Now() - computed)),
          run.output_bytes, run.known.protocol_config().duchies(step->send_to));
    } else {
      RETURN_IF_ERROR(stored.status());
    }
    const std::string& peer = run.known.protocol_config().duchies(step->send_to);
    const absl::Time sending = absl::Now();
    RETURN_IF_ERROR(SendOutput(duchy_, claimed.name, peer, step->send_at, key));
    spdlog::info("duchy {}: {} sent {} to duchy {} in {:.3f} s", duchy_.duchy_id(), claimed.name,
                 v1::ComputationStage_Name(claimed.stage), peer, absl::ToDoubleSeconds(absl::Now() - sending));
  } else {
    const absl::Time began = absl::Now();
    RETURN_IF_ERROR(run_stage(run).status());
    spdlog::info("duchy {}: {} {} took {:.3f} s (reading inputs {:.3f} s, telling the Kingdom {:.3f} s)",
                 duchy_.duchy_id(), claimed.name, v1::ComputationStage_Name(claimed.stage),
                 absl::ToDoubleSeconds(absl::Now() - began), absl::ToDoubleSeconds(run.reading),
                 absl::ToDoubleSeconds(run.telling_kingdom));
  }
  RETURN_IF_ERROR(duchy_.store().Advance(run.claimed, step->next, MillRuns(run.known.plan, step->next),
                                         run.known.details.SerializeAsString(), WaitAt(run.known.plan, step->next)));
  if (step->next == v1::COMPLETE) {
    // Nothing of a finished computation is needed again.
    if (auto keys = duchy_.blobs().List(claimed.name + "/"); keys.ok()) {
      for (const std::string& key : *keys) duchy_.blobs().Delete(key).IgnoreError();
    }
    spdlog::info("duchy {}: {} complete", duchy_.duchy_id(), claimed.name);
    return absl::OkStatus();
  }
  const StageStep* next = FindStep(run.known.plan, step->next);
  if (next != nullptr && next->advance == StageStep::Advance::kKingdom) {
    // The Kingdom may have moved on while this stage ran, and the herald
    // saw that before there was anything to move.
    if (absl::StatusOr<api::v1::Computation> now = duchy_.GetComputation(claimed.name); now.ok()) {
      ApplyKingdomState(duchy_, *now).IgnoreError();
    }
  }
  return absl::OkStatus();
}

void Mill::HandleFailure(const LocalComputation& claimed, const absl::Status& status) {
  if (absl::IsAborted(status)) {
    // Another mill claimed it after this one's lease lapsed: its work
    // stands, and this attempt's is discarded.
    spdlog::warn("duchy {}: {} gave up {}: {}", duchy_.duchy_id(), owner_, claimed.name, std::string(status.message()));
    return;
  }
  const bool for_good = absl::IsInvalidArgument(status) || absl::IsDataLoss(status) ||
                        absl::IsPermissionDenied(status) || absl::IsInternal(status) || absl::IsUnimplemented(status) ||
                        claimed.attempts >= max_attempts_;
  const std::string stage = v1::ComputationStage_Name(claimed.stage);
  if (!for_good) {
    const absl::Duration delay =
        std::min(absl::Minutes(10), first_retry_ * std::pow(2.0, std::min(claimed.attempts - 1, 20)));
    spdlog::warn("duchy {}: {} at {}, attempt {}: {}; again in {}", duchy_.duchy_id(), claimed.name, stage,
                 claimed.attempts, status.ToString(), absl::FormatDuration(delay));
    if (absl::Status released = duchy_.store().Release(claimed, delay, std::string(status.message()));
        !released.ok()) {
      spdlog::warn("duchy {}: {}: {}", duchy_.duchy_id(), claimed.name, released.ToString());
    }
    return;
  }
  GiveUp(claimed, absl::StrCat("duchy ", duchy_.duchy_id(), " failed ", stage, " after ", claimed.attempts,
                               " attempt(s): ", status.message()));
}

void Mill::GiveUp(const LocalComputation& claimed, const std::string& reason) {
  spdlog::error("{}: {}", claimed.name, reason);
  if (absl::Status failed = duchy_.store().Fail(claimed.name, reason); !failed.ok()) {
    spdlog::error("duchy {}: {}: {}", duchy_.duchy_id(), claimed.name, failed.ToString());
  }
  api::v1::FailComputationParticipantRequest request;
  request.set_name(claimed.name);
  request.set_message(reason.substr(0, 4096));
  if (auto told = duchy_.CallKingdom(&api::v1::Computations::Stub::FailComputationParticipant, request,
                                     "FailComputationParticipant");
      !told.ok()) {
    spdlog::error("duchy {}: could not tell the Kingdom {} failed: {}", duchy_.duchy_id(), claimed.name,
                  told.status().ToString());
  }
}

void Mill::Run() {
  while (!stop_.requested()) {
    absl::StatusOr<std::optional<LocalComputation>> claimed = duchy_.store().Claim(owner_, lease_);
    if (!claimed.ok()) {
      spdlog::error("duchy {}: {} cannot claim work: {}", duchy_.duchy_id(), owner_, claimed.status().ToString());
    }
    if (!claimed.ok() || !claimed->has_value()) {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(
                               +[](bool* woken) { return *woken; }, &woken_),
                           absl::Milliseconds(500));
      woken_ = false;
      continue;
    }
    const LocalComputation& c = **claimed;
    if (std::optional<std::string> reason = OverAttempted(c, max_attempts_, duchy_.duchy_id())) {
      GiveUp(c, *reason);
      continue;
    }
    spdlog::debug("duchy {}: {} runs {} at {}", duchy_.duchy_id(), owner_, c.name, v1::ComputationStage_Name(c.stage));
    // The claim is renewed while the stage runs, so it lapses within one
    // lease only if this mill dies.
    absl::Notification finished;
    std::thread heartbeat([&] {
      while (!finished.WaitForNotificationWithTimeout(lease_ / 3)) {
        const absl::Status renewed = duchy_.store().RenewLease(c, lease_);
        if (absl::IsAborted(renewed)) {
          spdlog::warn("duchy {}: {} lost its claim on {}: {}", duchy_.duchy_id(), owner_, c.name,
                       std::string(renewed.message()));
          return;
        }
      }
    });
    absl::Status status = RunStage(c);
    finished.Notify();
    heartbeat.join();
    if (!status.ok() && !stop_.requested()) HandleFailure(c, status);
  }
}

void Mill::Wake() {
  absl::MutexLock lock(&mu_);
  woken_ = true;
}

void Mill::Stop() {
  stop_.Request();
  Wake();
}

}  // namespace halo::duchy
