#include "services.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "halo/api/resource_names.h"
#include "halo/api/nonce.h"
#include "halo/common/hex.h"
#include "halo/api/protocol_version.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/certificate.h"
#include "halo/duchy/blob_transfer.h"
#include "halo/sketch/frequency_vector.h"
#include "spdlog/spdlog.h"
#include "stages.h"

namespace halo::duchy {
namespace {

absl::Status CheckHeaderBlob(int64_t total_bytes, absl::string_view sha256) {
  if (total_bytes <= 0 || total_bytes > kMaxBlobBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("header.total_bytes: ", total_bytes, " is outside [1, ", kMaxBlobBytes, "]"));
  }
  if (sha256.size() != 32) return absl::InvalidArgumentError("header.sha256: must be 32 bytes");
  return absl::OkStatus();
}

// Checks a chunk that starts `offset` bytes into the blob, as it arrives.
using ChunkCheck = std::function<absl::Status(absl::string_view chunk, int64_t offset)>;

// Streams the chunks after the header into a new blob at `key`, kept only
// if they match the header's size and digest and pass `check`.
template <typename Request>
absl::Status ReceiveBlob(grpc::ServerReader<Request>* reader, storage::BlobStore& blobs, const std::string& key,
                         int64_t total_bytes, absl::string_view sha256, const ChunkCheck& check = nullptr) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobWriter> writer, blobs.OpenWriter(key));
  absl::Status refused;
  int64_t offset = 0;
  Request message;
  absl::Status received = ReceiveChunks(
      [&]() -> std::optional<std::string> {
        if (!reader->Read(&message)) return std::nullopt;
        if (!message.has_chunk()) {
          refused = absl::InvalidArgumentError("a second header in the stream; only chunks may follow it");
          return std::nullopt;
        }
        if (check) refused = check(message.chunk(), offset);
        if (!refused.ok()) return std::nullopt;
        offset += static_cast<int64_t>(message.chunk().size());
        return std::move(*message.mutable_chunk());
      },
      total_bytes, sha256, *writer);
  return refused.ok() ? received : refused;
}

}  // namespace

grpc::Status ComputationControlService::AdvanceComputation(grpc::ServerContext* context,
                                                           grpc::ServerReader<v1::AdvanceComputationRequest>* reader,
                                                           v1::AdvanceComputationResponse*) {
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string caller, duchy_.AuthenticatePeer(*context));
    if (!absl::StartsWith(caller, "duchies/")) {
      return absl::PermissionDeniedError(absl::StrCat(caller, " is not a duchy"));
    }
    const std::string sender = caller.substr(std::string("duchies/").size());
    v1::AdvanceComputationRequest first;
    if (!reader->Read(&first) || !first.has_header()) {
      return absl::InvalidArgumentError("the stream must start with a header");
    }
    const auto& header = first.header();
    if (header.protocol_version() != api::kProtocolVersion) {
      return absl::InvalidArgumentError(absl::StrCat("duchy ", sender, " speaks protocol version ",
                                                     header.protocol_version(), "; duchy ", duchy_.duchy_id(),
                                                     " speaks version ", api::kProtocolVersion));
    }
    RETURN_IF_ERROR(CheckHeaderBlob(header.total_bytes(), header.sha256()));
    ASSIGN_OR_RETURN(LocalComputation local, duchy_.store().Get(header.computation()));
    ASSIGN_OR_RETURN(KnownComputation known, Know(local));
    // Only the duchy whose plan sends this stage's input here may send it.
    auto sender_plan = PlanFor(known.details.computation(), sender);
    if (!sender_plan.ok()) {
      return absl::PermissionDeniedError(absl::StrCat("duchy ", sender, " does not take part in ", local.name));
    }
    const bool sends_it = std::any_of(sender_plan->second.begin(), sender_plan->second.end(), [&](const StageStep& s) {
      return s.send_to == known.details.position() && s.send_at == header.stage();
    });
    if (!sends_it) {
      return absl::PermissionDeniedError(absl::StrCat("duchy ", sender, " sends no input of ",
                                                      v1::ComputationStage_Name(header.stage()), " to duchy ",
                                                      duchy_.duchy_id()));
    }
    const InputWait wait = WaitAt(known.plan, header.stage());
    const std::string key = absl::StrCat(local.name, "/inputs/", v1::ComputationStage_Name(header.stage()), "/",
                                         sender, "/", HexEncode(header.sha256()));
    const absl::Time began = absl::Now();
    RETURN_IF_ERROR(ReceiveBlob(reader, duchy_.blobs(), key, header.total_bytes(), header.sha256()));
    // A long stream is checked again at its end: a peer revoked meanwhile
    // leaves nothing behind.
    if (absl::Status still = duchy_.AuthenticatePeer(*context).status(); !still.ok()) {
      duchy_.blobs().Delete(key).IgnoreError();
      return still;
    }
    spdlog::info("duchy {}: {} received {} bytes for {} from duchy {} in {:.3f} s", duchy_.duchy_id(), local.name,
                 header.total_bytes(), v1::ComputationStage_Name(header.stage()), sender,
                 absl::ToDoubleSeconds(absl::Now() - began));
    absl::Status recorded = duchy_.store().RecordInput(local.name, wait, {sender, key, header.sha256()},
                                                        StagesBefore(known.plan, header.stage()));
    if (!recorded.ok()) {
      // Refused, so nothing refers to the bytes (a resend of what is held
      // would have been acknowledged).
      duchy_.blobs().Delete(key).IgnoreError();
      return recorded;
    }
    on_input_();
    return absl::OkStatus();
  }();
  return ToGrpc(status);
}

