// grpc.health.v1.Health for every halo server: SERVING for the whole server
// ("") and each registered service, until shutdown begins.
#ifndef HALO_SRC_NET_HEALTH_SERVICE_H_
#define HALO_SRC_NET_HEALTH_SERVICE_H_

#include <atomic>
#include <set>
#include <string>

#include "grpc/health/v1/health.grpc.pb.h"

namespace halo::net {

class HealthService final : public grpc::health::v1::Health::Service {
 public:
  explicit HealthService(std::set<std::string> services) : services_(std::move(services)) {}

  // From now on every check answers NOT_SERVING and watches end.
  void BeginShutdown() { shutting_down_.store(true); }

  grpc::Status Check(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::health::v1::HealthCheckResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context,
                     const grpc::health::v1::HealthCheckRequest* request,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  grpc::health::v1::HealthCheckResponse::ServingStatus StatusOf(const std::string& service) const;

  const std::set<std::string> services_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace halo::net

#endif  // HALO_SRC_NET_HEALTH_SERVICE_H_
