#include "mill_work_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "duchy_context.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/sha256.h"
#include "halo/duchy/blob_transfer.h"

namespace halo::duchy {
namespace {

constexpr int kMinLeaseSeconds = 5;
constexpr int kMaxLeaseSeconds = 600;
constexpr int kMaxWaitSeconds = 10;
constexpr size_t kMaxTextBytes = 4096;

v1::ClaimedComputation ToProto(const LocalComputation& c) {
  v1::ClaimedComputation out;
  out.mutable_claim()->set_computation(c.name);
  out.mutable_claim()->set_stage(c.stage);
  out.mutable_claim()->set_version(c.version);
  out.set_details(c.details);
  out.set_attempts(c.attempts);
  out.set_last_error(c.last_error);
  return out;
}

absl::Status CheckLease(int32_t seconds) {
  if (seconds < kMinLeaseSeconds || seconds > kMaxLeaseSeconds) {
    return absl::InvalidArgumentError(absl::StrCat("lease_seconds is ", seconds, "; it must be from ",
                                                   kMinLeaseSeconds, " to ", kMaxLeaseSeconds));
  }
  return absl::OkStatus();
}

}  // namespace

std::string MillSubjectPrefix(absl::string_view duchy_id) { return absl::StrCat("duchies/", duchy_id, "/mills/"); }

bool IsMillOf(absl::string_view subject, absl::string_view duchy_id) {
  const std::string prefix = MillSubjectPrefix(duchy_id);
  if (!absl::StartsWith(subject, prefix)) return false;
  const absl::string_view mill = subject.substr(prefix.size());
  return !mill.empty() && mill.size() <= 200 && !absl::StrContains(mill, '/');
}

void MillWorkService::WorkMayBeReady() {
  absl::MutexLock lock(&mu_);
  ++work_generation_;
}

void MillWorkService::Stop() {
  absl::MutexLock lock(&mu_);
  stopped_ = true;
}

absl::StatusOr<std::string> MillWorkService::AuthenticateMill(const grpc::ServerContext& context) {
  const auto pem = context.auth_context()->FindPropertyValues("x509_pem_cert");
  if (pem.empty()) return absl::UnauthenticatedError("no client certificate");
  ASSIGN_OR_RETURN(crypto::Certificate presented,
                   crypto::Certificate::FromPem(absl::string_view(pem.front().data(), pem.front().size())));
  const std::string subject = presented.SubjectName();
  if (!IsMillOf(subject, duchy_id_)) {
    return absl::PermissionDeniedError(absl::StrCat("\"", subject.substr(0, 200), "\" is not a mill of duchy ",
                                                    duchy_id_, " (", MillSubjectPrefix(duchy_id_), "NAME)"));
  }
  if (!presented.AllowsUse(crypto::CertificateUse::kTls)) {
    return absl::UnauthenticatedError(absl::StrCat("the certificate of ", subject, " is not a TLS certificate"));
  }
  if (absl::Status own = own_root_.Verify(presented, absl::Now()); !own.ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat(subject, " is not issued by the root of duchy ", duchy_id_, ": ", own.message()));
  }
  return subject;
}

absl::StatusOr<LocalComputation> MillWorkService::ClaimOf(const grpc::ServerContext& context, const v1::Claim& claim) {
  ASSIGN_OR_RETURN(std::string mill, AuthenticateMill(context));
  if (!absl::StartsWith(claim.computation(), "computations/")) {
    return absl::InvalidArgumentError(absl::StrCat("the claim names \"", claim.computation().substr(0, 200),
                                                   "\", not a computation"));
  }
  LocalComputation claimed;
  claimed.name = claim.computation();
  claimed.stage = claim.stage();
  claimed.version = claim.version();
  claimed.lease_owner = std::move(mill);
  return claimed;
}

