// The mill's work done by its herald in another process, over the herald's
// MillWork service.
#include <chrono>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/sha256.h"
#include "halo/duchy/blob_transfer.h"
#include "halo/duchy/v1/mill_work.grpc.pb.h"
#include "halo/net/call.h"
#include "mill_work.h"

namespace halo::duchy {
namespace {

using net::FromGrpc;

// Calls that only touch the herald's store; those that reach the Kingdom or
// another duchy get longer.
constexpr auto kStoreCall = std::chrono::seconds(30);
constexpr auto kKingdomCall = std::chrono::minutes(5);
// Sending a stage's output to the next duchy, or moving a blob.
constexpr auto kTransfer = std::chrono::minutes(60);
// How long the herald holds a claim request open when there is no work.
constexpr int kClaimWaitSeconds = 5;

v1::Claim ClaimOf(const LocalComputation& claimed) {
  v1::Claim claim;
  claim.set_computation(claimed.name);
  claim.set_stage(claimed.stage);
  claim.set_version(claimed.version);
  return claim;
}

int32_t Seconds(absl::Duration d) { return static_cast<int32_t>(absl::ToInt64Seconds(d)); }

class RemoteBlob final : public storage::BlobReader {
 public:
  static absl::StatusOr<std::unique_ptr<storage::BlobReader>> Open(v1::MillWork::Stub& stub,
                                                                   const v1::ReadBlobRequest& request) {
    auto blob = std::unique_ptr<RemoteBlob>(new RemoteBlob(request.blob_key()));
    blob->context_.set_deadline(std::chrono::system_clock::now() + kTransfer);
    blob->stream_ = stub.ReadBlob(&blob->context_, request);
    v1::ReadBlobResponse first;
    if (!blob->stream_->Read(&first)) {
      blob->ended_ = true;
      RETURN_IF_ERROR(blob->Finish());
      return absl::DataLossError(absl::StrCat("the herald's blob ", request.blob_key(), " ended before its size"));
    }
    if (!first.has_size() || first.size() < 0) {
      blob->context_.TryCancel();
      return absl::DataLossError(absl::StrCat("the herald's blob ", request.blob_key(), " did not start with its size"));
    }
    blob->size_ = static_cast<uint64_t>(first.size());
    return std::unique_ptr<storage::BlobReader>(std::move(blob));
  }

  ~RemoteBlob() override {
    // A blob left half read: its stream is cancelled, then finished.
    if (!ended_) {
      context_.TryCancel();
      stream_->Finish().ok();
    }
  }

  uint64_t size() const override { return size_; }

  absl::StatusOr<std::optional<std::string>> Next() override {
    if (ended_) return std::nullopt;
    v1::ReadBlobResponse message;
    if (!stream_->Read(&message)) {
      ended_ = true;
      RETURN_IF_ERROR(Finish());
      if (read_ != size_) {
        return absl::DataLossError(
            absl::StrCat("the herald's blob ", key_, " ended after ", read_, " of its ", size_, " bytes"));
      }
      return std::nullopt;
    }
    read_ += message.chunk().size();
    if (!message.has_chunk() || read_ > size_) {
      ended_ = true;
      context_.TryCancel();
      stream_->Finish().ok();
      return absl::DataLossError(absl::StrCat("the herald's blob ", key_, " runs past its ", size_, " bytes"));
    }
    return std::move(*message.mutable_chunk());
  }

 private:
  explicit RemoteBlob(std::string key) : key_(std::move(key)) {}
  absl::Status Finish() { return FromGrpc(stream_->Finish(), absl::StrCat("the herald's ReadBlob of ", key_)); }

  std::string key_;
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReader<v1::ReadBlobResponse>> stream_;
  uint64_t size_ = 0;
  uint64_t read_ = 0;
  // The stream is finished; gRPC allows that once.
  bool ended_ = false;
};

class RemoteOutput final : public MillWork::OutputWriter {
 public:
  RemoteOutput(v1::MillWork::Stub& stub, const LocalComputation& claimed) : name_(claimed.name) {
    context_.set_deadline(std::chrono::system_clock::now() + kTransfer);
    stream_ = stub.WriteOutput(&context_, &response_);
    v1::WriteOutputRequest first;
    *first.mutable_claim() = ClaimOf(claimed);
    broken_ = !stream_->Write(first);
  }

  ~RemoteOutput() override {
    // An output abandoned (its stage failed) is not kept: the herald sees
    // no end.
    if (!finished_.has_value()) {
      context_.TryCancel();
      stream_->Finish().ok();
    }
  }

