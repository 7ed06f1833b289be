// A mill: claims the duchy's runnable computations one at a time, runs the
// stage, stores and sends its output, and moves the computation on. A stage
// that fails is retried with a doubling delay; one that fails for good (bad
// input, or its last allowed attempt) fails the computation, with the
// reason, at the Kingdom. Attempts are counted as claims, so a stage whose
// input crashes the process fails too instead of crash-looping the duchy.
#ifndef HALO_SRC_DUCHY_MILL_H_
#define HALO_SRC_DUCHY_MILL_H_

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "duchy_context.h"
#include "mill_work.h"
#include "halo/common/shutdown.h"
#include "halo/monitoring/metrics.h"

namespace halo::duchy {

// Why a computation claimed for the `claimed.attempts`th time must not run
// again: more claims than `max_attempts` though no attempt gave up means
// the others ended with their process (a crash, an out-of-memory kill), and
// another try would only take the duchy down again. nullopt if it may run.
std::optional<std::string> OverAttempted(const LocalComputation& claimed, int max_attempts,
                                         absl::string_view duchy_id);

struct MillOptions {
  // The claims' owner: "duchies/{id}/mill-{i}" in the herald's process,
  // the name its certificate gives a mill of its own.
  std::string owner;
  // How long a claim lasts unless renewed; renewed every third of it.
  absl::Duration lease = absl::Seconds(30);
  // The first retry of a failed stage waits this long, doubling each
  // attempt up to 10 minutes.
  absl::Duration first_retry = absl::Seconds(1);
  // Claims of one stage before the computation is failed, whether the
  // attempts failed or their process crashed.
  int max_attempts = 10;
  // Threads a stage uses.
  int parallelism = 1;
  // Stages claimed before others.
  std::vector<ComputationStage> prioritised;
  // How long to wait before asking again when there was no work (a remote
  // herald waits for work itself before it answers none).
  absl::Duration idle_wait = absl::Milliseconds(500);
  // Tests only: see DuchyOptions::replay_seed.
  std::string replay_seed;
  // Where its stages are timed and counted; none when null. Not owned.
  monitoring::Registry* metrics = nullptr;
};

class Mill {
 public:
  Mill(MillWork& work, MillOptions options)
      : work_(work),
        options_(std::move(options)),
        metrics_(options_.metrics != nullptr ? std::make_unique<Metrics>(*options_.metrics) : nullptr) {}
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
  // Waits up to `timeout` for Wake or Stop.
  void Idle(absl::Duration timeout);
  // Whether a failed attempt fails the computation.
  bool ForGood(const LocalComputation& claimed, const absl::Status& status) const;
  // Counts and times the attempt that just ended.
  void Count(const LocalComputation& claimed, const StageAttempt& attempt, const absl::Status& status);

  struct Metrics {
    explicit Metrics(monitoring::Registry& registry);
    monitoring::Histogram &stage_time, &crypto_time, &crypto_cpu_time, &transmission_time;
    monitoring::Counter &attempts, &claims_lost;
  };

  MillWork& work_;
  const MillOptions options_;
  const std::unique_ptr<Metrics> metrics_;
  // Of the attempt in progress, which Run's thread alone touches.
  std::string computation_type_;
  absl::Duration plumbing_;
  std::optional<absl::Duration> transmission_;
  ShutdownSignal stop_;
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_MILL_H_
