// One unary gRPC call with a deadline, for tests that talk to a server.
#ifndef HALO_TESTS_TESTING_GRPC_CALL_H_
#define HALO_TESTS_TESTING_GRPC_CALL_H_

#include <chrono>

#include "grpcpp/grpcpp.h"

namespace halo::testing {

// Calls `method` on `stub` within 30 s and returns the status; the response
// lands in `out`.
template <typename Stub, typename Request, typename Response>
grpc::Status Call(Stub& stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                  const Request& request, Response* out) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  return (stub.*method)(&context, request, out);
}

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_GRPC_CALL_H_
