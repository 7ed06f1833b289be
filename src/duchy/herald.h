// The herald: follows the Kingdom's stream of this duchy's computations,
// creates each new one locally at its plan's first stage, and moves those
// that wait for the Kingdom on when the Kingdom's state says so.
#ifndef HALO_SRC_DUCHY_HERALD_H_
#define HALO_SRC_DUCHY_HERALD_H_

#include <functional>

#include "absl/synchronization/mutex.h"
#include "duchy_context.h"
#include "halo/common/shutdown.h"

namespace halo::duchy {

// Brings the local computation in line with the Kingdom's `computation`:
// creates it, moves it past a Kingdom wait, or ends it. Idempotent.
// Returns whether anything changed.
absl::StatusOr<bool> ApplyKingdomState(DuchyContext& duchy, const api::v1::Computation& computation);

class Herald {
 public:
  Herald(DuchyContext& duchy, std::function<void()> on_change) : duchy_(duchy), on_change_(std::move(on_change)) {}
  // Streams until Stop(), reconnecting with a growing delay when the
  // Kingdom is unreachable, resuming from the stored continuation token.
  void Run();
  void Stop();

 private:
  DuchyContext& duchy_;
  std::function<void()> on_change_;
  ShutdownSignal stop_;
  absl::Mutex mu_;
  grpc::ClientContext* active_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_HERALD_H_
