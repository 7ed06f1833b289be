#include "halo/net/call_metrics.h"

#include "absl/status/status.h"
#include "absl/time/clock.h"

namespace halo::net {
namespace {

using grpc::experimental::InterceptionHookPoints;

monitoring::Histogram& ServerDurations(monitoring::Registry& registry) {
  return registry.AddHistogram("halo_cmm_rpc_server_duration_seconds",
                               "Duration of gRPC calls this role served, by method and status code",
                               {"method", "code"}, monitoring::CallSecondsBuckets());
}

monitoring::Histogram& ClientDurations(monitoring::Registry& registry) {
  return registry.AddHistogram("halo_cmm_rpc_client_duration_seconds",
                               "Duration of gRPC calls this role made, by method and status code",
                               {"method", "code"}, monitoring::CallSecondsBuckets());
}

// Times one call from its interceptor's creation to its status.
class Timed : public grpc::experimental::Interceptor {
 public:
  Timed(monitoring::Histogram& durations, const char* method, InterceptionHookPoints status_point)
      : durations_(durations), method_(method != nullptr ? method : ""), status_point_(status_point) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(status_point_)) {
      const grpc::StatusCode code = status_point_ == InterceptionHookPoints::PRE_SEND_STATUS
                                        ? methods->GetSendStatus().error_code()
                                        : methods->GetRecvStatus()->error_code();
      durations_.Observe({method_, StatusCodeName(code)}, absl::ToDoubleSeconds(absl::Now() - start_));
    }
    methods->Proceed();
  }

 private:
  monitoring::Histogram& durations_;
  const std::string method_;
  const InterceptionHookPoints status_point_;
  const absl::Time start_ = absl::Now();
};

class ServerFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit ServerFactory(monitoring::Registry& registry) : durations_(ServerDurations(registry)) {}
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    return new Timed(durations_, info->method(), InterceptionHookPoints::PRE_SEND_STATUS);
  }

 private:
  monitoring::Histogram& durations_;
};

class ClientFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit ClientFactory(monitoring::Registry& registry) : durations_(ClientDurations(registry)) {}
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo* info) override {
    return new Timed(durations_, info->method(), InterceptionHookPoints::POST_RECV_STATUS);
  }

 private:
  monitoring::Histogram& durations_;
};

}  // namespace

std::string StatusCodeName(grpc::StatusCode code) {
  // gRPC's codes are absl's, number for number.
  const std::string name = absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
  return name.empty() ? "UNKNOWN" : name;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ServerCallMetrics(
    monitoring::Registry& registry) {
  return std::make_unique<ServerFactory>(registry);
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> ClientCallMetrics(
    monitoring::Registry& registry) {
  return std::make_unique<ClientFactory>(registry);
}

}  // namespace halo::net
