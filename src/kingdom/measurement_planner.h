// What the Kingdom decides about a measurement before it writes anything,
// with no I/O: whether a CreateMeasurementRequest is well formed, and which
// protocol computes it, configured how. The ledger loads what these need
// (the data providers' capabilities), verifies signatures, and stores the
// plan; these decide.
#ifndef HALO_SRC_KINGDOM_MEASUREMENT_PLANNER_H_
#define HALO_SRC_KINGDOM_MEASUREMENT_PLANNER_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/api/v1/public.pb.h"
#include "halo/config/config.pb.h"

namespace halo::kingdom {

// The most a measurement spec, an encrypted requisition spec or an encrypted
// result may hold: far above what they need (a spec with 64 nonce hashes is
// under 3 KiB), and small enough that a requisition, which carries two of
// them, always fits a page.
constexpr size_t kMaxSpecBytes = 256 << 10;

// INVALID_ARGUMENT "field: problem".
absl::Status InvalidField(absl::string_view field, absl::string_view problem);
// At most kMaxSpecBytes.
absl::Status CheckSpecSize(size_t bytes, const std::string& field);
// A serialized EncryptionPublicKey whose point is on P-256.
absl::Status CheckEncryptionKey(const std::string& bytes, absl::string_view field);

// The request's measurement spec, once the request holds on its own: the
// spec parses, its key is a point, every data provider is named once with a
// requisition spec and one of the spec's nonce hashes, sizes are within
// bounds and the VID sampling interval lies in [0, 1). INVALID_ARGUMENT
// naming the field otherwise. The spec's signature is the ledger's to check.
absl::StatusOr<api::v1::MeasurementSpec> CheckMeasurementRequest(const api::v1::CreateMeasurementRequest& request);

// What the planner needs of each data provider, in the request's order.
struct PlannedDataProvider {
  bool supports_hmss = false;
};

struct MeasurementPlan {
  // Protocol, version, population, noise mechanism and, for an MPC, the
  // duchies and the protocol's parameters.
  api::v1::ProtocolConfig config;
  // The duchies that compute, in ring order with the aggregator last; empty
  // for a direct measurement.
  std::vector<std::string> ring;
  // The duchy each data provider uploads to, in the request's order; empty
  // strings for a direct measurement.
  std::vector<std::string> fulfilling_duchies;
};

// The protocol, per the reference's rules (one EDP, or an impression,
// duration or population measurement, is direct; otherwise HMSS when every
// EDP supports it, the Kingdom prefers it and the EDPs' capped frequencies
// fit its ring, else (reach-only) LLv2), configured from `protocols`, with
// the spec's DP parameters checked for it (epsilon at most
// protocols.maximum_epsilon, a delta where its noise needs one, noise that
// can be padded). `replay_seed` as KingdomServerOptions::replay_seed.
absl::StatusOr<MeasurementPlan> PlanMeasurement(const api::v1::MeasurementSpec& spec,
                                                const std::vector<PlannedDataProvider>& providers,
                                                const config::MeasurementProtocols& protocols,
                                                const std::string& replay_seed);

}  // namespace halo::kingdom

#endif  // HALO_SRC_KINGDOM_MEASUREMENT_PLANNER_H_
