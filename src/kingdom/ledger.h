// The Kingdom's records and every rule that changes them: entities and their
// certificates, event groups, measurements with their requisitions and
// computation participants. Each method that changes state is one database
// transaction; the gRPC services only authenticate and translate. On
// PostgreSQL several Ledgers (Kingdom replicas) share one database: writes
// take turns on one row, and each replica hears the others' changes.
//
// Errors follow the reference: INVALID_ARGUMENT names the bad field,
// NOT_FOUND an unknown resource, PERMISSION_DENIED a resource of another
// party, FAILED_PRECONDITION an illegal transition, ABORTED an etag mismatch,
// ALREADY_EXISTS a taken id.
#ifndef HALO_SRC_KINGDOM_LEDGER_H_
#define HALO_SRC_KINGDOM_LEDGER_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "halo/api/v1/public.pb.h"
#include "halo/api/v1/system.pb.h"
#include "halo/config/config.pb.h"
#include "halo/crypto/certificate.h"
#include "halo/kingdom/records.pb.h"
#include "halo/storage/database.h"
#include "repositories.h"

namespace halo::kingdom {

// Who is calling, from its client certificate.
struct Principal {
  enum class Kind { kAdministrator, kDataProvider, kMeasurementConsumer, kDuchy, kModelProvider };
  Kind kind;
  // The resource name ("dataProviders/edp1") or, for an administrator, the
  // certificate subject.
  std::string name;
};

// Wakes long-polls and streams when anything changes.
class ChangeNotifier {
 public:
  int64_t version() const;
  void Notify();
  // Waits until the version differs from `seen` or `timeout` passes; returns
  // the current version.
  int64_t WaitForChange(int64_t seen, absl::Duration timeout) const;

 private:
  mutable absl::Mutex mu_;
  int64_t version_ ABSL_GUARDED_BY(mu_) = 0;
};

struct Page {
  int32_t size = 0;
  std::string token;
};

// Every write to the Kingdom's records takes its turn on one row
// (write_clock): it waits for every other writer, on any replica, to commit,
// and gets an update time strictly after every earlier one. Update times are
// etags, and streams resume after one. Within a process, writers first queue
// here: the turn admits one at a time anyway, and a writer waiting for it
// would hold a database connection that readers need while a commit is slow.
class WriteTurns {
 public:
  WriteTurns(storage::Database& db, std::function<absl::Time()> clock) : db_(db), clock_(std::move(clock)) {}

  // Runs `body` in a transaction that holds the turn; `now` is the turn's
  // time, no earlier than the clock's. `unless_skipped`, if given, runs
  // first in the same transaction, before the turn; when it says false,
  // the transaction ends with nothing written.
  absl::Status Run(const std::function<absl::Status(int64_t now)>& body,
                   const std::function<absl::StatusOr<bool>()>& unless_skipped = nullptr);

 private:
  storage::Database& db_;
  std::function<absl::Time()> clock_;
  absl::Mutex queue_;
};

class Ledger {
 public:
  struct Options {
    // SQLite's file, unless config.database names PostgreSQL.
    std::string database_path;
    config::KingdomConfig config;
    // The roots of tls.trusted_ca_file: an entity's root must be one of
    // them, or its certificates could not connect.
    crypto::TrustedRoots trusted_roots;
    std::function<absl::Time()> clock = [] { return absl::Now(); };
    std::string replay_seed;  // KingdomServerOptions::replay_seed
  };
  static absl::StatusOr<std::unique_ptr<Ledger>> Open(Options options);

  ChangeNotifier& changes() { return changes_; }
  // The database, shared with the exchange ledger.
  storage::Database& database() { return *db_; }
  WriteTurns& write_turns() { return write_turns_; }

  // The principal of a TLS peer presenting `certificate_pem`: an
  // administrator named in the config, or an entity holding that registered,
  // unrevoked certificate. UNAUTHENTICATED otherwise, saying why. Answers
  // are remembered per certificate until any certificate is revoked, since
  // parsing and looking one up costs more than most calls.
  absl::StatusOr<Principal> Authenticate(absl::string_view certificate_pem);

  // Entities (administrators).
  absl::StatusOr<api::v1::DataProvider> CreateDataProvider(const api::v1::CreateDataProviderRequest& request);
  absl::StatusOr<api::v1::MeasurementConsumer> CreateMeasurementConsumer(
      const api::v1::CreateMeasurementConsumerRequest& request);
  absl::StatusOr<api::v1::Duchy> CreateDuchy(const api::v1::CreateDuchyRequest& request);
  absl::StatusOr<api::v1::ModelProvider> CreateModelProvider(const api::v1::CreateModelProviderRequest& request);
  // Entities of one collection ("dataProviders", ...), as serialized protos.
  absl::StatusOr<api::v1::DataProvider> GetDataProvider(const std::string& name);
  absl::StatusOr<std::vector<std::string>> ListEntities(const std::string& collection, const Page& page,
                                                        std::string* next_page_token);