grpc::Status MillWorkService::ClaimWork(grpc::ServerContext* context, const v1::ClaimWorkRequest* request,
                                        v1::ClaimWorkResponse* response) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string mill, AuthenticateMill(*context));
    RETURN_IF_ERROR(CheckLease(request->lease_seconds()));
    if (request->wait_seconds() < 0 || request->wait_seconds() > kMaxWaitSeconds) {
      return absl::InvalidArgumentError(
          absl::StrCat("wait_seconds is ", request->wait_seconds(), "; it must be from 0 to ", kMaxWaitSeconds));
    }
    std::vector<ComputationStage> prioritised;
    for (int stage : request->prioritised()) {
      if (!v1::ComputationStage_IsValid(stage)) {
        return absl::InvalidArgumentError(absl::StrCat("prioritised names no stage: ", stage));
      }
      prioritised.push_back(static_cast<ComputationStage>(stage));
    }
    const absl::Time until = absl::Now() + absl::Seconds(request->wait_seconds());
    while (true) {
      int64_t generation;
      {
        absl::MutexLock lock(&mu_);
        generation = work_generation_;
      }
      ASSIGN_OR_RETURN(std::optional<LocalComputation> claimed,
                       work_.Claim(mill, absl::Seconds(request->lease_seconds()), prioritised));
      if (claimed.has_value()) {
        *response->mutable_claimed() = ToProto(*claimed);
        return absl::OkStatus();
      }
      const absl::Time now = absl::Now();
      if (now >= until || context->IsCancelled()) return absl::OkStatus();
      // Woken by new work; otherwise asked again each second, for a
      // released stage whose retry time has come.
      absl::MutexLock lock(&mu_);
      auto changed = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopped_ || work_generation_ != generation;
      };
      mu_.AwaitWithTimeout(absl::Condition(&changed), std::min(until - now, absl::Seconds(1)));
      if (stopped_) return absl::OkStatus();
    }
  }());
}

grpc::Status MillWorkService::RenewLease(grpc::ServerContext* context, const v1::RenewLeaseRequest* request,
                                         v1::MillWorkResponse*) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    RETURN_IF_ERROR(CheckLease(request->lease_seconds()));
    return work_.RenewLease(claimed, absl::Seconds(request->lease_seconds()));
  }());
}

grpc::Status MillWorkService::ReleaseClaim(grpc::ServerContext* context, const v1::ReleaseClaimRequest* request,
                                           v1::MillWorkResponse*) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    if (request->retry_after_seconds() < 0 || request->retry_after_seconds() > 3600) {
      return absl::InvalidArgumentError(
          absl::StrCat("retry_after_seconds is ", request->retry_after_seconds(), "; it must be from 0 to 3600"));
    }
    return work_.Release(claimed, absl::Seconds(request->retry_after_seconds()),
                         request->error().substr(0, kMaxTextBytes));
  }());
}

grpc::Status MillWorkService::FailComputation(grpc::ServerContext* context, const v1::FailComputationRequest* request,
                                              v1::MillWorkResponse*) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    return work_.Fail(claimed, request->reason().substr(0, kMaxTextBytes));
  }());
}

grpc::Status MillWorkService::ListInputs(grpc::ServerContext* context, const v1::ListInputsRequest* request,
                                         v1::ListInputsResponse* response) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    ASSIGN_OR_RETURN(std::vector<StageInput> inputs, work_.Inputs(claimed, request->stage()));
    for (const StageInput& input : inputs) {
      auto* out = response->add_inputs();
      out->set_input(input.input);
      out->set_blob_key(input.blob_key);
      out->set_sha256(input.sha256);
    }
    return absl::OkStatus();
  }());
}

grpc::Status MillWorkService::ReadBlob(grpc::ServerContext* context, const v1::ReadBlobRequest* request,
                                       grpc::ServerWriter<v1::ReadBlobResponse>* writer) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobReader> reader, work_.OpenBlob(claimed, request->blob_key()));
    v1::ReadBlobResponse size;
    size.set_size(static_cast<int64_t>(reader->size()));
    if (!writer->Write(size)) return absl::UnavailableError("the mill stopped reading");
    return SendChunks(*reader, [&](absl::string_view chunk) {
      v1::ReadBlobResponse message;
      message.set_chunk(std::string(chunk));
      return writer->Write(message);
    });
  }());
}

grpc::Status MillWorkService::RecordAttempt(grpc::ServerContext* context, const v1::RecordAttemptRequest* request,
                                            v1::MillWorkResponse*) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    StageAttempt attempt{.stage = claimed.stage,
                         .attempt = request->attempt(),
                         .owner = claimed.lease_owner,
                         .started = absl::FromUnixMicros(request->started_unix_micros()),
                         .wall = absl::Microseconds(request->wall_micros()),
                         .cpu = absl::Microseconds(request->cpu_micros()),
                         .bytes_in = static_cast<uint64_t>(std::max<int64_t>(0, request->bytes_in())),
                         .bytes_out = static_cast<uint64_t>(std::max<int64_t>(0, request->bytes_out())),
                         .peak_rss_bytes = request->peak_rss_bytes(),
                         .outcome = request->outcome().substr(0, kMaxTextBytes)};
    return work_.RecordAttempt(claimed, attempt);
  }());
}

