// A mill: claims the duchy's runnable computations one at a time, runs the
// stage, stores and sends its output, and moves the computation on. A stage
// that fails is retried with a doubling delay; one that fails for good (bad
// input, or its last allowed attempt) fails the computation, with the
// reason, at the Kingdom. Attempts are counted as claims, so a stage whose
// input crashes the process fails too instead of crash-looping the duchy.
#ifndef HALO_SRC_DUCHY_MILL_H_
#define HALO_SRC_DUCHY_MILL_H_

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "duchy_context.h"
#include "mill_work.h"
#include "halo/common/shutdown.h"

namespace halo::duchy {

// Why a computation claimed for the `claimed.attempts`th time must not run
// again: more claims than `max_attempts` though no attempt gave up means
// the others ended with their process (a crash, an out-of-memory kill), and
// another try would only take the duchy down again. nullopt if it may run.
std::optional<std::string> OverAttempted(const LocalComputation& claimed, int max_attempts,
                                         absl::string_view duchy_id);

class Mill {
 public:
  // `max_attempts`: claims of one stage before the computation is failed,
  // whether the attempts failed or their process crashed.
  // `parallelism`: threads a stage uses; `replay_seed`: tests only (see
  // DuchyOptions::replay_seed).
  Mill(MillWork& work, std::string owner, absl::Duration lease, absl::Duration first_retry, int max_attempts,
       int parallelism, std::string replay_seed = "")
      : work_(work), owner_(std::move(owner)), lease_(lease), first_retry_(first_retry), max_attempts_(max_attempts),
        parallelism_(parallelism), replay_seed_(std::move(replay_seed)) {}
  void Run();
  // Work may be ready: stop waiting.
  void Wake();
  void Stop();

 private:
  // Runs the claimed stage; fills in what `attempt` learns of it.
  absl::Status RunStage(const LocalComputation& claimed, StageAttempt& attempt);
  void HandleFailure(const LocalComputation& claimed, const absl::Status& status);
  // Fails the computation here and at the Kingdom with `reason`.
  void GiveUp(const LocalComputation& claimed, const std::string& reason);

  MillWork& work_;
  std::string owner_;
  absl::Duration lease_;
  absl::Duration first_retry_;
  int max_attempts_;
  int parallelism_;
  std::string replay_seed_;
  ShutdownSignal stop_;
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_MILL_H_
