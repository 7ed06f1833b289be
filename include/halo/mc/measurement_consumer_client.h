// A measurement consumer's side of the public API: asks for measurements
// (signing the spec, and encrypting each EDP's RequisitionSpec to that EDP's
// verified key), follows them, and opens results: decrypts each with the
// MC's key and verifies it was signed by the party that should have computed
// it (the aggregator duchy, or for direct measurements each EDP). Used by
// `halo mc`, `halo demo` and tests. Thread-compatible.
#ifndef HALO_MC_MEASUREMENT_CONSUMER_CLIENT_H_
#define HALO_MC_MEASUREMENT_CONSUMER_CLIENT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "halo/api/content_signer.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/client/certificate_resolver.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/crypto/signing.h"
#include "halo/net/tls.h"

namespace halo::mc {

enum class MeasurementType { kReach, kReachAndFrequency, kImpression, kDuration };

struct EventGroupEntry {
  std::string event_group;  // dataProviders/{dp}/eventGroups/{eg}
  int64_t start_micros = 0;
  int64_t end_micros = 0;
  std::string filter;
};

struct MeasurementRequest {
  MeasurementType type = MeasurementType::kReach;
  // Each event group's data provider is the prefix of its name.
  std::vector<EventGroupEntry> event_groups;
  // Reach's (or the impression's, or the duration's) privacy params.
  api::v1::DifferentialPrivacyParams privacy;
  // Reach and frequency: the frequency's.
  api::v1::DifferentialPrivacyParams frequency_privacy;
  int maximum_frequency = 10;
  int maximum_frequency_per_user = 10;
  int maximum_watch_duration_seconds = 3600;
  double vid_sampling_start = 0;
  double vid_sampling_width = 1;
  std::string reference_id;
  // A retried create with the same id returns the first measurement.
  std::string request_id;
};

struct McClientOptions {
  std::string measurement_consumer;  // measurementConsumers/{mc}
  std::string kingdom_target;
  net::TlsMaterial tls;
  // Signs measurement and requisition specs; required.
  std::optional<api::ContentSigner> signer;
  crypto::EncryptionKeyPair encryption_key = crypto::EncryptionKeyPair::Generate();
};

class McClient {
 public:
  static absl::StatusOr<std::unique_ptr<McClient>> Create(McClientOptions options);

  // Refuses a request with no event group or an event group name without a
  // data provider (INVALID_ARGUMENT), and an EDP whose key is not signed by
  // its certificate (PERMISSION_DENIED).
  absl::StatusOr<api::v1::Measurement> CreateMeasurement(const MeasurementRequest& request);
  absl::StatusOr<api::v1::Measurement> GetMeasurement(const std::string& name);
  // The event groups data providers share with this MC.
  absl::StatusOr<std::vector<api::v1::EventGroup>> ListEventGroups();
  // Up to `limit` measurements, newest first by name order of the Kingdom.
  absl::StatusOr<std::vector<api::v1::Measurement>> ListMeasurements(
      const std::vector<api::v1::Measurement::State>& states, int limit);
  absl::StatusOr<api::v1::Measurement> CancelMeasurement(const std::string& name);
  // Polls until the measurement succeeds, fails or is cancelled;
  // DEADLINE_EXCEEDED after `timeout`. `on_poll`, if given, sees the
  // measurement as each poll finds it (its state and duchies' progress).
  absl::StatusOr<api::v1::Measurement> AwaitMeasurement(
      const std::string& name, absl::Duration timeout,
      const std::function<void(const api::v1::Measurement&)>& on_poll = nullptr);

  // The result of a SUCCEEDED measurement: each part decrypted and its
  // signature checked against a certificate of the party that had to
  // compute it; direct results of several EDPs added up. PERMISSION_DENIED
  // if any check fails; FAILED_PRECONDITION if it has not succeeded.
  absl::StatusOr<api::v1::MeasurementResult> OpenResult(const api::v1::Measurement& measurement);

 private:
  McClient(McClientOptions options, std::string certificate, crypto::SigningKey signing_key,
           std::shared_ptr<grpc::Channel> kingdom, crypto::TrustedRoots trusted_roots);
  absl::StatusOr<crypto::EcPoint> DataProviderKey(const std::string& data_provider, std::string* certificate);

  McClientOptions options_;
  std::string certificate_;
  crypto::SigningKey signing_key_;
  std::shared_ptr<grpc::Channel> kingdom_;
  client::CertificateResolver certificates_;
  std::unique_ptr<api::v1::Measurements::Stub> measurements_;
  std::unique_ptr<api::v1::DataProviders::Stub> data_providers_;
  std::unique_ptr<api::v1::EventGroups::Stub> event_groups_;
};

}  // namespace halo::mc

#endif  // HALO_MC_MEASUREMENT_CONSUMER_CLIENT_H_
