// Progress of long work, on stderr so that stdout stays the result. On a
// terminal it is one line, redrawn in place with the elapsed time; when
// stderr is not a terminal (a log, a pipe) it is either a plain line each
// time what it says changes (never for the time alone) or nothing.
#ifndef HALO_ROLES_CLI_PROGRESS_H_
#define HALO_ROLES_CLI_PROGRESS_H_

#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace halo::cli {

struct ProgressOptions {
  // False (for --json): nothing at all.
  bool enabled = true;
  // When stderr is not a terminal: a line per change, or nothing.
  bool lines_when_not_terminal = true;
  // Nothing is drawn before the work has taken this long.
  absl::Duration show_after = absl::ZeroDuration();
};

class Progress {
 public:
  explicit Progress(ProgressOptions options = {});
  ~Progress();  // Done()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // What is happening now.
  void Update(const std::string& what);
  // Clears the terminal line and stops.
  void Done();

 private:
  void Draw() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ProgressOptions options_;
  const bool terminal_;
  const absl::Time start_;
  absl::Mutex mu_;
  std::string what_ ABSL_GUARDED_BY(mu_);
  size_t drawn_ ABSL_GUARDED_BY(mu_) = 0;  // characters on the terminal line
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  std::thread ticker_;  // redraws the time on a terminal
};

// Runs `work` showing `what` on a terminal once it has taken 2 seconds;
// nothing elsewhere, where the command's own output says what it did.
template <typename Work>
auto WithProgress(const std::string& what, Work&& work) {
  Progress progress({.lines_when_not_terminal = false, .show_after = absl::Seconds(2)});
  progress.Update(what);
  return work();
}

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_PROGRESS_H_