  absl::Status Append(absl::string_view piece) override {
    if (broken_) return Finish();
    digest_.Update(piece);
    written_ += static_cast<int64_t>(piece.size());
    const bool sent = net::SendChunks(piece, [&](absl::string_view chunk) {
      v1::WriteOutputRequest message;
      message.set_chunk(std::string(chunk));
      return stream_->Write(message);
    });
    if (!sent) {
      broken_ = true;
      return Finish();
    }
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    if (!broken_) {
      v1::WriteOutputRequest end;
      end.mutable_end()->set_total_bytes(written_);
      end.mutable_end()->set_sha256(digest_.Finish());
      stream_->Write(end);
    }
    return Finish();
  }

 private:
  absl::Status Finish() {
    if (!finished_.has_value()) {
      stream_->WritesDone();
      finished_ = FromGrpc(stream_->Finish(), absl::StrCat("the herald's WriteOutput of ", name_));
      if (finished_->ok() && broken_) finished_ = absl::UnavailableError("the output's stream to the herald broke");
    }
    return *finished_;
  }

  std::string name_;
  grpc::ClientContext context_;
  v1::MillWorkResponse response_;
  std::unique_ptr<grpc::ClientWriter<v1::WriteOutputRequest>> stream_;
  crypto::Sha256Hasher digest_;
  int64_t written_ = 0;
  bool broken_ = false;
  std::optional<absl::Status> finished_;
};

class Remote final : public MillWork {
 public:
  Remote(std::shared_ptr<grpc::Channel> channel, std::string duchy_id)
      : stub_(v1::MillWork::NewStub(channel)), duchy_id_(std::move(duchy_id)) {}

  const std::string& duchy_id() const override { return duchy_id_; }

  void Interrupt() override {
    absl::MutexLock lock(&mu_);
    interrupted_ = true;
    if (claiming_ != nullptr) claiming_->TryCancel();
  }

  absl::StatusOr<std::optional<LocalComputation>> Claim(const std::string& owner, absl::Duration lease,
                                                        const std::vector<ComputationStage>& prioritised) override {
    v1::ClaimWorkRequest request;
    request.set_lease_seconds(Seconds(lease));
    for (ComputationStage stage : prioritised) request.add_prioritised(stage);
    request.set_wait_seconds(kClaimWaitSeconds);
    v1::ClaimWorkResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + kStoreCall + std::chrono::seconds(kClaimWaitSeconds));
    // While the herald is down (or not up yet), the call waits for it, so
    // the mill claims work the moment it is back rather than on its next
    // try.
    context.set_wait_for_ready(true);
    {
      absl::MutexLock lock(&mu_);
      if (interrupted_) return std::nullopt;
      claiming_ = &context;
    }
    const grpc::Status status = stub_->ClaimWork(&context, request, &response);
    {
      absl::MutexLock lock(&mu_);
      claiming_ = nullptr;
      // A claim the herald granted as the mill stopped lapses with its lease.
      if (interrupted_) return std::nullopt;
    }
    RETURN_IF_ERROR(FromGrpc(status, "the herald's ClaimWork"));
    if (!response.has_claimed()) return std::nullopt;
    const v1::ClaimedComputation& c = response.claimed();
    LocalComputation claimed;
    claimed.name = c.claim().computation();
    claimed.stage = c.claim().stage();
    claimed.version = c.claim().version();
    claimed.details = c.details();
    claimed.attempts = c.attempts();
    claimed.last_error = c.last_error();
    claimed.runnable = true;
    claimed.lease_owner = owner;
    return claimed;
  }

  absl::Status RenewLease(const LocalComputation& claimed, absl::Duration lease) override {
    v1::RenewLeaseRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    request.set_lease_seconds(Seconds(lease));
    v1::MillWorkResponse response;
    return Call(&v1::MillWork::Stub::RenewLease, request, response, "RenewLease", kStoreCall);
  }

  absl::Status Release(const LocalComputation& claimed, absl::Duration retry_after,
                       const std::string& error) override {
    v1::ReleaseClaimRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    request.set_retry_after_seconds(Seconds(retry_after));
    request.set_error(error.substr(0, 4096));
    v1::MillWorkResponse response;
    return Call(&v1::MillWork::Stub::ReleaseClaim, request, response, "ReleaseClaim", kStoreCall);
  }

  absl::Status Fail(const LocalComputation& claimed, const std::string& reason) override {
    v1::FailComputationRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    request.set_reason(reason.substr(0, 4096));
    v1::MillWorkResponse response;
    return Call(&v1::MillWork::Stub::FailComputation, request, response, "FailComputation", kKingdomCall);
  }