grpc::Status MillWorkService::SaveDetails(grpc::ServerContext* context, const v1::SaveDetailsRequest* request,
                                          v1::MillWorkResponse*) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    return work_.SaveDetails(claimed, request->details());
  }());
}

grpc::Status MillWorkService::SetRequisitionParams(grpc::ServerContext* context,
                                                   const v1::SetRequisitionParamsRequest* request,
                                                   v1::MillWorkResponse*) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    return work_.SetRequisitionParams(claimed, request->public_key());
  }());
}

grpc::Status MillWorkService::SetResult(grpc::ServerContext* context, const v1::SetResultRequest* request,
                                        v1::MillWorkResponse*) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    return work_.SetResult(claimed, request->result(), request->computation());
  }());
}

grpc::Status MillWorkService::Confirm(grpc::ServerContext* context, const v1::ConfirmRequest* request,
                                      v1::ConfirmResponse* response) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    ASSIGN_OR_RETURN(*response->mutable_computation(), work_.Confirm(claimed));
    return absl::OkStatus();
  }());
}

grpc::Status MillWorkService::HasOutput(grpc::ServerContext* context, const v1::HasOutputRequest* request,
                                        v1::HasOutputResponse* response) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    ASSIGN_OR_RETURN(bool stored, work_.HasOutput(claimed));
    response->set_stored(stored);
    return absl::OkStatus();
  }());
}

grpc::Status MillWorkService::WriteOutput(grpc::ServerContext* context,
                                          grpc::ServerReader<v1::WriteOutputRequest>* reader, v1::MillWorkResponse*) {
  return ToGrpc([&]() -> absl::Status {
    v1::WriteOutputRequest message;
    if (!reader->Read(&message) || !message.has_claim()) {
      return absl::InvalidArgumentError("an output's stream must start with its claim");
    }
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, message.claim()));
    ASSIGN_OR_RETURN(std::unique_ptr<MillWork::OutputWriter> output, work_.OpenOutput(claimed));
    crypto::Sha256Hasher digest;
    int64_t received = 0;
    while (reader->Read(&message)) {
      if (message.has_end()) {
        if (message.end().total_bytes() != received) {
          return absl::InvalidArgumentError(absl::StrCat("the output's end says ", message.end().total_bytes(),
                                                         " bytes; ", received, " arrived"));
        }
        if (message.end().sha256() != digest.Finish()) {
          return absl::DataLossError(
              absl::StrCat("the output of ", claimed.name, " arrived with another SHA-256 than its mill computed"));
        }
        if (reader->Read(&message)) return absl::InvalidArgumentError("the output's stream goes on after its end");
        return output->Commit();
      }
      if (!message.has_chunk()) return absl::InvalidArgumentError("an output's stream repeats its claim");
      if (message.chunk().size() > kChunkBytes) {
        return absl::InvalidArgumentError(
            absl::StrCat("a chunk of ", message.chunk().size(), " bytes exceeds ", kChunkBytes));
      }
      received += static_cast<int64_t>(message.chunk().size());
      if (received > kMaxBlobBytes) {
        return absl::InvalidArgumentError(absl::StrCat("the output exceeds ", kMaxBlobBytes, " bytes"));
      }
      digest.Update(message.chunk());
      RETURN_IF_ERROR(output->Append(message.chunk()));
    }
    return absl::InvalidArgumentError(
        absl::StrCat("the output's stream ended after ", received, " bytes without its end; nothing was kept"));
  }());
}

grpc::Status MillWorkService::Finish(grpc::ServerContext* context, const v1::FinishRequest* request,
                                     v1::MillWorkResponse*) {
  return ToGrpc([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation claimed, ClaimOf(*context, request->claim()));
    RETURN_IF_ERROR(work_.Finish(claimed, request->details()));
    // The next stage may be runnable at once (its inputs came early).
    WorkMayBeReady();
    return absl::OkStatus();
  }());
}

}  // namespace halo::duchy
