// A duchy's computations and the work they wait for, in its SQLite store.
// The herald creates computations, the ComputationControl and
// RequisitionFulfillment servers record arriving inputs, and mills claim
// runnable computations with a lease that expires, so that work a crashed
// mill held is taken over once its lease lapses. Blobs themselves live in
// the blob store; this keeps their keys and digests.
#ifndef HALO_DUCHY_COMPUTATION_STORE_H_
#define HALO_DUCHY_COMPUTATION_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "halo/duchy/stage_plan.h"
#include "halo/duchy/v1/duchy.pb.h"
#include "halo/storage/database.h"
#include "halo/storage/open_database.h"

namespace halo::duchy {

using v1::ComputationStage;

struct StageInput {
  std::string input;     // "registers", "seed", ... as the sender named it
  std::string blob_key;  // where the blob store keeps it
  std::string sha256;
};

struct LocalComputation {
  std::string name;  // computations/{id}, the Kingdom's name
  ComputationStage stage = v1::COMPUTATION_STAGE_UNSPECIFIED;
  // Protocol-specific details (the duchy's records proto), opaque here.
  std::string details;
  // Whether a mill may claim it at this stage (not waiting for inputs).
  bool runnable = false;
  // Claims of its current stage, this one included: a stage whose process
  // crashed is counted as much as one that failed.
  int attempts = 0;
  std::string failure;
  // The error of the last attempt at this stage that ended in one; empty
  // when none did (the attempts so far crashed, or there were none).
  std::string last_error;
  // Set when claimed: the claim's owner and expiry.
  std::string lease_owner;
  absl::Time lease_expiry = absl::InfinitePast();
  // Moved on by every claim, move, release and failure. A claim holds the
  // version it took, and a write under it is refused (ABORTED) once the
  // version has moved on: a mill whose lease lapsed and was taken over
  // cannot overwrite its successor's work.
  int64_t version = 0;
  // When a released attempt may be retried.
  absl::Time next_attempt = absl::InfinitePast();
  // Set by the claim that took it over from a mill whose lease lapsed
  // mid-stage.
  bool taken_over = false;
  absl::Time updated = absl::InfinitePast();
};

// One attempt at a stage, as its mill measured it.
struct StageAttempt {
  ComputationStage stage = v1::COMPUTATION_STAGE_UNSPECIFIED;
  int attempt = 0;
  std::string owner;
  absl::Time started = absl::InfinitePast();
  absl::Duration wall;
  // CPU time of the mill's process while the stage ran (every thread).
  absl::Duration cpu;
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  // The mill process's peak resident memory when the stage ended.
  int64_t peak_rss_bytes = 0;
  // "succeeded", or why it did not.
  std::string outcome;
};

class ComputationStore {
 public:
  // On SQLite or PostgreSQL, as `location` says. Every write locks the rows
  // of the computation it reads first, and a claim passes over rows another
  // claimer holds, so several processes may share one PostgreSQL store.
  static absl::StatusOr<std::unique_ptr<ComputationStore>> Open(
      const storage::DatabaseLocation& location, std::function<absl::Time()> clock = [] { return absl::Now(); });
  // SQLite at `path`.
  static absl::StatusOr<std::unique_ptr<ComputationStore>> Open(
      const std::string& path, std::function<absl::Time()> clock = [] { return absl::Now(); });

  // Creates `computation` unless one of that name exists: true if created.
  // A second create (a herald replaying its stream) changes nothing.
  absl::StatusOr<bool> Create(const LocalComputation& computation);
  // NOT_FOUND for an unknown name.
  absl::StatusOr<LocalComputation> Get(const std::string& name);

  // Keeps an input of `stage`. It is kept early if the computation is at one
  // of `earlier_stages` (the stages before `stage`: another duchy may run
  // ahead of this one); FAILED_PRECONDITION if it is anywhere else, unless
  // the same input with the same digest is already held (a resend), which
  // is OK; ALREADY_EXISTS if a different one is. When the inputs held for
  // `stage` then number `wait.inputs_needed`, and the computation is at
  // `stage`, it moves to `wait.next` and becomes runnable.
  absl::Status RecordInput(const std::string& name, const InputWait& wait, const StageInput& input,
                           const std::vector<ComputationStage>& earlier_stages = {});
  absl::StatusOr<std::vector<StageInput>> Inputs(const std::string& name, ComputationStage stage);

  // Keeps an EDP's upload for a requisition (`input` names it) while the
  // computation is not over: a resend with the same digest is OK, a
  // different one ALREADY_EXISTS. Uploads() lists them.
  absl::Status RecordUpload(const std::string& name, const StageInput& upload);
  absl::StatusOr<std::vector<StageInput>> Uploads(const std::string& name) {
    return Inputs(name, v1::COMPUTATION_STAGE_UNSPECIFIED);
  }

