// What a mill needs of its duchy: the herald's state (claims, stage inputs,
// stored outputs) and the duchy's identity (its calls to the Kingdom and to
// the other duchies, signed with its key). A mill runs stage functions and
// holds nothing else, so it can run beside the herald (LocalMillWork, in
// `--role=duchy`) or on another host. Every call about a claimed
// computation names its claim, and is refused as ABORTED once the claim
// has moved on (ComputationStore::CheckClaim).
#ifndef HALO_SRC_DUCHY_MILL_WORK_H_
#define HALO_SRC_DUCHY_MILL_WORK_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"
#include "halo/api/v1/resources.pb.h"
#include "halo/api/v1/system.pb.h"
#include "halo/duchy/computation_store.h"
#include "halo/storage/blob_store.h"

namespace halo::duchy {

class DuchyContext;

class MillWork {
 public:
  virtual ~MillWork() = default;

  virtual const std::string& duchy_id() const = 0;
  // Ends a Claim waiting for work, and every later one at once: its mill
  // is stopping.
  virtual void Interrupt() {}

  // The runnable computation that waited longest (one at a `prioritised`
  // stage first), claimed for `lease` (ComputationStore::Claim); nullopt if
  // none.
  virtual absl::StatusOr<std::optional<LocalComputation>> Claim(const std::string& owner, absl::Duration lease,
                                                                const std::vector<ComputationStage>& prioritised) = 0;
  virtual absl::Status RenewLease(const LocalComputation& claimed, absl::Duration lease) = 0;
  // Gives the claim back, to be retried after `retry_after`.
  virtual absl::Status Release(const LocalComputation& claimed, absl::Duration retry_after,
                               const std::string& error) = 0;
  // Fails the computation here and at the Kingdom with `reason`.
  virtual absl::Status Fail(const LocalComputation& claimed, const std::string& reason) = 0;

  // The inputs of `stage` (or the uploads) and a stored blob they name.
  virtual absl::StatusOr<std::vector<StageInput>> Inputs(const LocalComputation& claimed,
                                                         ComputationStage stage) = 0;
  virtual absl::StatusOr<std::unique_ptr<storage::BlobReader>> OpenBlob(const LocalComputation& claimed,
                                                                        const std::string& key) = 0;
  // Keeps what an attempt cost (kept even when the claim was lost).
  virtual absl::Status RecordAttempt(const LocalComputation& claimed, const StageAttempt& attempt) = 0;
  // Keeps new details under the claim, before a secret in them is used.
  virtual absl::Status SaveDetails(const LocalComputation& claimed, const std::string& details) = 0;

  // The Kingdom, as this duchy: the key is signed with the duchy's
  // content-signing key; the result signed and encrypted to the MC.
  virtual absl::Status SetRequisitionParams(const LocalComputation& claimed,
                                            const api::v1::EncryptionPublicKey& public_key) = 0;
  virtual absl::Status SetResult(const LocalComputation& claimed, const api::v1::MeasurementResult& result,
                                 const api::v1::Computation& computation) = 0;
  // LLv2's confirmation: checks every duchy's key (signed by a registered,
  // unrevoked certificate of that duchy) and that every upload this duchy
  // should hold is here, confirms at the Kingdom, and returns the Kingdom's
  // now complete view of the computation.
  virtual absl::StatusOr<api::v1::Computation> Confirm(const LocalComputation& claimed) = 0;

  // Whether the stage's output is stored already (a retry sends the same
  // bytes); otherwise a writer for it, committed with its SHA-256.
  virtual absl::StatusOr<bool> HasOutput(const LocalComputation& claimed) = 0;
  class OutputWriter {
   public:
    virtual ~OutputWriter() = default;
    virtual absl::Status Append(absl::string_view piece) = 0;
    virtual absl::Status Commit() = 0;
  };
  virtual absl::StatusOr<std::unique_ptr<OutputWriter>> OpenOutput(const LocalComputation& claimed) = 0;
  // Sends the stored output to the duchy the stage's plan names (if it
  // sends one), moves the computation on with `details` and releases it.
  virtual absl::Status Finish(const LocalComputation& claimed, const std::string& details) = 0;
};

// The mill's work in the herald's own process. Every call about a claim
// checks it first, so that this is also what the herald serves remote mills.
std::unique_ptr<MillWork> LocalMillWork(DuchyContext& duchy);

// The mill's work done by a herald in another process, over `channel` (its
// MillWork service, halo/duchy/v1/mill_work.proto). The owner of a claim is
// the name the mill's certificate gives it, whatever `owner` says.
std::unique_ptr<MillWork> RemoteMillWork(std::shared_ptr<grpc::Channel> channel, std::string duchy_id);

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_MILL_WORK_H_
