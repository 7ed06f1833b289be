// Where the Kingdom's records are kept: one repository per resource kind,
// each the only code that knows its tables. They are written once against
// storage::Database, whose two implementations are the backends (SQLite and
// PostgreSQL; only the schema differs, in each Migration). They hold no
// rules: the Ledger decides, in its transactions, and calls these inside
// them. Methods return NOT_FOUND for an unknown name where a record must
// exist, and nullopt where its absence is an answer.
#ifndef HALO_SRC_KINGDOM_REPOSITORIES_H_
#define HALO_SRC_KINGDOM_REPOSITORIES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/api/v1/exchanges.pb.h"
#include "halo/api/v1/public.pb.h"
#include "halo/api/v1/system.pb.h"
#include "halo/kingdom/records.pb.h"
#include "halo/storage/database.h"

namespace halo::kingdom {

// How entities are told apart in their table.
enum EntityKind { kDataProvider = 1, kMeasurementConsumer = 2, kDuchy = 3, kModelProvider = 4 };

// Data providers, measurement consumers, duchies and model providers, each
// stored as its serialized resource with its organisation's root.
class EntityRepository {
 public:
  explicit EntityRepository(storage::Database& db) : db_(db) {}

  // ALREADY_EXISTS if the name is taken.
  absl::Status Insert(const std::string& name, EntityKind kind, const std::string& data, int64_t create_time,
                      const std::string& root_der);
  // The serialized entity, if one of that name (and, if given, kind) exists.
  absl::StatusOr<std::optional<std::string>> Find(const std::string& name,
                                                  std::optional<EntityKind> kind = std::nullopt);
  // The root's DER: NOT_FOUND for an unknown entity, an empty string for one
  // registered before roots were kept.
  absl::StatusOr<std::string> RootOf(const std::string& name);
  struct Listed {
    std::string name;
    std::string data;
  };
  // At most `limit` entities of `kind` after `after`, in name order.
  absl::StatusOr<std::vector<Listed>> List(EntityKind kind, const std::string& after, int limit);

 private:
  storage::Database& db_;
};

// Registered certificates, by name and by the SHA-256 of their DER.
class CertificateRepository {
 public:
  explicit CertificateRepository(storage::Database& db) : db_(db) {}

  // ALREADY_EXISTS if the name or the certificate is registered already.
  absl::Status Insert(const api::v1::Certificate& certificate, const std::string& parent);
  // With its revocation state; nullopt for an unknown name.
  absl::StatusOr<std::optional<api::v1::Certificate>> Find(const std::string& name);
  struct Owner {
    std::string name;    // the certificate's
    std::string parent;  // the entity's
    bool revoked = false;
  };
  absl::StatusOr<std::optional<Owner>> FindByFingerprint(const std::string& sha256);
  absl::Status Revoke(const std::string& name);

 private:
  storage::Database& db_;
};

class EventGroupRepository {
 public:
  explicit EventGroupRepository(storage::Database& db) : db_(db) {}

  // `request_id` empty for none.
  absl::Status Insert(const api::v1::EventGroup& group, const std::string& data_provider,
                      const std::string& request_id);
  absl::StatusOr<std::optional<api::v1::EventGroup>> Find(const std::string& name);
  // The group `data_provider` created with `request_id`.
  absl::StatusOr<std::optional<api::v1::EventGroup>> FindByRequest(const std::string& data_provider,
                                                                   const std::string& request_id);
  absl::Status Update(const api::v1::EventGroup& group);
  absl::Status Delete(const std::string& name);
  // At most `limit` groups of a data provider (`by_provider`) or for a
  // measurement consumer, after `after`, in name order.
  absl::StatusOr<std::vector<api::v1::EventGroup>> List(bool by_provider, const std::string& owner,
                                                        const std::string& after, int limit);

 private:
  storage::Database& db_;
};

// A measurement as stored: its columns and its record.
struct StoredMeasurement {
  std::string name;
  std::string consumer;
  std::string computation;  // empty for a direct measurement
  int64_t create_time = 0;
  int64_t update_time = 0;
  MeasurementRecord record;
};

// Measurements with their computations' participants and log.
class MeasurementRepository {
 public:
  explicit MeasurementRepository(storage::Database& db) : db_(db) {}

  // `request_id` empty for none.
  absl::Status Insert(const StoredMeasurement& measurement, const std::string& request_id);
  absl::StatusOr<std::optional<StoredMeasurement>> Find(const std::string& name);
  absl::StatusOr<std::optional<std::string>> NameOfComputation(const std::string& computation);
  absl::StatusOr<std::optional<std::string>> NameOfRequest(const std::string& consumer,
                                                           const std::string& request_id);
  // Writes the record, its state and whether it is over, at `update_time`.
  absl::Status Update(const std::string& name, const MeasurementRecord& record, bool terminal, int64_t update_time);
  absl::Status AddParticipant(const std::string& measurement, const std::string& duchy);
  absl::Status AddLogEntry(const std::string& measurement, const std::string& entry);
  absl::StatusOr<int64_t> CountLogEntries(const std::string& measurement);
  // The first `limit` entries, oldest first.
  absl::StatusOr<std::vector<api::v1::ComputationLogEntry>> LogEntries(const std::string& measurement, int limit);

