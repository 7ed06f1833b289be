// The mill's work done by the herald's own objects: its computation store,
// its blob store, and the duchy's identity towards the Kingdom and the other
// duchies.
#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "duchy_context.h"
#include "halo/api/envelopes.h"
#include "halo/api/protocol_version.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/sha256.h"
#include "halo/duchy/blob_transfer.h"
#include "herald.h"
#include "mill_work.h"
#include "spdlog/spdlog.h"
#include "stages.h"

namespace halo::duchy {
namespace {

std::string OutputKey(const LocalComputation& claimed) {
  return absl::StrCat(claimed.name, "/outputs/", v1::ComputationStage_Name(claimed.stage));
}
// Where a stored output's SHA-256 is kept, so that sending it reads it once.
std::string DigestKey(const std::string& output_key) { return output_key + ".sha256"; }

// Sends a stored output to `peer` as the input of `stage` there.
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

// A stage's output as it is written: stored with its digest, the digest
// first, so an output without one was not stored whole.
class StoredOutput final : public MillWork::OutputWriter {
 public:
  StoredOutput(storage::BlobStore& blobs, std::string key, std::unique_ptr<storage::BlobWriter> writer)
      : blobs_(blobs), key_(std::move(key)), writer_(std::move(writer)) {}
  absl::Status Append(absl::string_view piece) override {
    digest_.Update(piece);
    return writer_->Append(piece);
  }
  absl::Status Commit() override {
    RETURN_IF_ERROR(blobs_.Put(DigestKey(key_), digest_.Finish()));
    return writer_->Commit();
  }

 private:
  storage::BlobStore& blobs_;
  std::string key_;
  std::unique_ptr<storage::BlobWriter> writer_;
  crypto::Sha256Hasher digest_;
};

class Local final : public MillWork {
 public:
  explicit Local(DuchyContext& duchy) : duchy_(duchy) {}

  const std::string& duchy_id() const override { return duchy_.duchy_id(); }

  absl::StatusOr<std::optional<LocalComputation>> Claim(const std::string& owner, absl::Duration lease,
                                                        const std::vector<ComputationStage>& prioritised) override {
    absl::StatusOr<std::optional<LocalComputation>> claimed = duchy_.store().Claim(owner, lease, prioritised);
    if (claimed.ok() && claimed->has_value()) {
      const LocalComputation& c = **claimed;
      duchy_.ReportStage(c.name, v1::ComputationStage_Name(c.stage), c.attempts);
      if (c.taken_over && duchy_.metrics() != nullptr) {
        duchy_.metrics()->takeovers.Increment({v1::ComputationStage_Name(c.stage)});
      }
    }
    return claimed;
  }
  absl::Status RenewLease(const LocalComputation& claimed, absl::Duration lease) override {
    return duchy_.store().RenewLease(claimed, lease);
  }
  absl::Status Release(const LocalComputation& claimed, absl::Duration retry_after,
                       const std::string& error) override {
    return duchy_.store().Release(claimed, retry_after, error);
  }

  absl::Status Fail(const LocalComputation& claimed, const std::string& reason) override {
    RETURN_IF_ERROR(duchy_.store().CheckClaim(claimed));
    spdlog::error("{}: {}", claimed.name, reason);
    absl::Status failed = duchy_.store().Fail(claimed.name, reason);
    api::v1::FailComputationParticipantRequest request;
    request.set_name(claimed.name);
    request.set_message(reason.substr(0, 4096));
    absl::Status told = duchy_.CallKingdom(&api::v1::Computations::Stub::FailComputationParticipant, request,
                                           "FailComputationParticipant")
                            .status();
    if (!told.ok()) {
      return absl::Status(told.code(), absl::StrCat("could not tell the Kingdom ", claimed.name,
                                                    " failed: ", told.message()));
    }
    return failed;
  }

  absl::StatusOr<std::vector<StageInput>> Inputs(const LocalComputation& claimed, ComputationStage stage) override {
    RETURN_IF_ERROR(duchy_.store().CheckClaim(claimed));
    return duchy_.store().Inputs(claimed.name, stage);
  }
  absl::StatusOr<std::unique_ptr<storage::BlobReader>> OpenBlob(const LocalComputation& claimed,
                                                                const std::string& key) override {
    // Only the claimed computation's own blobs.
    if (!absl::StartsWith(key, claimed.name + "/")) {
      return absl::PermissionDeniedError(absl::StrCat("blob ", key, " is not one of ", claimed.name));
    }
    RETURN_IF_ERROR(duchy_.store().CheckClaim(claimed));
    return duchy_.blobs().OpenReader(key);
  }
  absl::Status RecordAttempt(const LocalComputation& claimed, const StageAttempt& attempt) override {
    return duchy_.store().RecordAttempt(claimed.name, attempt);
  }
  absl::Status SaveDetails(const LocalComputation& claimed, const std::string& details) override {
    return duchy_.store().SaveDetails(claimed, details);
  }