  // Certificates.
  absl::StatusOr<api::v1::Certificate> CreateCertificate(const Principal& caller,
                                                         const api::v1::CreateCertificateRequest& request);
  absl::StatusOr<api::v1::Certificate> GetCertificate(const std::string& name);
  absl::StatusOr<api::v1::Certificate> RevokeCertificate(const Principal& caller, const std::string& name);

  // Event groups.
  absl::StatusOr<api::v1::EventGroup> CreateEventGroup(const Principal& caller,
                                                       const api::v1::CreateEventGroupRequest& request);
  absl::StatusOr<api::v1::EventGroup> GetEventGroup(const Principal& caller, const std::string& name);
  absl::StatusOr<api::v1::ListEventGroupsResponse> ListEventGroups(const Principal& caller,
                                                                   const api::v1::ListEventGroupsRequest& request);
  absl::StatusOr<api::v1::EventGroup> UpdateEventGroup(const Principal& caller,
                                                       const api::v1::UpdateEventGroupRequest& request);
  absl::Status DeleteEventGroup(const Principal& caller, const api::v1::DeleteEventGroupRequest& request);

  // Measurements (measurement consumers).
  absl::StatusOr<api::v1::Measurement> CreateMeasurement(const Principal& caller,
                                                         const api::v1::CreateMeasurementRequest& request);
  absl::StatusOr<api::v1::Measurement> GetMeasurement(const Principal& caller, const std::string& name);
  absl::StatusOr<api::v1::ListMeasurementsResponse> ListMeasurements(
      const Principal& caller, const api::v1::ListMeasurementsRequest& request);
  absl::StatusOr<api::v1::Measurement> CancelMeasurement(const Principal& caller,
                                                         const api::v1::CancelMeasurementRequest& request);

  // Requisitions (data providers).
  absl::StatusOr<api::v1::ListRequisitionsResponse> ListRequisitions(
      const Principal& caller, const api::v1::ListRequisitionsRequest& request);
  absl::StatusOr<api::v1::Requisition> GetRequisition(const Principal& caller, const std::string& name);
  absl::StatusOr<api::v1::Requisition> RefuseRequisition(const Principal& caller,
                                                         const api::v1::RefuseRequisitionRequest& request);
  absl::StatusOr<api::v1::Requisition> FulfillDirectRequisition(
      const Principal& caller, const api::v1::FulfillDirectRequisitionRequest& request);

  // Computations (duchies).
  // The caller's computations after `continuation_token` (see the proto),
  // at most `limit`.
  absl::StatusOr<std::vector<api::v1::StreamActiveComputationsResponse>> ActiveComputations(
      const Principal& caller, const std::string& continuation_token, int limit);
  absl::StatusOr<api::v1::Computation> GetComputation(const Principal& caller, const std::string& name);
  absl::StatusOr<api::v1::Computation> SetParticipantRequisitionParams(
      const Principal& caller, const api::v1::SetParticipantRequisitionParamsRequest& request);
  absl::StatusOr<api::v1::Computation> ConfirmComputationParticipant(
      const Principal& caller, const api::v1::ConfirmComputationParticipantRequest& request);
  absl::StatusOr<api::v1::Computation> FulfillRequisition(const Principal& caller,
                                                          const api::v1::FulfillRequisitionRequest& request);
  absl::StatusOr<api::v1::Computation> SetComputationResult(const Principal& caller,
                                                            const api::v1::SetComputationResultRequest& request);
  absl::StatusOr<api::v1::Computation> FailComputationParticipant(
      const Principal& caller, const api::v1::FailComputationParticipantRequest& request);
  absl::StatusOr<api::v1::ComputationLogEntry> CreateComputationLogEntry(
      const Principal& caller, const api::v1::CreateComputationLogEntryRequest& request);

  // Housekeeping: cancels measurements pending longer than the configured
  // time and deletes finished ones past retention. Returns how many of each.
  // For monitoring: how many measurements are in each computation state,
  // by the state's name; those not over, or those over that were created
  // in the last day.
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> MeasurementsByState(bool over);
  // The `limit` measurements that failed last, newest first.
  absl::StatusOr<std::vector<StoredMeasurement>> RecentFailures(int limit);
  // OK when the database answers a query.
  absl::Status CheckDatabase();

