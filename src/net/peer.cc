#include "halo/net/peer.h"

#include <spdlog/spdlog.h>

#include <optional>

#include "absl/strings/str_cat.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "halo/net/call_metrics.h"

namespace halo::net {

std::string DuchySubject(absl::string_view duchy_id) { return absl::StrCat("duchies/", duchy_id); }

std::shared_ptr<grpc::Channel> OpenChannel(const std::string& target, const TlsMaterial& tls,
                                           absl::string_view server_subject, monitoring::Registry* metrics) {
  grpc::ChannelArguments arguments;
  // gRPC waits up to two minutes between reconnections by default: a party
  // would sit idle that long after a peer it needs comes back from a crash
  // or a restart. A few seconds bounds the stall and costs a loopback or LAN
  // connection attempt now and then.
  arguments.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 250);
  arguments.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
  if (metrics == nullptr) return grpc::CreateCustomChannel(target, ChannelCredentials(tls, server_subject), arguments);
  std::vector<std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(ClientCallMetrics(*metrics));
  return grpc::experimental::CreateCustomChannelWithInterceptors(target, ChannelCredentials(tls, server_subject),
                                                                 arguments, std::move(interceptors));
}

absl::Status CheckHealth(grpc::Channel& channel, absl::Duration deadline) {
  auto stub = grpc::health::v1::Health::NewStub(
      std::shared_ptr<grpc::Channel>(&channel, [](grpc::Channel*) {}));
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + deadline));
  grpc::health::v1::HealthCheckResponse response;
  grpc::Status status = stub->Check(&context, grpc::health::v1::HealthCheckRequest(), &response);
  if (!status.ok()) {
    return absl::UnavailableError(absl::StrCat("health check failed: ", status.error_message()));
  }
  if (response.status() != grpc::health::v1::HealthCheckResponse::SERVING) {
    return absl::UnavailableError("peer is up but not serving");
  }
  return absl::OkStatus();
}

void WatchPeerUntilShutdown(grpc::Channel& channel, const std::string& peer_name,
                            absl::Duration interval, const ShutdownSignal& shutdown) {
  std::optional<bool> was_up;
  do {
    const absl::Status health = CheckHealth(channel, absl::Seconds(5));
    if (!was_up.has_value() || *was_up != health.ok()) {
      if (health.ok()) {
        spdlog::info("{} is reachable", peer_name);
      } else {
        spdlog::warn("{} is unreachable: {}", peer_name, std::string(health.message()));
      }
      was_up = health.ok();
    }
  } while (!shutdown.WaitFor(interval));
}

}  // namespace halo::net
