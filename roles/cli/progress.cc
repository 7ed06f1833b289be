#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace halo::cli {

Progress::Progress(ProgressOptions options)
    : options_(options), terminal_(isatty(STDERR_FILENO) == 1), start_(absl::Now()) {
  if (options_.enabled && terminal_) {
    ticker_ = std::thread([this] {
      absl::MutexLock lock(&mu_);
      while (!mu_.AwaitWithTimeout(absl::Condition(&done_), absl::Milliseconds(250))) Draw();
    });
  }
}

Progress::~Progress() { Done(); }

void Progress::Update(const std::string& what) {
  if (!options_.enabled) return;
  absl::MutexLock lock(&mu_);
  if (done_ || what == what_) return;
  what_ = what;
  if (terminal_) {
    Draw();
  } else if (options_.lines_when_not_terminal) {
    std::fprintf(stderr, "[%s] %s\n", absl::FormatDuration(absl::Trunc(absl::Now() - start_, absl::Seconds(1))).c_str(),
                 what_.c_str());
  }
}

void Progress::Draw() {
  const absl::Duration elapsed = absl::Now() - start_;
  if (what_.empty() || elapsed < options_.show_after) return;
  const std::string line = absl::StrFormat("[%.0f s] %s", absl::ToDoubleSeconds(elapsed), what_);
  // Padded over what was there, so a shorter line leaves nothing behind.
  std::fprintf(stderr, "\r%-*s", static_cast<int>(std::max(line.size(), drawn_)), line.c_str());
  std::fflush(stderr);
  drawn_ = line.size();
}

void Progress::Done() {
  {
    absl::MutexLock lock(&mu_);
    if (done_) return;
    done_ = true;
    if (terminal_ && drawn_ > 0) {
      std::fprintf(stderr, "\r%*s\r", static_cast<int>(drawn_), "");
      std::fflush(stderr);
      drawn_ = 0;
    }
  }
  if (ticker_.joinable()) ticker_.join();
}

}  // namespace halo::cli
