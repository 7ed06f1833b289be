// gRPC calls' durations by method and status code, as histograms in a
// role's metrics: halo_cmm_rpc_server_duration_seconds for calls it serves,
// halo_cmm_rpc_client_duration_seconds for calls it makes. Methods come
// from the services' definitions, so the label sets stay bounded.
#ifndef HALO_NET_CALL_METRICS_H_
#define HALO_NET_CALL_METRICS_H_

#include <grpcpp/support/client_interceptor.h>
#include <grpcpp/support/server_interceptor.h>

#include <memory>
#include <string>

#include "halo/monitoring/metrics.h"

namespace halo::net {

// "NOT_FOUND" for grpc::StatusCode::NOT_FOUND.
std::string StatusCodeName(grpc::StatusCode code);

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ServerCallMetrics(
    monitoring::Registry& registry);
std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> ClientCallMetrics(
    monitoring::Registry& registry);

}  // namespace halo::net

#endif  // HALO_NET_CALL_METRICS_H_