grpc::Status ComputationControlService::GetComputationStage(grpc::ServerContext* context,
                                                            const v1::GetComputationStageRequest* request,
                                                            v1::ComputationStageResponse* response) {
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string caller, duchy_.AuthenticatePeer(*context));
    ASSIGN_OR_RETURN(LocalComputation local, duchy_.store().Get(request->computation()));
    ASSIGN_OR_RETURN(KnownComputation known, Know(local));
    if (!absl::StartsWith(caller, "duchies/") ||
        !PlanFor(known.details.computation(), caller.substr(std::string("duchies/").size())).ok()) {
      return absl::PermissionDeniedError(absl::StrCat(caller, " does not take part in ", local.name));
    }
    response->set_stage(local.stage);
    ASSIGN_OR_RETURN(std::vector<StageInput> inputs, duchy_.store().Inputs(local.name, local.stage));
    for (const StageInput& input : inputs) response->add_inputs_received(input.input);
    return absl::OkStatus();
  }();
  return ToGrpc(status);
}

grpc::Status RequisitionFulfillmentService::FulfillRequisition(grpc::ServerContext* context,
                                                               grpc::ServerReader<v1::FulfillRequisitionRequest>* reader,
                                                               v1::FulfillRequisitionResponse*) {
  absl::Status status = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string caller, duchy_.AuthenticatePeer(*context));
    v1::FulfillRequisitionRequest first;
    if (!reader->Read(&first) || !first.has_header()) {
      return absl::InvalidArgumentError("the stream must start with a header");
    }
    const auto& header = first.header();
    RETURN_IF_ERROR(CheckHeaderBlob(header.total_bytes(), header.sha256()));
    RETURN_IF_ERROR(
        api::ParseName(header.requisition(), "computations/*/requisitions/*", "header.requisition").status());
    const std::string computation_name = api::ParentName(header.requisition());
    absl::StatusOr<LocalComputation> local = duchy_.store().Get(computation_name);
    if (absl::IsNotFound(local.status())) {
      return absl::NotFoundError(absl::StrCat(computation_name, " is not known at duchy ", duchy_.duchy_id()));
    }
    RETURN_IF_ERROR(local.status());
    ASSIGN_OR_RETURN(KnownComputation known, Know(*local));
    const auto& computation = known.details.computation();
    const auto requisition = std::find_if(computation.requisitions().begin(), computation.requisitions().end(),
                                          [&](const auto& r) { return r.name() == header.requisition(); });
    if (requisition == computation.requisitions().end()) {
      return absl::NotFoundError(absl::StrCat(header.requisition(), " not found"));
    }
    if (requisition->data_provider() != caller) {
      return absl::PermissionDeniedError(absl::StrCat(header.requisition(), " belongs to ", requisition->data_provider(),
                                                      ", not ", caller));
    }
    if (requisition->fulfilling_duchy() != duchy_.duchy_id()) {
      return absl::FailedPreconditionError(absl::StrCat(header.requisition(), " is fulfilled at duchy ",
                                                        requisition->fulfilling_duchy(), ", not ", duchy_.duchy_id()));
    }
    if (api::NonceHash(header.nonce()) != requisition->nonce_hash()) {
      return absl::InvalidArgumentError(
          absl::StrCat("header.nonce: does not match the nonce hash of ", header.requisition()));
    }
    if (header.requisition_fingerprint() != requisition->fingerprint()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "header.requisition_fingerprint: does not match the measurement and requisition spec of ",
          header.requisition()));
    }
    // The header says whether the bytes can be an upload at all; an HMSS
    // data share's slots are checked as they arrive.
    const std::string key = absl::StrCat(header.requisition(), "/", HexEncode(header.sha256()));
    ChunkCheck check;
    if (computation.protocol_config().protocol() == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE) {
      ASSIGN_OR_RETURN(const uint32_t modulus,
                       CheckHmssUpload(computation, header.total_bytes(), header.encrypted_peer_seed()));
      check = [modulus](absl::string_view chunk, int64_t offset) {
        return sketch::CheckSlotsInRing({reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()},
                                        static_cast<uint64_t>(offset), modulus, "the data share");
      };
    } else {
      RETURN_IF_ERROR(CheckRegisterVectorUpload(computation, header.total_bytes()));
      if (!header.encrypted_peer_seed().empty()) {
        return absl::InvalidArgumentError("header.encrypted_peer_seed: only HMSS uploads carry one");
      }
    }
    RETURN_IF_ERROR(ReceiveBlob(reader, duchy_.blobs(), key, header.total_bytes(), header.sha256(), check));
    absl::Status kept = [&]() -> absl::Status {
      RETURN_IF_ERROR(duchy_.AuthenticatePeer(*context).status());
      if (check) RETURN_IF_ERROR(duchy_.blobs().Put(PeerSeedKey(key), header.encrypted_peer_seed()));
      return duchy_.store().RecordUpload(computation_name, {header.requisition(), key, header.sha256()});
    }();
    if (!kept.ok()) {
      // A refused upload leaves nothing behind, and never replaces the one held.
      duchy_.blobs().Delete(key).IgnoreError();
      if (check) duchy_.blobs().Delete(PeerSeedKey(key)).IgnoreError();
      if (!absl::IsAlreadyExists(kept)) return kept;
    }
    api::v1::FulfillRequisitionRequest fulfil;
    fulfil.set_name(header.requisition());
    fulfil.set_nonce(header.nonce());
    // Told even when an upload was held already (a resend, same bytes or
    // fresh randomness; the first stands): the duchy may have kept it and
    // then died, or failed to reach the Kingdom, before telling it. A resend
    // after the Kingdom heard of it is fine if it has it fulfilled.
    RETURN_IF_ERROR(duchy_.CallKingdomOnce(&api::v1::Computations::Stub::FulfillRequisition, fulfil,
                                           "FulfillRequisition", computation_name,
                                           [&](const api::v1::Computation& now) {
                                             return std::any_of(now.requisitions().begin(),
                                                                now.requisitions().end(), [&](const auto& r) {
                                                                  return r.name() == header.requisition() &&
                                                                         r.state() ==
                                                                             api::v1::Requisition::FULFILLED;
                                                                });
                                           }));
    return kept;
  }();
  return ToGrpc(status);
}

}  // namespace halo::duchy
