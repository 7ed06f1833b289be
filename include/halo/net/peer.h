// Channels to other parties, and a watch on their health for roles that
// depend on a peer being up.
#ifndef HALO_NET_PEER_H_
#define HALO_NET_PEER_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "halo/common/shutdown.h"
#include "halo/net/tls.h"

namespace halo::monitoring {
class Registry;
}  // namespace halo::monitoring

namespace halo::net {

// The subject of the Kingdom's certificate, which every party checks.
inline constexpr char kKingdomSubject[] = "kingdom";
// The subject of duchy `duchy_id`'s certificate.
std::string DuchySubject(absl::string_view duchy_id);

// A channel to `target` whose server must present a certificate for
// `server_subject` (see ChannelCredentials); its calls are timed in
// `metrics` when given.
std::shared_ptr<grpc::Channel> OpenChannel(const std::string& target, const TlsMaterial& tls,
                                           absl::string_view server_subject,
                                           monitoring::Registry* metrics = nullptr);

// One grpc.health.v1 check; OK when the peer answers SERVING within
// `deadline`, else the reason.
absl::Status CheckHealth(grpc::Channel& channel, absl::Duration deadline);

// Checks `peer_name` every `interval` until shutdown, logging when it becomes
// reachable or unreachable.
void WatchPeerUntilShutdown(grpc::Channel& channel, const std::string& peer_name,
                            absl::Duration interval, const ShutdownSignal& shutdown);

}  // namespace halo::net

#endif  // HALO_NET_PEER_H_