  // The computations a mill could claim now, and when the one that has
  // waited longest became runnable (nullopt when none).
  struct Claimable {
    int64_t count = 0;
    std::optional<absl::Time> oldest;
  };
  absl::StatusOr<Claimable> CountClaimable();
  // Claims the runnable computation that waited longest and whose lease is
  // free or lapsed and whose retry time has come, counting the attempt:
  // nullopt if none. One at a `prioritised` stage goes first.
  absl::StatusOr<std::optional<LocalComputation>> Claim(const std::string& owner, absl::Duration lease,
                                                        const std::vector<ComputationStage>& prioritised = {});
  // OK while `claimed` (name, stage, owner, version) is the computation's
  // current claim; ABORTED naming who holds it now otherwise.
  absl::Status CheckClaim(const LocalComputation& claimed);
  // Keeps a claim for another `lease` from now: a mill renews while its
  // stage runs, so a long stage keeps its claim while its mill lives, and a
  // dead mill's claim lapses within one lease. ABORTED if it was lost.
  absl::Status RenewLease(const LocalComputation& claimed, absl::Duration lease);
  // Moves a claimed computation on and releases it. ABORTED if the claim is
  // no longer `claimed`'s (another claim, move or release came between).
  // When `next_stage` is `wait.stage` and its inputs have all arrived
  // early, the computation goes on to `wait.next`, runnable.
  absl::Status Advance(const LocalComputation& claimed, ComputationStage next_stage, bool runnable,
                       const std::string& details, const InputWait& wait = {});
  // Keeps new details for a claimed computation, which stays claimed: a
  // stage saves its secrets before it uses them, so a retry reuses them.
  absl::Status SaveDetails(const LocalComputation& claimed, const std::string& details);
  // Moves an unclaimed computation that waits at `from` (for the Kingdom)
  // on to `to`, as Advance does; FAILED_PRECONDITION if it is not at `from`.
  absl::Status AdvanceWaiting(const std::string& name, ComputationStage from, ComputationStage to, bool runnable,
                              const InputWait& wait = {});
  // Ends every claim whose owner starts with `owner_prefix`: a duchy calls
  // it when it starts for the mills of its own process from before (the
  // data directory is locked to one process), whose process is gone. So a
  // duchy killed mid-stage takes its work back at once instead of after the
  // lease. Mills of other processes may still be working: their claims
  // lapse with their leases. Their attempts stay counted.
  absl::Status ReleaseClaimsOf(const std::string& owner_prefix);
  // Gives a claimed computation back, to be retried after `retry_after`;
  // `error` is why this attempt failed.
  absl::Status Release(const LocalComputation& claimed, absl::Duration retry_after, const std::string& error);
  // Ends the computation at FAILED with `reason`, from any stage.
  absl::Status Fail(const std::string& name, const std::string& reason);
  // An operator's retry: a computation waiting to retry its stage (or given
  // up on for its attempts) may be claimed now, its attempts counted afresh.
  // FAILED_PRECONDITION if it is over, or claimed under a live lease.
  absl::Status Retry(const std::string& name);
  // Keeps an attempt's statistics (whatever became of its claim), and lists
  // a computation's, oldest first.
  absl::Status RecordAttempt(const std::string& name, const StageAttempt& attempt);
  absl::StatusOr<std::vector<StageAttempt>> Attempts(const std::string& name);
  // The computations, least recently changed first; finished ones
  // (COMPLETE, FAILED) only with `include_finished`. At most `limit`.
  absl::StatusOr<std::vector<LocalComputation>> List(bool include_finished, int limit);
  // The `limit` computations that failed last, newest first.
  absl::StatusOr<std::vector<LocalComputation>> RecentFailures(int limit);

  // The herald's continuation token in the Kingdom's stream ("" at first).
  absl::StatusOr<std::string> HeraldToken();
  absl::Status SetHeraldToken(const std::string& token);

 private:
  ComputationStore(std::unique_ptr<storage::Database> db, std::function<absl::Time()> clock)
      : db_(std::move(db)), clock_(std::move(clock)) {}
  absl::StatusOr<LocalComputation> Load(const std::string& name);
  absl::StatusOr<int64_t> InputCount(const std::string& name, ComputationStage stage);
  // Sets the stage (and details, when given), going past `wait` if its
  // inputs are in, and releases any claim.
  absl::Status MoveTo(const std::string& name, ComputationStage next_stage, bool runnable, const std::string* details,
                      const InputWait& wait);

  std::unique_ptr<storage::Database> db_;
  std::function<absl::Time()> clock_;
};

}  // namespace halo::duchy

#endif  // HALO_DUCHY_COMPUTATION_STORE_H_
