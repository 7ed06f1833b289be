// Tells the Kingdom which stage this duchy works on, so that a measurement
// consumer waiting on a measurement sees each duchy's progress. Reports go
// out on a thread of their own, best effort: a slow or absent Kingdom never
// holds up a claim, and when reports pile up the oldest are dropped.
#ifndef HALO_SRC_DUCHY_STAGE_REPORTER_H_
#define HALO_SRC_DUCHY_STAGE_REPORTER_H_

#include <grpcpp/grpcpp.h>

#include <deque>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "halo/api/v1/system.grpc.pb.h"

namespace halo::duchy {

class StageReporter {
 public:
  explicit StageReporter(std::shared_ptr<grpc::Channel> kingdom);
  ~StageReporter();  // drops what is not sent yet
  StageReporter(const StageReporter&) = delete;
  StageReporter& operator=(const StageReporter&) = delete;

  // `stage`: the stage's name, or COMPLETE.
  void Report(const std::string& computation, const std::string& stage, int attempt);

 private:
  void Run();

  std::unique_ptr<api::v1::Computations::Stub> kingdom_;
  absl::Mutex mu_;
  std::deque<api::v1::ComputationLogEntry> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_STAGE_REPORTER_H_