  struct HousekeepingResult {
    int cancelled = 0;
    int deleted = 0;
  };
  absl::StatusOr<HousekeepingResult> RunHousekeeping();

 private:
  using MeasurementRow = StoredMeasurement;
  explicit Ledger(Options options, std::unique_ptr<storage::Database> db);

  absl::Status WriteTransaction(const std::function<absl::Status(int64_t now)>& body);

  absl::StatusOr<crypto::Certificate> CheckEntityRoot(const std::string& der, const std::string& field);
  absl::StatusOr<crypto::Certificate> RootOf(const std::string& entity);
  absl::StatusOr<crypto::Certificate> CheckEntityCertificate(const std::string& der, const std::string& owner,
                                                             const crypto::Certificate& root,
                                                             const std::string& field,
                                                             std::optional<crypto::CertificateUse> use = std::nullopt);
  template <typename Entity>
  absl::StatusOr<Entity> RegisterEntity(const std::string& id, absl::string_view id_field,
                                        absl::string_view collection, int kind, Entity entity,
                                        absl::string_view entity_field,
                                        const std::function<absl::Status(const crypto::Certificate&, Entity&)>& check);
  absl::StatusOr<api::v1::Certificate> InsertCertificate(const std::string& name, const std::string& parent,
                                                         const crypto::Certificate& certificate);
  absl::StatusOr<api::v1::Certificate> LoadCertificate(const std::string& name);
  // The X.509 certificate of a stored one, parsed once: certificate bytes
  // never change (revocation is a separate column).
  absl::StatusOr<crypto::Certificate> ParsedCertificate(const api::v1::Certificate& stored);
  absl::StatusOr<Principal> AuthenticateUncached(absl::string_view certificate_pem);
  // Forgets every remembered authentication: a certificate was revoked, here
  // or on another replica.
  void ForgetPeers();
  // A content-signing certificate of `owner`, not revoked: what a signature
  // it is named by must be checked against.
  absl::StatusOr<crypto::Certificate> UsableCertificateOf(const std::string& owner, const std::string& name,
                                                          const std::string& field);
  // `message` holds a `type` message signed by a usable certificate of `owner`.
  absl::Status VerifySigned(const api::v1::SignedMessage& message, const std::string& owner,
                            const std::string& field, const google::protobuf::MessageLite& type);

  absl::StatusOr<MeasurementRow> LoadMeasurement(const std::string& name);
  // The measurement `consumer` created with `request_id`, if any (an empty
  // id names none).
  absl::StatusOr<std::optional<api::v1::Measurement>> MeasurementOfRequest(const std::string& consumer,
                                                                            const std::string& request_id);
  absl::StatusOr<MeasurementRow> LoadComputation(const std::string& computation_name);
  absl::Status SaveMeasurement(MeasurementRow& row, int64_t now);
  absl::StatusOr<std::vector<RequisitionRecord>> LoadRequisitions(const std::string& measurement);
  absl::Status SaveRequisition(const RequisitionRecord& record, int64_t now);
  absl::StatusOr<RequisitionRecord> LoadRequisition(const std::string& column, const std::string& name);
  absl::Status EndMeasurement(MeasurementRow& row, api::v1::Computation::State state,
                              api::v1::Measurement::Failure::Reason reason, const std::string& message,
                              int64_t now);
  api::v1::Measurement PublicView(const MeasurementRow& row) const;
  absl::StatusOr<api::v1::Computation> ComputationView(const MeasurementRow& row);
  absl::StatusOr<MeasurementRow> ComputationForParticipant(const Principal& caller, const std::string& name,
                                                           const std::string& etag);

  Options options_;
  std::unique_ptr<storage::Database> db_;
  WriteTurns write_turns_;
  EntityRepository entities_;
  CertificateRepository certificates_;
  EventGroupRepository event_groups_;
  MeasurementRepository measurements_;
  RequisitionRepository requisitions_;
  ChangeNotifier changes_;
  absl::Mutex peers_mu_;
  absl::flat_hash_map<std::string, Principal> peers_ ABSL_GUARDED_BY(peers_mu_);
  // Bumped by each revocation, so that an answer looked up before it is not
  // remembered after it.
  int64_t revocations_ ABSL_GUARDED_BY(peers_mu_) = 0;
  absl::Mutex parsed_mu_;
  absl::flat_hash_map<std::string, crypto::Certificate> parsed_ ABSL_GUARDED_BY(parsed_mu_);
};

}  // namespace halo::kingdom

#endif  // HALO_SRC_KINGDOM_LEDGER_H_
