// What the herald, the mills and the servers of one duchy share.
#ifndef HALO_SRC_DUCHY_DUCHY_CONTEXT_H_
#define HALO_SRC_DUCHY_DUCHY_CONTEXT_H_

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "grpcpp/grpcpp.h"
#include "halo/monitoring/metrics.h"
#include "stage_reporter.h"
#include "halo/api/v1/system.grpc.pb.h"
#include "halo/client/certificate_resolver.h"
#include "halo/crypto/signing.h"
#include "halo/net/call.h"
#include "halo/duchy/computation_store.h"
#include "halo/duchy/stage_plan.h"
#include "halo/duchy/v1/duchy.grpc.pb.h"
#include "halo/duchy/v1/records.pb.h"
#include "halo/net/tls.h"
#include "halo/storage/blob_store.h"

namespace halo::duchy {

// Largest stage input or upload accepted: a full LLv2 register vector of
// 2^22 registers with room to spare.
inline constexpr int64_t kMaxBlobBytes = int64_t{4} << 30;

// What a duchy's herald side counts, beside its mills' stages (mill.h).
struct HeraldMetrics {
  explicit HeraldMetrics(monitoring::Registry& registry);
  // Claims that took a computation over from a mill whose lease lapsed.
  monitoring::Counter& takeovers;
  // From a change at the Kingdom to the herald applying it.
  monitoring::Histogram& lag;
  // When the herald last heard from the Kingdom's stream.
  monitoring::Gauge& last_contact;
};

class DuchyContext {
 public:
  DuchyContext(std::string duchy_id, std::string certificate, crypto::SigningKey signing_key, net::TlsMaterial tls,
               std::unique_ptr<ComputationStore> store, std::unique_ptr<storage::BlobStore> blobs,
               std::shared_ptr<grpc::Channel> kingdom, crypto::TrustedRoots trusted_roots);

  const std::string& duchy_id() const { return duchy_id_; }
  // Its registered certificate's resource name, to sign with.
  const std::string& certificate() const { return certificate_; }
  const crypto::SigningKey& signing_key() const { return signing_key_; }
  ComputationStore& store() { return *store_; }
  storage::BlobStore& blobs() { return *blobs_; }
  api::v1::Computations::Stub& kingdom() { return *kingdom_; }
  // One call to the Kingdom's system API with a 30-second deadline; a
  // failure's status names `call`.
  template <typename Request>
  absl::StatusOr<api::v1::Computation> CallKingdom(
      grpc::Status (api::v1::Computations::Stub::*method)(grpc::ClientContext*, const Request&, api::v1::Computation*),
      const Request& request, absl::string_view call);
  absl::StatusOr<api::v1::Computation> GetComputation(const std::string& name);
  // A call that changes `computation` at the Kingdom once. A retry that
  // the Kingdom refuses as FAILED_PRECONDITION is OK if `already_done`
  // holds of the computation as the Kingdom now has it.
  template <typename Request>
  absl::Status CallKingdomOnce(
      grpc::Status (api::v1::Computations::Stub::*method)(grpc::ClientContext*, const Request&, api::v1::Computation*),
      const Request& request, absl::string_view call, const std::string& computation,
      const std::function<bool(const api::v1::Computation&)>& already_done);
  const std::string& trusted_ca_pem() const { return tls_.trusted_ca_pem; }
  // The resource name of the peer (a duchy or an EDP) calling one of this
  // duchy's servers. Its TLS certificate must be one the Kingdom registered
  // for that entity (so issued by the entity's own root) and not revoked:
  // another organisation's root can write any subject, but cannot get it
  // registered. PERMISSION_DENIED or UNAUTHENTICATED naming why.
  absl::StatusOr<std::string> AuthenticatePeer(const grpc::ServerContext& context);
  // OK when `certificate` is one the Kingdom registered for `entity` and
  // has not revoked (as of at most a minute ago); PERMISSION_DENIED naming
  // the certificate otherwise.
  absl::Status CheckRegistered(const std::string& entity, const crypto::Certificate& certificate);
  void SetPeerTarget(const std::string& duchy_id, const std::string& target);
  // The ComputationControl stub of another duchy; NOT_FOUND if the config
  // does not say where it is.
  absl::StatusOr<v1::ComputationControl::Stub*> Peer(const std::string& duchy_id);

  // Tells the Kingdom, in the background, that this duchy works on
  // `computation` at `stage` (a stage name, or COMPLETE).
  void ReportStage(const std::string& computation, const std::string& stage, int attempt) {
    stage_reporter_.Report(computation, stage, attempt);
  }
  // Peer channels opened from now on are timed in `registry`, and the
  // herald's counts kept there. Call before serving; not owned.
  void AttachMetrics(monitoring::Registry& registry);
  HeraldMetrics* metrics() { return metrics_.get(); }

 private:
  std::string duchy_id_;
  std::string certificate_;
  crypto::SigningKey signing_key_;
  net::TlsMaterial tls_;
  std::unique_ptr<ComputationStore> store_;
  std::unique_ptr<storage::BlobStore> blobs_;
  std::unique_ptr<api::v1::Computations::Stub> kingdom_;
  client::CertificateResolver certificates_;
  absl::Mutex mu_;
  std::map<std::string, std::string> peer_targets_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::unique_ptr<v1::ComputationControl::Stub>> peers_ ABSL_GUARDED_BY(mu_);
  monitoring::Registry* registry_ = nullptr;
  std::unique_ptr<HeraldMetrics> metrics_;
  StageReporter stage_reporter_;
};

// A computation as this duchy knows it: its details and its plan.
struct KnownComputation {
  v1::ComputationDetails details;
  std::vector<StageStep> plan;
  const api::v1::ProtocolConfig& protocol_config() const { return details.computation().protocol_config(); }
};
absl::StatusOr<KnownComputation> Know(const LocalComputation& local);
// The plan of this duchy in `computation`, and its position; NOT_FOUND if it
// does not take part.
absl::StatusOr<std::pair<int, std::vector<StageStep>>> PlanFor(const api::v1::Computation& computation,
                                                               const std::string& duchy_id);

using net::FromGrpc;
using net::ToGrpc;

template <typename Request>
absl::StatusOr<api::v1::Computation> DuchyContext::CallKingdom(
    grpc::Status (api::v1::Computations::Stub::*method)(grpc::ClientContext*, const Request&, api::v1::Computation*),
    const Request& request, absl::string_view call) {
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  api::v1::Computation response;
  const grpc::Status status = (kingdom_.get()->*method)(&context, request, &response);
  if (!status.ok()) return FromGrpc(status, absl::StrCat("the Kingdom's ", call));
  return response;
}

template <typename Request>
absl::Status DuchyContext::CallKingdomOnce(
    grpc::Status (api::v1::Computations::Stub::*method)(grpc::ClientContext*, const Request&, api::v1::Computation*),
    const Request& request, absl::string_view call, const std::string& computation,
    const std::function<bool(const api::v1::Computation&)>& already_done) {
  absl::StatusOr<api::v1::Computation> changed = CallKingdom(method, request, call);
  if (absl::IsFailedPrecondition(changed.status())) {
    absl::StatusOr<api::v1::Computation> now = GetComputation(computation);
    if (now.ok() && already_done(*now)) return absl::OkStatus();
  }
  return changed.status();
}

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_DUCHY_CONTEXT_H_
