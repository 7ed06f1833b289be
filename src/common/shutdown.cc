#include "halo/common/shutdown.h"

#include <pthread.h>
#include <signal.h>

#include <thread>

namespace halo {

void ShutdownSignal::Request() {
  if (!requested_once_.exchange(true)) notification_.Notify();
}

void ShutdownSignal::InstallProcessHandlers(ShutdownSignal& signal) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set, &signal]() {
    int received = 0;
    if (sigwait(&set, &received) == 0) {
      signal.signal_number_.store(received);
      signal.Request();
    }
  }).detach();
}

}  // namespace halo
