// A mill: claims the duchy's runnable computations one at a time, runs the
// stage, stores and sends its output, and moves the computation on. A stage
// that fails is retried with a doubling delay; one that fails for good (bad
// input, or the tenth time) fails the computation, with the reason, at the
// Kingdom.
#ifndef HALO_SRC_DUCHY_MILL_H_
#define HALO_SRC_DUCHY_MILL_H_

#include <string>

#include "absl/synchronization/mutex.h"
#include "duchy_context.h"
#include "halo/common/shutdown.h"

namespace halo::duchy {

class Mill {
 public:
  Mill(DuchyContext& duchy, std::string owner, absl::Duration lease, absl::Duration first_retry)
      : duchy_(duchy), owner_(std::move(owner)), lease_(lease), first_retry_(first_retry) {}
  void Run();
  // Work may be ready: stop waiting.
  void Wake();
  void Stop();

 private:
  absl::Status RunStage(const LocalComputation& claimed);
  void HandleFailure(const LocalComputation& claimed, const absl::Status& status);

  DuchyContext& duchy_;
  std::string owner_;
  absl::Duration lease_;
  absl::Duration first_retry_;
  ShutdownSignal stop_;
  absl::Mutex mu_;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_MILL_H_
