// CPU time spent by this process since construction: what a stage reports.
// It counts every thread, so it measures one stage only where the process
// runs one stage at a time.
#ifndef HALO_COMMON_CPU_TIMER_H_
#define HALO_COMMON_CPU_TIMER_H_

#include <time.h>

#include <cstdint>

namespace halo {

class CpuTimer {
 public:
  CpuTimer() : start_(Now()) {}
  int64_t ElapsedMicros() const { return (Now() - start_) / 1000; }

 private:
  static int64_t Now() {
    timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
  }
  int64_t start_;
};

}  // namespace halo

#endif  // HALO_COMMON_CPU_TIMER_H_
