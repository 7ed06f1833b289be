// The work on one requisition: check it (the MC's signatures, the spec's
// nonce and key, the event groups, each duchy's signed key), then measure
// the events it selects and deliver: an encrypted sketch or shares to the
// fulfilling duchy, or a signed, encrypted result to the Kingdom.
// A check that fails returns a status marked with its refusal (refusal.h).
#ifndef HALO_SRC_EDP_REQUISITION_WORK_H_
#define HALO_SRC_EDP_REQUISITION_WORK_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/client/certificate_resolver.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/crypto/signing.h"
#include "halo/edp/event_selection.h"
#include "halo/edp/privacy_budget.h"
#include "halo/net/tls.h"

namespace halo::monitoring {
class Registry;
}  // namespace halo::monitoring

namespace halo::edp {

// What one requisition may ask of this EDP's users (config.proto's
// PrivacyGuardConfig with its defaults filled in).
struct PrivacyLimits {
  double maximum_epsilon = 1.0;
  double maximum_delta = 1e-5;
  int maximum_frequency = 20;
  int maximum_impressions_per_user = 100;
  int maximum_watch_seconds_per_user = 86400;
};

struct RegisteredEventGroup {
  std::string reference_id;
  std::string measurement_consumer;
};

// What the agent knows of itself, shared by every requisition's work.
struct AgentContext {
  std::string data_provider;
  // Where its calls are timed; none when null. Not owned.
  monitoring::Registry* metrics = nullptr;
  std::string certificate;  // the resource name of its certificate
  crypto::SigningKey signing_key = crypto::SigningKey::Generate();
  crypto::EncryptionKeyPair encryption_key = crypto::EncryptionKeyPair::Generate();
  net::TlsMaterial tls;
  std::shared_ptr<grpc::Channel> kingdom;
  std::unique_ptr<client::CertificateResolver> certificates;
  std::map<std::string, std::string> duchy_targets;  // duchy id -> RequisitionFulfillment target
  // By resource name; set at registration, before any work starts.
  std::map<std::string, RegisteredEventGroup> event_groups;
  std::string events_dir;
  int parallelism = 1;
  std::string replay_seed;  // EdpAgentOptions::replay_seed
  PrivacyLimits limits;
  DemographicFields demographics;
  std::unique_ptr<PrivacyBudgetLedger> budget;
};

struct VerifiedRequisition {
  api::v1::Requisition requisition;
  api::v1::MeasurementSpec measurement_spec;
  api::v1::RequisitionSpec requisition_spec;
  std::vector<EventGroupSelection> selections;
};

absl::StatusOr<VerifiedRequisition> VerifyRequisition(const AgentContext& agent,
                                                      const api::v1::Requisition& requisition);

absl::Status FulfilRequisition(const AgentContext& agent, const VerifiedRequisition& verified);

}  // namespace halo::edp

#endif  // HALO_SRC_EDP_REQUISITION_WORK_H_
