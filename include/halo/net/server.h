// A gRPC server on one or more addresses, all with mTLS, that answers the
// standard health service (grpc.health.v1) beside the role's own services.
#ifndef HALO_NET_SERVER_H_
#define HALO_NET_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "halo/net/tls.h"

namespace halo::net {
class HealthService;
}  // namespace halo::net
namespace halo::monitoring {
class Registry;
}  // namespace halo::monitoring

namespace halo::net {

// A service and its full name, e.g. {"halo.kingdom.v1.Requisitions", &impl}
// (generated services give it as Service::service_full_name()).
struct NamedService {
  std::string name;
  grpc::Service* service;
};

class Server {
 public:
  // Binds every address ("host:port"; port 0 picks a free port) and starts
  // serving `services` (not owned; they must outlive the server).
  // UNAVAILABLE naming the address when one cannot be bound. Larger
  // requests are refused with RESOURCE_EXHAUSTED. Calls are timed in
  // `metrics` when given.
  static absl::StatusOr<std::unique_ptr<Server>> Start(const std::vector<std::string>& addresses,
                                                       const TlsMaterial& tls,
                                                       const std::vector<NamedService>& services,
                                                       int max_request_bytes = 64 << 20,
                                                       monitoring::Registry* metrics = nullptr);
  ~Server();

  // The ports bound, in the order of the addresses given.
  const std::vector<int>& ports() const { return ports_; }
  // Stops accepting calls and waits up to `grace` for calls in flight.
  void Shutdown(absl::Duration grace);

 private:
  Server(std::unique_ptr<HealthService> health, std::unique_ptr<grpc::Server> server,
         std::vector<int> ports);
  std::unique_ptr<HealthService> health_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;
  bool shut_down_ = false;
};

}  // namespace halo::net

#endif  // HALO_NET_SERVER_H_
