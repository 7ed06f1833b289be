#include "duchy_context.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "halo/api/certificate_name.h"
#include "halo/common/status_macros.h"
#include "halo/net/peer.h"

namespace halo::duchy {

DuchyContext::DuchyContext(std::string duchy_id, std::string certificate, crypto::SigningKey signing_key,
                           net::TlsMaterial tls, std::unique_ptr<ComputationStore> store,
                           std::unique_ptr<storage::BlobStore> blobs, std::shared_ptr<grpc::Channel> kingdom,
                           crypto::TrustedRoots trusted_roots)
    : duchy_id_(std::move(duchy_id)), certificate_(std::move(certificate)), signing_key_(std::move(signing_key)),
      tls_(std::move(tls)), store_(std::move(store)), blobs_(std::move(blobs)),
      kingdom_(api::v1::Computations::NewStub(kingdom)),
      // A revoked peer certificate stops working here within a minute.
      certificates_(kingdom, std::move(trusted_roots), absl::Minutes(1)),
      stage_reporter_(kingdom) {}

absl::StatusOr<std::string> DuchyContext::AuthenticatePeer(const grpc::ServerContext& context) {
  const auto pem = context.auth_context()->FindPropertyValues("x509_pem_cert");
  if (pem.empty()) return absl::UnauthenticatedError("no client certificate");
  ASSIGN_OR_RETURN(crypto::Certificate presented,
                   crypto::Certificate::FromPem(absl::string_view(pem.front().data(), pem.front().size())));
  const std::string entity = presented.SubjectName();
  if (!presented.AllowsUse(crypto::CertificateUse::kTls)) {
    return absl::UnauthenticatedError(absl::StrCat("the client certificate of \"", entity.substr(0, 200),
                                                   "\" is not a TLS certificate"));
  }
  if (!absl::StartsWith(entity, "duchies/") && !absl::StartsWith(entity, "dataProviders/")) {
    return absl::PermissionDeniedError(absl::StrCat("\"", entity.substr(0, 200), "\" is neither a duchy nor a data provider"));
  }
  RETURN_IF_ERROR(CheckRegistered(entity, presented));
  return entity;
}

absl::Status DuchyContext::CheckRegistered(const std::string& entity, const crypto::Certificate& certificate) {
  const std::string name = api::CertificateName(entity, certificate);
  absl::StatusOr<crypto::Certificate> registered = certificates_.ResolveOf(name, entity);
  if (absl::IsNotFound(registered.status())) {
    return absl::PermissionDeniedError(
        absl::StrCat("the certificate of \"", entity, "\" is not registered with the Kingdom"));
  }
  RETURN_IF_ERROR(registered.status());
  if (registered->ToDer() != certificate.ToDer()) {
    return absl::PermissionDeniedError(
        absl::StrCat("the certificate of \"", entity, "\" is not the one the Kingdom registered as ", name));
  }
  return absl::OkStatus();
}

void DuchyContext::SetPeerTarget(const std::string& duchy_id, const std::string& target) {
  absl::MutexLock lock(&mu_);
  peer_targets_[duchy_id] = target;
  peers_.erase(duchy_id);
}

HeraldMetrics::HeraldMetrics(monitoring::Registry& registry)
    : takeovers(registry.AddCounter("halo_cmm_computation_lease_takeovers_total",
                                    "Claims that took a computation over from a mill whose lease lapsed mid-stage",
                                    {"stage"})),
      lag(registry.AddHistogram("halo_cmm_herald_lag_seconds",
                                "From a computation's change at the Kingdom to this duchy's herald applying it", {},
                                monitoring::CallSecondsBuckets())),
      last_contact(registry.AddGauge("halo_cmm_herald_last_contact_timestamp_seconds",
                                     "When the herald last heard from the Kingdom's computation stream (Unix time)")) {}

void DuchyContext::AttachMetrics(monitoring::Registry& registry) {
  registry_ = &registry;
  metrics_ = std::make_unique<HeraldMetrics>(registry);
}

absl::StatusOr<v1::ComputationControl::Stub*> DuchyContext::Peer(const std::string& duchy_id) {
  absl::MutexLock lock(&mu_);
  auto& stub = peers_[duchy_id];
  if (stub == nullptr) {
    auto target = peer_targets_.find(duchy_id);
    if (target == peer_targets_.end()) {
      peers_.erase(duchy_id);
      return absl::NotFoundError(absl::StrCat("duchy.peers has no computation_control_target for duchy \"", duchy_id,
                                              "\""));
    }
    stub = v1::ComputationControl::NewStub(
        net::OpenChannel(target->second, tls_, net::DuchySubject(duchy_id), registry_));
  }
  return stub.get();
}

absl::StatusOr<api::v1::Computation> DuchyContext::GetComputation(const std::string& name) {
  api::v1::GetComputationRequest request;
  request.set_name(name);
  return CallKingdom(&api::v1::Computations::Stub::GetComputation, request, "GetComputation");
}

absl::StatusOr<std::pair<int, std::vector<StageStep>>> PlanFor(const api::v1::Computation& computation,
                                                               const std::string& duchy_id) {
  const auto& duchies = computation.protocol_config().duchies();
  const auto it = std::find(duchies.begin(), duchies.end(), duchy_id);
  if (it == duchies.end()) {
    return absl::NotFoundError(absl::StrCat(computation.name(), " does not include duchy ", duchy_id));
  }
  const int position = static_cast<int>(it - duchies.begin());
  ASSIGN_OR_RETURN(std::vector<StageStep> plan,
                   StagePlan(computation.protocol_config().protocol(), position, duchies.size()));
  return std::make_pair(position, std::move(plan));
}

absl::StatusOr<KnownComputation> Know(const LocalComputation& local) {
  KnownComputation known;
  if (!known.details.ParseFromString(local.details)) {
    return absl::DataLossError(absl::StrCat("the stored details of ", local.name, " do not parse"));
  }
  const auto& duchies = known.details.computation().protocol_config().duchies();
  ASSIGN_OR_RETURN(known.plan, StagePlan(known.details.computation().protocol_config().protocol(),
                                         known.details.position(), duchies.size()));
  return known;
}

}  // namespace halo::duchy