  // Names of the measurements not yet over, optionally only those created
  // before `created_before`.
  absl::StatusOr<std::vector<std::string>> OpenNames(std::optional<int64_t> created_before = std::nullopt);
  // The `limit` measurements in `state` (a Computation::State number) that
  // changed last, newest first.
  absl::StatusOr<std::vector<StoredMeasurement>> LastInState(int state, int limit);
  // How many measurements are in each state (Computation::State numbers):
  // those not over, or those over that were created after `created_after`.
  absl::StatusOr<std::vector<std::pair<int, int64_t>>> CountByState(bool over, int64_t created_after = 0);
  // Deletes the measurements over before `updated_before`, with their
  // requisitions, participants and log; how many.
  absl::StatusOr<int64_t> DeleteFinished(int64_t updated_before);
  // A duchy's computations after (after_time, after_name) in update order, at
  // most `limit`; those over too when `include_over`.
  absl::StatusOr<std::vector<std::string>> NamesForDuchy(const std::string& duchy, int64_t after_time,
                                                         const std::string& after_name, bool include_over,
                                                         int limit);
  // The SQL of a consumer's measurements updated after a time, for a scan
  // by name (parameters: consumer, updated after, then the scan's two).
  static constexpr char kConsumerScan[] =
      "SELECT name FROM measurements WHERE consumer = ? AND update_time > ? AND name > ? ORDER BY name LIMIT ?";

 private:
  storage::Database& db_;
};

class RequisitionRepository {
 public:
  explicit RequisitionRepository(storage::Database& db) : db_(db) {}

  // `visible`: listed to its data provider (it may act on it).
  absl::Status Insert(const RequisitionRecord& requisition, const std::string& data_provider,
                      const std::string& measurement, bool visible);
  absl::StatusOr<std::vector<RequisitionRecord>> OfMeasurement(const std::string& measurement);
  // By its name, or by the name the duchies know it by.
  absl::StatusOr<std::optional<RequisitionRecord>> Find(const std::string& name);
  absl::StatusOr<std::optional<RequisitionRecord>> FindByComputationName(const std::string& name);
  absl::Status Update(const RequisitionRecord& requisition, bool visible);
  // The SQL of a data provider's visible requisitions for a scan by name
  // (parameters: data provider, then the scan's two); `states` filter, each
  // a checked enum number, empty for all.
  static std::string ProviderScan(const std::vector<int>& states);

 private:
  storage::Database& db_;
};

// The exchanges' tables: migration 2 of the Kingdom's schema.
storage::Migration ExchangeTablesMigration();

// Recurring exchanges, an exchange per due date, a step per workflow step
// (with the name of the party that runs it) and the steps' attempts.
class ExchangeRepository {
 public:
  explicit ExchangeRepository(storage::Database& db) : db_(db) {}

  // ALREADY_EXISTS if the name is taken; `next_date` is the first.
  absl::Status InsertRecurring(const api::v1::RecurringExchange& recurring, const std::string& next_date);
  absl::StatusOr<std::optional<api::v1::RecurringExchange>> FindRecurring(const std::string& name);
  // At most `limit` after `after` in name order: all, or where `party` is
  // one of the two.
  absl::StatusOr<std::vector<api::v1::RecurringExchange>> ListRecurring(const std::optional<std::string>& party,
                                                                        const std::string& after, int limit);
  struct Schedule {
    std::string next_date;  // YYYY-MM-DD: the next exchange not yet created
    api::v1::RecurringExchange recurring;
  };
  // The recurring exchanges `party` is one of the two of.
  absl::StatusOr<std::vector<Schedule>> SchedulesOf(const std::string& party);
  absl::Status SetNextDate(const std::string& recurring, const std::string& next_date);

  absl::Status InsertExchange(const api::v1::Exchange& exchange, const std::string& recurring);
  absl::StatusOr<std::optional<api::v1::Exchange>> FindExchange(const std::string& name);
  absl::Status UpdateExchange(const api::v1::Exchange& exchange);
  // Newest first.
  absl::StatusOr<std::vector<api::v1::Exchange>> ExchangesOf(const std::string& recurring);
  // Deletes the exchanges dated before `date`, with their steps and
  // attempts; how many.
  absl::StatusOr<int64_t> DeleteExchangesBefore(const std::string& date);

  // `party` is the name of the data provider or model provider that runs it.
  absl::Status InsertStep(const api::v1::ExchangeStep& step, const std::string& exchange, const std::string& party);
  // Its state and record.
  absl::Status UpdateStep(const api::v1::ExchangeStep& step);
  // In workflow order.
  absl::StatusOr<std::vector<api::v1::ExchangeStep>> StepsOf(const std::string& exchange);
  struct StepOfExchange {
    api::v1::ExchangeStep step;
    std::string exchange;
  };
  // The first step `party` may start (READY or READY_FOR_RETRY, of an
  // ACTIVE exchange), the oldest exchange's first.
  absl::StatusOr<std::optional<StepOfExchange>> NextReadyStep(const std::string& party);

  absl::Status InsertAttempt(const api::v1::ExchangeStepAttempt& attempt, const std::string& step);
  // Its state, lease and record.
  absl::Status UpdateAttempt(const api::v1::ExchangeStepAttempt& attempt);
  struct AttemptOfStep {
    api::v1::ExchangeStepAttempt attempt;
    api::v1::ExchangeStep step;
    std::string exchange;
    std::string party;  // the step's
  };
  absl::StatusOr<std::optional<AttemptOfStep>> FindAttempt(const std::string& name);
  // The ACTIVE attempts whose lease ended before `now`.
  absl::StatusOr<std::vector<AttemptOfStep>> ExpiredAttempts(int64_t now);
  // In name order.
  absl::StatusOr<std::vector<api::v1::ExchangeStepAttempt>> AttemptsOf(const std::string& step);

 private:
  storage::Database& db_;
};

}  // namespace halo::kingdom

#endif  // HALO_SRC_KINGDOM_REPOSITORIES_H_