  absl::Status SetRequisitionParams(const LocalComputation& claimed,
                                    const api::v1::EncryptionPublicKey& public_key) override {
    RETURN_IF_ERROR(duchy_.store().CheckClaim(claimed));
    api::v1::SetParticipantRequisitionParamsRequest request;
    request.set_name(claimed.name);
    *request.mutable_public_key() = api::Sign(public_key, duchy_.signing_key(), duchy_.certificate());
    // A retry after the Kingdom took the key (its mill died before moving
    // on): fine if it holds this key. The point is compared, not the
    // message, whose proof of possession is drawn afresh each attempt.
    return duchy_.CallKingdomOnce(
        &api::v1::Computations::Stub::SetParticipantRequisitionParams, request, "SetParticipantRequisitionParams",
        claimed.name, [&](const api::v1::Computation& now) {
          return std::any_of(now.participants().begin(), now.participants().end(), [&](const auto& participant) {
            api::v1::EncryptionPublicKey held;
            return participant.duchy_id() == duchy_.duchy_id() &&
                   held.ParseFromString(participant.public_key().data()) && held.point() == public_key.point();
          });
        });
  }

  absl::Status SetResult(const LocalComputation& claimed, const api::v1::MeasurementResult& result,
                         const api::v1::Computation& computation) override {
    RETURN_IF_ERROR(duchy_.store().CheckClaim(claimed));
    if (computation.name() != claimed.name) {
      return absl::InvalidArgumentError(absl::StrCat("a result for ", claimed.name, " names ", computation.name()));
    }
    ASSIGN_OR_RETURN(api::v1::MeasurementSpec spec, MeasurementSpecOf(computation));
    api::v1::SetComputationResultRequest request;
    request.set_name(claimed.name);
    request.set_certificate(duchy_.certificate());
    ASSIGN_OR_RETURN(*request.mutable_encrypted_result(),
                     api::EncryptResult(api::Sign(result, duchy_.signing_key(), duchy_.certificate()),
                                        spec.measurement_public_key(), computation.measurement()));
    return duchy_.CallKingdomOnce(
        &api::v1::Computations::Stub::SetComputationResult, request, "SetComputationResult", claimed.name,
        [](const api::v1::Computation& now) { return now.state() == api::v1::Computation::SUCCEEDED; });
  }

  absl::StatusOr<api::v1::Computation> Confirm(const LocalComputation& claimed) override {
    RETURN_IF_ERROR(duchy_.store().CheckClaim(claimed));
    ASSIGN_OR_RETURN(api::v1::Computation now, duchy_.GetComputation(claimed.name));
    ASSIGN_OR_RETURN(crypto::TrustedRoots roots, crypto::TrustedRoots::FromPem(duchy_.trusted_ca_pem()));
    for (const auto& participant : now.participants()) {
      ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromDer(participant.certificate_der()));
      if (certificate.SubjectName() != "duchies/" + participant.duchy_id()) {
        return absl::PermissionDeniedError(absl::StrCat("the key of duchy ", participant.duchy_id(),
                                                        " is signed by a certificate of ", certificate.SubjectName()));
      }
      RETURN_IF_ERROR(roots.Verify(certificate, absl::Now()));
      // A key signed by a certificate revoked since is not combined.
      RETURN_IF_ERROR(duchy_.CheckRegistered("duchies/" + participant.duchy_id(), certificate));
      api::v1::EncryptionPublicKey key;
      RETURN_IF_ERROR(api::VerifyAndParse(participant.public_key(), certificate,
                                          absl::StrCat("the key of duchy ", participant.duchy_id()), key));
      RETURN_IF_ERROR(
          api::ParseProvenElGamalKey(participant.public_key().data(), now.name(), participant.duchy_id()).status());
    }
    ASSIGN_OR_RETURN(std::vector<StageInput> uploads, duchy_.store().Uploads(claimed.name));
    for (const auto& requisition : now.requisitions()) {
      if (requisition.fulfilling_duchy() != duchy_.duchy_id()) continue;
      const bool held = std::any_of(uploads.begin(), uploads.end(),
                                    [&](const StageInput& u) { return u.input == requisition.name(); });
      if (!held) {
        return absl::InvalidArgumentError(absl::StrCat(requisition.name(), " is fulfilled at the Kingdom, but duchy ",
                                                       duchy_.duchy_id(), " holds no upload for it"));
      }
    }
    api::v1::ConfirmComputationParticipantRequest confirm;
    confirm.set_name(claimed.name);
    RETURN_IF_ERROR(duchy_.CallKingdomOnce(
        &api::v1::Computations::Stub::ConfirmComputationParticipant, confirm, "ConfirmComputationParticipant",
        claimed.name, [&](const api::v1::Computation& later) {
          return std::any_of(later.participants().begin(), later.participants().end(), [&](const auto& p) {
            return p.duchy_id() == duchy_.duchy_id() && p.state() == api::v1::Computation::Participant::READY;
          });
        }));
    return now;
  }

