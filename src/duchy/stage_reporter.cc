#include "stage_reporter.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace halo::duchy {
namespace {

// Reports waiting to be sent; more are dropped, oldest first.
constexpr size_t kMaxQueued = 256;

}  // namespace

StageReporter::StageReporter(std::shared_ptr<grpc::Channel> kingdom)
    : kingdom_(api::v1::Computations::NewStub(std::move(kingdom))), thread_([this] { Run(); }) {}

StageReporter::~StageReporter() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

void StageReporter::Report(const std::string& computation, const std::string& stage, int attempt) {
  api::v1::ComputationLogEntry entry;
  entry.set_computation(computation);
  entry.set_stage(stage);
  entry.set_attempt(attempt);
  entry.set_message(stage == "COMPLETE" ? "done" : "started");
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(entry));
  if (queue_.size() > kMaxQueued) queue_.pop_front();
}

void StageReporter::Run() {
  while (true) {
    api::v1::ComputationLogEntry entry;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](StageReporter* r) ABSL_EXCLUSIVE_LOCKS_REQUIRED(r->mu_) { return r->stopping_ || !r->queue_.empty(); },
          this));
      if (stopping_) return;
      entry = std::move(queue_.front());
      queue_.pop_front();
    }
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    api::v1::CreateComputationLogEntryRequest request;
    *request.mutable_entry() = entry;
    api::v1::ComputationLogEntry created;
    const grpc::Status status = kingdom_->CreateComputationLogEntry(&context, request, &created);
    if (!status.ok()) {
      spdlog::debug("{}: the Kingdom did not take the report of {}: {}", entry.computation(), entry.stage(),
                    status.error_message());
    }
  }
}

}  // namespace halo::duchy
