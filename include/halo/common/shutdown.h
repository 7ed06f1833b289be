// Orderly shutdown on SIGTERM (systemd stop) and SIGINT (Ctrl-C), or on
// request from inside the process (tests, `halo demo`).
#ifndef HALO_COMMON_SHUTDOWN_H_
#define HALO_COMMON_SHUTDOWN_H_

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace halo {

class ShutdownSignal {
 public:
  ShutdownSignal() = default;
  ShutdownSignal(const ShutdownSignal&) = delete;
  ShutdownSignal& operator=(const ShutdownSignal&) = delete;

  // Routes SIGTERM and SIGINT of this process to `signal`. Must be called
  // before any other thread starts, so that every thread inherits the blocked
  // signal mask and a dedicated thread receives them. Call at most once.
  static void InstallProcessHandlers(ShutdownSignal& signal);

  void Request();
  bool requested() const { return notification_.HasBeenNotified(); }
  void Wait() const { notification_.WaitForNotification(); }
  // True if shutdown was requested within `timeout`.
  bool WaitFor(absl::Duration timeout) const {
    return notification_.WaitForNotificationWithTimeout(timeout);
  }
  // The signal number that asked for shutdown, or 0.
  int signal_number() const { return signal_number_.load(); }

 private:
  absl::Notification notification_;
  std::atomic<bool> requested_once_{false};
  std::atomic<int> signal_number_{0};
};

}  // namespace halo

#endif  // HALO_COMMON_SHUTDOWN_H_