  absl::StatusOr<bool> HasOutput(const LocalComputation& claimed) override {
    RETURN_IF_ERROR(duchy_.store().CheckClaim(claimed));
    absl::StatusOr<std::unique_ptr<storage::BlobReader>> stored = duchy_.blobs().OpenReader(OutputKey(claimed));
    if (absl::IsNotFound(stored.status())) return false;
    RETURN_IF_ERROR(stored.status());
    return true;
  }

  absl::StatusOr<std::unique_ptr<OutputWriter>> OpenOutput(const LocalComputation& claimed) override {
    RETURN_IF_ERROR(duchy_.store().CheckClaim(claimed));
    const std::string key = OutputKey(claimed);
    ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobWriter> writer, duchy_.blobs().OpenWriter(key));
    return std::unique_ptr<OutputWriter>(std::make_unique<StoredOutput>(duchy_.blobs(), key, std::move(writer)));
  }

  absl::Status Finish(const LocalComputation& claimed, const std::string& details) override {
    RETURN_IF_ERROR(duchy_.store().CheckClaim(claimed));
    LocalComputation finished = claimed;
    finished.details = details;
    ASSIGN_OR_RETURN(KnownComputation known, Know(finished));
    const StageStep* step = FindStep(known.plan, claimed.stage);
    if (step == nullptr) {
      return absl::InternalError(absl::StrCat(claimed.name, " has no step at ", v1::ComputationStage_Name(claimed.stage)));
    }
    if (step->send_to >= 0) {
      const std::string& peer = known.protocol_config().duchies(step->send_to);
      const absl::Time sending = absl::Now();
      RETURN_IF_ERROR(SendOutput(duchy_, claimed.name, peer, step->send_at, OutputKey(claimed)));
      spdlog::info("duchy {}: {} sent {} to duchy {} in {:.3f} s", duchy_.duchy_id(), claimed.name,
                   v1::ComputationStage_Name(claimed.stage), peer, absl::ToDoubleSeconds(absl::Now() - sending));
    }
    RETURN_IF_ERROR(duchy_.store().Advance(claimed, step->next, MillRuns(known.plan, step->next), details,
                                           WaitAt(known.plan, step->next)));
    if (step->next == v1::COMPLETE) {
      // Nothing of a finished computation is needed again.
      if (auto keys = duchy_.blobs().List(claimed.name + "/"); keys.ok()) {
        for (const std::string& key : *keys) duchy_.blobs().Delete(key).IgnoreError();
      }
      spdlog::info("duchy {}: {} complete", duchy_.duchy_id(), claimed.name);
      duchy_.ReportStage(claimed.name, "COMPLETE", claimed.attempts);
      return absl::OkStatus();
    }
    const StageStep* next = FindStep(known.plan, step->next);
    if (next != nullptr && next->advance == StageStep::Advance::kKingdom) {
      // The Kingdom may have moved on while this stage ran, and the herald
      // saw that before there was anything to move.
      if (absl::StatusOr<api::v1::Computation> now = duchy_.GetComputation(claimed.name); now.ok()) {
        ApplyKingdomState(duchy_, *now).IgnoreError();
      }
    }
    return absl::OkStatus();
  }

 private:
  DuchyContext& duchy_;
};

}  // namespace

std::unique_ptr<MillWork> LocalMillWork(DuchyContext& duchy) { return std::make_unique<Local>(duchy); }

}  // namespace halo::duchy
