#include "halo/net/server.h"

#include <grpcpp/health_check_service_interface.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "halo/net/call_metrics.h"
#include "health_service.h"

namespace halo::net {

absl::StatusOr<std::unique_ptr<Server>> Server::Start(const std::vector<std::string>& addresses,
                                                      const TlsMaterial& tls,
                                                      const std::vector<NamedService>& services,
                                                      int max_request_bytes, monitoring::Registry* metrics) {
  std::set<std::string> service_names;
  for (const NamedService& service : services) service_names.insert(service.name);
  auto health = std::make_unique<HealthService>(std::move(service_names));
  grpc::EnableDefaultHealthCheckService(false);
  grpc::ServerBuilder builder;
  builder.RegisterService(health.get());
  // 64 MiB: register vectors and blobs stream in chunks well below this.
  builder.SetMaxReceiveMessageSize(max_request_bytes);
  // gRPC's sync server lets a worker thread end when more than MAX_POLLERS
  // are idle, so under many concurrent callers it creates and destroys a
  // thread nearly every call; keeping idle threads costs a stack each.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 256);
  // Fail fast instead of sharing a port with another process.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::vector<int> ports(addresses.size(), 0);
  for (size_t i = 0; i < addresses.size(); ++i) {
    builder.AddListeningPort(addresses[i], ServerCredentials(tls), &ports[i]);
  }
  for (const NamedService& service : services) builder.RegisterService(service.service);
  if (metrics != nullptr) {
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
    interceptors.push_back(ServerCallMetrics(*metrics));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (server == nullptr || ports[i] == 0) {
      if (server != nullptr) server->Shutdown();
      return absl::UnavailableError(
          absl::StrCat("cannot listen on ", addresses[i], " (in use, or not an address of this host)"));
    }
  }
  return std::unique_ptr<Server>(new Server(std::move(health), std::move(server), std::move(ports)));
}

Server::Server(std::unique_ptr<HealthService> health, std::unique_ptr<grpc::Server> server,
               std::vector<int> ports)
    : health_(std::move(health)), server_(std::move(server)), ports_(std::move(ports)) {}

Server::~Server() { Shutdown(absl::ZeroDuration()); }

void Server::Shutdown(absl::Duration grace) {
  if (shut_down_) return;
  shut_down_ = true;
  health_->BeginShutdown();
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
  server_->Wait();
}

}  // namespace halo::net
