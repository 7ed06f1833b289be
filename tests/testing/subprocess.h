// Runs the halo binary (or any program) as a child process for end-to-end
// tests, capturing its output.
#ifndef HALO_TESTS_TESTING_SUBPROCESS_H_
#define HALO_TESTS_TESTING_SUBPROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace halo::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 if killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs `argv` to completion (killed after `timeout`).
ProcessResult RunProcess(const std::vector<std::string>& argv, absl::Duration timeout);

// A child that keeps running; stderr is read incrementally.
class ChildProcess {
 public:
  explicit ChildProcess(const std::vector<std::string>& argv);
  ~ChildProcess();  // SIGKILLs a child still running

  // Waits until stderr has a line containing `text`; false on timeout or exit.
  bool WaitForStderr(const std::string& text, absl::Duration timeout);
  void Signal(int signal_number);
  // The exit code, or -1 if it did not exit in time (it is then killed).
  int Wait(absl::Duration timeout);
  const std::string& err() const { return err_; }
  pid_t pid() const { return pid_; }

 private:
  void ReadAvailable(absl::Duration wait);
  pid_t pid_ = -1;
  int err_fd_ = -1;
  std::string err_;
  bool exited_ = false;
  int exit_code_ = -1;
};

// A port on 127.0.0.1 that was free a moment ago, below the kernel's
// ephemeral range and never the same twice in one process.
int FreeLoopbackPort();

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_SUBPROCESS_H_