  absl::StatusOr<std::vector<StageInput>> Inputs(const LocalComputation& claimed, ComputationStage stage) override {
    v1::ListInputsRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    request.set_stage(stage);
    v1::ListInputsResponse response;
    RETURN_IF_ERROR(Call(&v1::MillWork::Stub::ListInputs, request, response, "ListInputs", kStoreCall));
    std::vector<StageInput> inputs;
    for (const auto& input : response.inputs()) inputs.push_back({input.input(), input.blob_key(), input.sha256()});
    return inputs;
  }

  absl::StatusOr<std::unique_ptr<storage::BlobReader>> OpenBlob(const LocalComputation& claimed,
                                                                const std::string& key) override {
    v1::ReadBlobRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    request.set_blob_key(key);
    return RemoteBlob::Open(*stub_, request);
  }

  absl::Status RecordAttempt(const LocalComputation& claimed, const StageAttempt& attempt) override {
    v1::RecordAttemptRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    request.set_attempt(attempt.attempt);
    request.set_started_unix_micros(absl::ToUnixMicros(attempt.started));
    request.set_wall_micros(absl::ToInt64Microseconds(attempt.wall));
    request.set_cpu_micros(absl::ToInt64Microseconds(attempt.cpu));
    request.set_bytes_in(static_cast<int64_t>(attempt.bytes_in));
    request.set_bytes_out(static_cast<int64_t>(attempt.bytes_out));
    request.set_peak_rss_bytes(attempt.peak_rss_bytes);
    request.set_outcome(attempt.outcome.substr(0, 4096));
    v1::MillWorkResponse response;
    return Call(&v1::MillWork::Stub::RecordAttempt, request, response, "RecordAttempt", kStoreCall);
  }

  absl::Status SaveDetails(const LocalComputation& claimed, const std::string& details) override {
    v1::SaveDetailsRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    request.set_details(details);
    v1::MillWorkResponse response;
    return Call(&v1::MillWork::Stub::SaveDetails, request, response, "SaveDetails", kStoreCall);
  }

  absl::Status SetRequisitionParams(const LocalComputation& claimed,
                                    const api::v1::EncryptionPublicKey& public_key) override {
    v1::SetRequisitionParamsRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    *request.mutable_public_key() = public_key;
    v1::MillWorkResponse response;
    return Call(&v1::MillWork::Stub::SetRequisitionParams, request, response, "SetRequisitionParams", kKingdomCall);
  }

  absl::Status SetResult(const LocalComputation& claimed, const api::v1::MeasurementResult& result,
                         const api::v1::Computation& computation) override {
    v1::SetResultRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    *request.mutable_result() = result;
    *request.mutable_computation() = computation;
    v1::MillWorkResponse response;
    return Call(&v1::MillWork::Stub::SetResult, request, response, "SetResult", kKingdomCall);
  }

  absl::StatusOr<api::v1::Computation> Confirm(const LocalComputation& claimed) override {
    v1::ConfirmRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    v1::ConfirmResponse response;
    RETURN_IF_ERROR(Call(&v1::MillWork::Stub::Confirm, request, response, "Confirm", kKingdomCall));
    return std::move(*response.mutable_computation());
  }

  absl::StatusOr<bool> HasOutput(const LocalComputation& claimed) override {
    v1::HasOutputRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    v1::HasOutputResponse response;
    RETURN_IF_ERROR(Call(&v1::MillWork::Stub::HasOutput, request, response, "HasOutput", kStoreCall));
    return response.stored();
  }

  absl::StatusOr<std::unique_ptr<OutputWriter>> OpenOutput(const LocalComputation& claimed) override {
    return std::unique_ptr<OutputWriter>(std::make_unique<RemoteOutput>(*stub_, claimed));
  }

  absl::Status Finish(const LocalComputation& claimed, const std::string& details) override {
    v1::FinishRequest request;
    *request.mutable_claim() = ClaimOf(claimed);
    request.set_details(details);
    v1::MillWorkResponse response;
    return Call(&v1::MillWork::Stub::Finish, request, response, "Finish", kTransfer);
  }

 private:
  template <typename Request, typename Response>
  absl::Status Call(grpc::Status (v1::MillWork::Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response& response, absl::string_view name,
                    std::chrono::system_clock::duration timeout) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + timeout);
    return FromGrpc((stub_.get()->*method)(&context, request, &response), absl::StrCat("the herald's ", name));
  }

  std::unique_ptr<v1::MillWork::Stub> stub_;
  std::string duchy_id_;
  absl::Mutex mu_;
  bool interrupted_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* claiming_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace

std::unique_ptr<MillWork> RemoteMillWork(std::shared_ptr<grpc::Channel> channel, std::string duchy_id) {
  return std::make_unique<Remote>(std::move(channel), std::move(duchy_id));
}

}  // namespace halo::duchy
