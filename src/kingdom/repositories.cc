#include "repositories.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/sha256.h"

namespace halo::kingdom {
namespace {

// A stored record that no longer parses is damage, not a request's fault.
template <typename Message>
absl::StatusOr<Message> Parse(const std::string& bytes, absl::string_view what) {
  Message message;
  if (!message.ParseFromString(bytes)) return absl::DataLossError(absl::StrCat("a stored ", what, " does not parse"));
  return message;
}

// Every row's record in column `column`, parsed.
template <typename Message>
absl::StatusOr<std::vector<Message>> ParseAll(storage::Statement& q, int column, absl::string_view what) {
  std::vector<Message> messages;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(messages.emplace_back(), Parse<Message>(q.ColumnBlob(column), what));
  }
  return messages;
}

void BindOptional(storage::Statement& q, int index, const std::string& value) {
  if (value.empty()) {
    q.BindNull(index);
  } else {
    q.Bind(index, value);
  }
}

}  // namespace

// Entities

absl::Status EntityRepository::Insert(const std::string& name, EntityKind kind, const std::string& data,
                                      int64_t create_time, const std::string& root_der) {
  ASSIGN_OR_RETURN(storage::Statement exists, db_.Prepare("SELECT 1 FROM entities WHERE name = ?"));
  ASSIGN_OR_RETURN(bool taken, exists.Bind(1, name).Step());
  if (taken) return absl::AlreadyExistsError(absl::StrCat(name, " already exists"));
  ASSIGN_OR_RETURN(storage::Statement insert,
                   db_.Prepare("INSERT INTO entities (name, kind, data, create_time, root_der) VALUES (?, ?, ?, ?, ?)"));
  insert.Bind(1, name).Bind(2, int64_t{kind}).BindBlob(3, data).Bind(4, create_time).BindBlob(5, root_der);
  return insert.Run();
}

absl::StatusOr<std::optional<std::string>> EntityRepository::Find(const std::string& name,
                                                                  std::optional<EntityKind> kind) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare(kind ? "SELECT data FROM entities WHERE name = ? AND kind = ?"
                                                          : "SELECT data FROM entities WHERE name = ?"));
  q.Bind(1, name);
  if (kind) q.Bind(2, int64_t{*kind});
  ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return std::nullopt;
  return q.ColumnBlob(0);
}

absl::StatusOr<std::string> EntityRepository::RootOf(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT root_der FROM entities WHERE name = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, name).Step());
  if (!found) return absl::NotFoundError(absl::StrCat(name, " not found"));
  return q.ColumnIsNull(0) ? std::string() : q.ColumnBlob(0);
}

absl::StatusOr<std::vector<EntityRepository::Listed>> EntityRepository::List(EntityKind kind,
                                                                             const std::string& after, int limit) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT name, data FROM entities WHERE kind = ? AND name > ? ORDER BY name LIMIT ?"));
  q.Bind(1, int64_t{kind}).Bind(2, after).Bind(3, int64_t{limit});
  std::vector<Listed> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back({q.ColumnText(0), q.ColumnBlob(1)});
  }
}

// Certificates

absl::Status CertificateRepository::Insert(const api::v1::Certificate& certificate, const std::string& parent) {
  ASSIGN_OR_RETURN(storage::Statement insert,
                   db_.Prepare("INSERT INTO certificates (name, parent, fingerprint, data) VALUES (?, ?, ?, ?)"));
  insert.Bind(1, certificate.name())
      .Bind(2, parent)
      .BindBlob(3, crypto::Sha256(certificate.x509_der()))
      .BindBlob(4, certificate.SerializeAsString());
  return insert.Run();
}

absl::StatusOr<std::optional<api::v1::Certificate>> CertificateRepository::Find(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT data, revoked FROM certificates WHERE name = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, name).Step());
  if (!found) return std::nullopt;
  ASSIGN_OR_RETURN(api::v1::Certificate certificate, Parse<api::v1::Certificate>(q.ColumnBlob(0), "certificate"));
  if (q.ColumnInt64(1) != 0) certificate.set_revocation_state(api::v1::Certificate::REVOKED);
  return certificate;
}

absl::StatusOr<std::optional<CertificateRepository::Owner>> CertificateRepository::FindByFingerprint(
    const std::string& sha256) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT name, parent, revoked FROM certificates WHERE fingerprint = ?"));
  ASSIGN_OR_RETURN(bool found, q.BindBlob(1, sha256).Step());
  if (!found) return std::nullopt;
  return Owner{q.ColumnText(0), q.ColumnText(1), q.ColumnInt64(2) != 0};
}

absl::Status CertificateRepository::Revoke(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement update, db_.Prepare("UPDATE certificates SET revoked = 1 WHERE name = ?"));
  return update.Bind(1, name).Run();
}

// Event groups

absl::Status EventGroupRepository::Insert(const api::v1::EventGroup& group, const std::string& data_provider,
                                          const std::string& request_id) {
  ASSIGN_OR_RETURN(storage::Statement insert,
                   db_.Prepare("INSERT INTO event_groups (name, data_provider, measurement_consumer, request_id, "
                               "data) VALUES (?, ?, ?, ?, ?)"));
  insert.Bind(1, group.name()).Bind(2, data_provider).Bind(3, group.measurement_consumer());
  BindOptional(insert, 4, request_id);
  return insert.BindBlob(5, group.SerializeAsString()).Run();
}

absl::StatusOr<std::optional<api::v1::EventGroup>> EventGroupRepository::Find(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT data FROM event_groups WHERE name = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, name).Step());
  if (!found) return std::nullopt;
  return Parse<api::v1::EventGroup>(q.ColumnBlob(0), "event group");
}

absl::StatusOr<std::optional<api::v1::EventGroup>> EventGroupRepository::FindByRequest(
    const std::string& data_provider, const std::string& request_id) {
  if (request_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT data FROM event_groups WHERE data_provider = ? AND request_id = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, data_provider).Bind(2, request_id).Step());
  if (!found) return std::nullopt;
  return Parse<api::v1::EventGroup>(q.ColumnBlob(0), "event group");
}

absl::Status EventGroupRepository::Update(const api::v1::EventGroup& group) {
  ASSIGN_OR_RETURN(storage::Statement update, db_.Prepare("UPDATE event_groups SET data = ? WHERE name = ?"));
  return update.BindBlob(1, group.SerializeAsString()).Bind(2, group.name()).Run();
}

absl::Status EventGroupRepository::Delete(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement del, db_.Prepare("DELETE FROM event_groups WHERE name = ?"));
  return del.Bind(1, name).Run();
}

absl::StatusOr<std::vector<api::v1::EventGroup>> EventGroupRepository::List(bool by_provider,
                                                                            const std::string& owner,
                                                                            const std::string& after, int limit) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare(by_provider ? "SELECT data FROM event_groups WHERE data_provider = ? AND "
                                             "name > ? ORDER BY name LIMIT ?"
                                           : "SELECT data FROM event_groups WHERE measurement_consumer = ? "
                                             "AND name > ? ORDER BY name LIMIT ?"));
  q.Bind(1, owner).Bind(2, after).Bind(3, int64_t{limit});
  std::vector<api::v1::EventGroup> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    ASSIGN_OR_RETURN(out.emplace_back(), Parse<api::v1::EventGroup>(q.ColumnBlob(0), "event group"));
  }
}

// Measurements

absl::Status MeasurementRepository::Insert(const StoredMeasurement& measurement, const std::string& request_id) {
  ASSIGN_OR_RETURN(storage::Statement insert,
                   db_.Prepare("INSERT INTO measurements (name, consumer, computation, state, terminal, request_id, "
                               "create_time, update_time, data) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?)"));
  insert.Bind(1, measurement.name).Bind(2, measurement.consumer);
  BindOptional(insert, 3, measurement.computation);
  insert.Bind(4, int64_t{measurement.record.state()});
  BindOptional(insert, 5, request_id);
  insert.Bind(6, measurement.create_time)
      .Bind(7, measurement.update_time)
      .BindBlob(8, measurement.record.SerializeAsString());
  return insert.Run();
}

absl::StatusOr<std::optional<StoredMeasurement>> MeasurementRepository::Find(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT consumer, computation, create_time, update_time, data FROM measurements "
                               "WHERE name = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, name).Step());
  if (!found) return std::nullopt;
  StoredMeasurement m;
  m.name = name;
  m.consumer = q.ColumnText(0);
  m.computation = q.ColumnIsNull(1) ? "" : q.ColumnText(1);
  m.create_time = q.ColumnInt64(2);
  m.update_time = q.ColumnInt64(3);
  ASSIGN_OR_RETURN(m.record, Parse<MeasurementRecord>(q.ColumnBlob(4), "measurement"));
  return m;
}

absl::StatusOr<std::vector<StoredMeasurement>> MeasurementRepository::LastInState(int state, int limit) {
  // Walks measurements_by_update from the newest.
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT name, consumer, computation, create_time, update_time, data FROM measurements "
                               "WHERE state = ? ORDER BY update_time DESC, name DESC LIMIT ?"));
  q.Bind(1, int64_t{state}).Bind(2, limit);
  std::vector<StoredMeasurement> found;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    StoredMeasurement& m = found.emplace_back();
    m.name = q.ColumnText(0);
    m.consumer = q.ColumnText(1);
    m.computation = q.ColumnIsNull(2) ? "" : q.ColumnText(2);
    m.create_time = q.ColumnInt64(3);
    m.update_time = q.ColumnInt64(4);
    ASSIGN_OR_RETURN(m.record, Parse<MeasurementRecord>(q.ColumnBlob(5), "measurement"));
  }
  return found;
}

absl::StatusOr<std::optional<std::string>> MeasurementRepository::NameOfComputation(const std::string& computation) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT name FROM measurements WHERE computation = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, computation).Step());
  if (!found) return std::nullopt;
  return q.ColumnText(0);
}

absl::StatusOr<std::optional<std::string>> MeasurementRepository::NameOfRequest(const std::string& consumer,
                                                                                const std::string& request_id) {
  if (request_id.empty()) return std::nullopt;
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT name FROM measurements WHERE consumer = ? AND request_id = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, consumer).Bind(2, request_id).Step());
  if (!found) return std::nullopt;
  return q.ColumnText(0);
}

absl::Status MeasurementRepository::Update(const std::string& name, const MeasurementRecord& record, bool terminal,
                                           int64_t update_time) {
  ASSIGN_OR_RETURN(storage::Statement update,
                   db_.Prepare("UPDATE measurements SET state = ?, terminal = ?, update_time = ?, data = ? "
                               "WHERE name = ?"));
  return update.Bind(1, int64_t{record.state()})
      .Bind(2, int64_t{terminal ? 1 : 0})
      .Bind(3, update_time)
      .BindBlob(4, record.SerializeAsString())
      .Bind(5, name)
      .Run();
}

absl::Status MeasurementRepository::AddParticipant(const std::string& measurement, const std::string& duchy) {
  ASSIGN_OR_RETURN(storage::Statement p, db_.Prepare("INSERT INTO participants (measurement, duchy) VALUES (?, ?)"));
  return p.Bind(1, measurement).Bind(2, duchy).Run();
}

absl::StatusOr<int64_t> MeasurementRepository::CountLogEntries(const std::string& measurement) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT COUNT(*) FROM computation_log WHERE measurement = ?"));
  ASSIGN_OR_RETURN(bool row, q.Bind(1, measurement).Step());
  return row ? q.ColumnInt64(0) : 0;
}

absl::StatusOr<std::vector<api::v1::ComputationLogEntry>> MeasurementRepository::LogEntries(
    const std::string& measurement, int limit) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT data FROM computation_log WHERE measurement = ? ORDER BY id LIMIT ?"));
  q.Bind(1, measurement).Bind(2, limit);
  return ParseAll<api::v1::ComputationLogEntry>(q, 0, "computation log entry");
}

absl::Status MeasurementRepository::AddLogEntry(const std::string& measurement, const std::string& entry) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("INSERT INTO computation_log (measurement, data) VALUES (?, ?)"));
  return q.Bind(1, measurement).BindBlob(2, entry).Run();
}

absl::StatusOr<std::vector<std::string>> MeasurementRepository::OpenNames(std::optional<int64_t> created_before) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare(created_before ? "SELECT name FROM measurements WHERE terminal = 0 AND create_time < ?"
                                              : "SELECT name FROM measurements WHERE terminal = 0"));
  if (created_before) q.Bind(1, *created_before);
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(q.ColumnText(0));
  }
}

absl::StatusOr<std::vector<std::pair<int, int64_t>>> MeasurementRepository::CountByState(bool over,
                                                                                         int64_t created_after) {
  // (terminal, create_time) is indexed, so this counts only what it reports.
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT state, COUNT(*) FROM measurements WHERE terminal = ? AND create_time > ? "
                               "GROUP BY state ORDER BY state"));
  q.Bind(1, int64_t{over ? 1 : 0}).Bind(2, created_after);
  std::vector<std::pair<int, int64_t>> counts;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    counts.emplace_back(static_cast<int>(q.ColumnInt64(0)), q.ColumnInt64(1));
  }
  return counts;
}

absl::StatusOr<int64_t> MeasurementRepository::DeleteFinished(int64_t updated_before) {
  ASSIGN_OR_RETURN(storage::Statement del,
                   db_.Prepare("DELETE FROM measurements WHERE terminal = 1 AND update_time < ?"));
  RETURN_IF_ERROR(del.Bind(1, updated_before).Run());
  return del.ChangedRows();
}

absl::StatusOr<std::vector<std::string>> MeasurementRepository::NamesForDuchy(const std::string& duchy,
                                                                             int64_t after_time,
                                                                             const std::string& after_name,
                                                                             bool include_over, int limit) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT m.name FROM measurements m JOIN participants p ON p.measurement = m.name "
                               "WHERE p.duchy = ? AND (m.update_time > ? OR (m.update_time = ? AND m.name > ?)) "
                               "AND (? = 1 OR m.terminal = 0) ORDER BY m.update_time, m.name LIMIT ?"));
  q.Bind(1, duchy).Bind(2, after_time).Bind(3, after_time).Bind(4, after_name);
  q.Bind(5, int64_t{include_over ? 1 : 0}).Bind(6, int64_t{limit});
  std::vector<std::string> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    out.push_back(q.ColumnText(0));
  }
}

// Requisitions

absl::Status RequisitionRepository::Insert(const RequisitionRecord& requisition, const std::string& data_provider,
                                           const std::string& measurement, bool visible) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("INSERT INTO requisitions (name, data_provider, measurement, "
                               "computation_requisition, state, visible, data) VALUES (?, ?, ?, ?, ?, ?, ?)"));
  q.Bind(1, requisition.requisition().name()).Bind(2, data_provider).Bind(3, measurement);
  BindOptional(q, 4, requisition.computation_requisition());
  q.Bind(5, int64_t{requisition.requisition().state()})
      .Bind(6, int64_t{visible ? 1 : 0})
      .BindBlob(7, requisition.SerializeAsString());
  return q.Run();
}

absl::StatusOr<std::vector<RequisitionRecord>> RequisitionRepository::OfMeasurement(const std::string& measurement) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT data FROM requisitions WHERE measurement = ? ORDER BY name"));
  q.Bind(1, measurement);
  std::vector<RequisitionRecord> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return out;
    ASSIGN_OR_RETURN(out.emplace_back(), Parse<RequisitionRecord>(q.ColumnBlob(0), "requisition"));
  }
}

absl::StatusOr<std::optional<RequisitionRecord>> RequisitionRepository::Find(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT data FROM requisitions WHERE name = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, name).Step());
  if (!found) return std::nullopt;
  return Parse<RequisitionRecord>(q.ColumnBlob(0), "requisition");
}

absl::StatusOr<std::optional<RequisitionRecord>> RequisitionRepository::FindByComputationName(
    const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT data FROM requisitions WHERE computation_requisition = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, name).Step());
  if (!found) return std::nullopt;
  return Parse<RequisitionRecord>(q.ColumnBlob(0), "requisition");
}

absl::Status RequisitionRepository::Update(const RequisitionRecord& requisition, bool visible) {
  ASSIGN_OR_RETURN(storage::Statement update,
                   db_.Prepare("UPDATE requisitions SET state = ?, visible = ?, data = ? WHERE name = ?"));
  return update.Bind(1, int64_t{requisition.requisition().state()})
      .Bind(2, int64_t{visible ? 1 : 0})
      .BindBlob(3, requisition.SerializeAsString())
      .Bind(4, requisition.requisition().name())
      .Run();
}

std::string RequisitionRepository::ProviderScan(const std::vector<int>& states) {
  return absl::StrCat("SELECT name, data FROM requisitions WHERE data_provider = ? AND visible = 1 ",
                      states.empty() ? "" : absl::StrCat("AND state IN (", absl::StrJoin(states, ","), ") "),
                      "AND name > ? ORDER BY name LIMIT ?");
}

// Exchanges

using api::v1::Exchange;
using api::v1::ExchangeStep;
using api::v1::ExchangeStepAttempt;
using api::v1::RecurringExchange;

storage::Migration ExchangeTablesMigration() {
  return {2, R"sql(
CREATE TABLE recurring_exchanges (
  name TEXT PRIMARY KEY,
  data_provider TEXT NOT NULL REFERENCES entities(name),
  model_provider TEXT NOT NULL REFERENCES entities(name),
  next_date TEXT NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX recurring_exchanges_by_data_provider ON recurring_exchanges(data_provider);
CREATE INDEX recurring_exchanges_by_model_provider ON recurring_exchanges(model_provider);
CREATE TABLE exchanges (
  name TEXT PRIMARY KEY,
  recurring_exchange TEXT NOT NULL REFERENCES recurring_exchanges(name),
  date TEXT NOT NULL,
  state INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX exchanges_by_recurring ON exchanges(recurring_exchange, date);
CREATE INDEX exchanges_by_date ON exchanges(date);
CREATE TABLE exchange_steps (
  name TEXT PRIMARY KEY,
  exchange TEXT NOT NULL REFERENCES exchanges(name) ON DELETE CASCADE,
  step_index INTEGER NOT NULL,
  party TEXT NOT NULL,
  state INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX exchange_steps_by_party ON exchange_steps(party, state);
CREATE INDEX exchange_steps_by_exchange ON exchange_steps(exchange, step_index);
CREATE TABLE exchange_step_attempts (
  name TEXT PRIMARY KEY,
  step TEXT NOT NULL REFERENCES exchange_steps(name) ON DELETE CASCADE,
  state INTEGER NOT NULL,
  lease_expiry INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX exchange_step_attempts_by_step ON exchange_step_attempts(step);
CREATE INDEX exchange_step_attempts_active ON exchange_step_attempts(state, lease_expiry);
)sql",
          R"sql(
CREATE TABLE recurring_exchanges (
  name TEXT COLLATE "C" PRIMARY KEY,
  data_provider TEXT COLLATE "C" NOT NULL REFERENCES entities(name),
  model_provider TEXT COLLATE "C" NOT NULL REFERENCES entities(name),
  next_date TEXT COLLATE "C" NOT NULL,
  data BYTEA NOT NULL);
CREATE INDEX recurring_exchanges_by_data_provider ON recurring_exchanges(data_provider);
CREATE INDEX recurring_exchanges_by_model_provider ON recurring_exchanges(model_provider);
CREATE TABLE exchanges (
  name TEXT COLLATE "C" PRIMARY KEY,
  recurring_exchange TEXT COLLATE "C" NOT NULL REFERENCES recurring_exchanges(name),
  date TEXT COLLATE "C" NOT NULL,
  state BIGINT NOT NULL,
  update_time BIGINT NOT NULL,
  data BYTEA NOT NULL);
CREATE INDEX exchanges_by_recurring ON exchanges(recurring_exchange, date);
CREATE INDEX exchanges_by_date ON exchanges(date);
CREATE TABLE exchange_steps (
  name TEXT COLLATE "C" PRIMARY KEY,
  exchange TEXT COLLATE "C" NOT NULL REFERENCES exchanges(name) ON DELETE CASCADE,
  step_index BIGINT NOT NULL,
  party TEXT COLLATE "C" NOT NULL,
  state BIGINT NOT NULL,
  data BYTEA NOT NULL);
CREATE INDEX exchange_steps_by_party ON exchange_steps(party, state);
CREATE INDEX exchange_steps_by_exchange ON exchange_steps(exchange, step_index);
CREATE TABLE exchange_step_attempts (
  name TEXT COLLATE "C" PRIMARY KEY,
  step TEXT COLLATE "C" NOT NULL REFERENCES exchange_steps(name) ON DELETE CASCADE,
  state BIGINT NOT NULL,
  lease_expiry BIGINT NOT NULL,
  data BYTEA NOT NULL);
CREATE INDEX exchange_step_attempts_by_step ON exchange_step_attempts(step);
CREATE INDEX exchange_step_attempts_active ON exchange_step_attempts(state, lease_expiry);
)sql"};
}

absl::Status ExchangeRepository::InsertRecurring(const RecurringExchange& recurring, const std::string& next_date) {
  ASSIGN_OR_RETURN(storage::Statement exists, db_.Prepare("SELECT 1 FROM recurring_exchanges WHERE name = ?"));
  ASSIGN_OR_RETURN(bool taken, exists.Bind(1, recurring.name()).Step());
  if (taken) return absl::AlreadyExistsError(absl::StrCat(recurring.name(), " exists already"));
  ASSIGN_OR_RETURN(storage::Statement insert,
                   db_.Prepare("INSERT INTO recurring_exchanges (name, data_provider, model_provider, next_date, "
                               "data) VALUES (?, ?, ?, ?, ?)"));
  return insert.Bind(1, recurring.name())
      .Bind(2, recurring.data_provider())
      .Bind(3, recurring.model_provider())
      .Bind(4, next_date)
      .BindBlob(5, recurring.SerializeAsString())
      .Run();
}

absl::StatusOr<std::optional<RecurringExchange>> ExchangeRepository::FindRecurring(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT data FROM recurring_exchanges WHERE name = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, name).Step());
  if (!found) return std::nullopt;
  return Parse<RecurringExchange>(q.ColumnBlob(0), "recurring exchange");
}

absl::StatusOr<std::vector<RecurringExchange>> ExchangeRepository::ListRecurring(
    const std::optional<std::string>& party, const std::string& after, int limit) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare(party ? "SELECT data FROM recurring_exchanges WHERE name > ? AND "
                                       "(data_provider = ? OR model_provider = ?) ORDER BY name LIMIT ?"
                                     : "SELECT data FROM recurring_exchanges WHERE name > ? ORDER BY name LIMIT ?"));
  q.Bind(1, after);
  if (party) {
    q.Bind(2, *party).Bind(3, *party).Bind(4, limit);
  } else {
    q.Bind(2, limit);
  }
  return ParseAll<RecurringExchange>(q, 0, "recurring exchange");
}

absl::StatusOr<std::vector<ExchangeRepository::Schedule>> ExchangeRepository::SchedulesOf(const std::string& party) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT next_date, data FROM recurring_exchanges WHERE data_provider = ? OR "
                               "model_provider = ? ORDER BY name"));
  q.Bind(1, party).Bind(2, party);
  std::vector<Schedule> schedules;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    Schedule& schedule = schedules.emplace_back();
    schedule.next_date = q.ColumnText(0);
    ASSIGN_OR_RETURN(schedule.recurring, Parse<RecurringExchange>(q.ColumnBlob(1), "recurring exchange"));
  }
  return schedules;
}

absl::Status ExchangeRepository::SetNextDate(const std::string& recurring, const std::string& next_date) {
  ASSIGN_OR_RETURN(storage::Statement update, db_.Prepare("UPDATE recurring_exchanges SET next_date = ? WHERE name = ?"));
  return update.Bind(1, next_date).Bind(2, recurring).Run();
}

absl::Status ExchangeRepository::InsertExchange(const Exchange& exchange, const std::string& recurring) {
  ASSIGN_OR_RETURN(storage::Statement insert,
                   db_.Prepare("INSERT INTO exchanges (name, recurring_exchange, date, state, update_time, data) "
                               "VALUES (?, ?, ?, ?, ?, ?)"));
  return insert.Bind(1, exchange.name())
      .Bind(2, recurring)
      .Bind(3, exchange.date())
      .Bind(4, int64_t{exchange.state()})
      .Bind(5, exchange.update_time_micros())
      .BindBlob(6, exchange.SerializeAsString())
      .Run();
}

absl::StatusOr<std::optional<Exchange>> ExchangeRepository::FindExchange(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT data FROM exchanges WHERE name = ?"));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, name).Step());
  if (!found) return std::nullopt;
  return Parse<Exchange>(q.ColumnBlob(0), "exchange");
}

absl::Status ExchangeRepository::UpdateExchange(const Exchange& exchange) {
  ASSIGN_OR_RETURN(storage::Statement update,
                   db_.Prepare("UPDATE exchanges SET state = ?, update_time = ?, data = ? WHERE name = ?"));
  return update.Bind(1, int64_t{exchange.state()})
      .Bind(2, exchange.update_time_micros())
      .BindBlob(3, exchange.SerializeAsString())
      .Bind(4, exchange.name())
      .Run();
}

absl::StatusOr<std::vector<Exchange>> ExchangeRepository::ExchangesOf(const std::string& recurring) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT data FROM exchanges WHERE recurring_exchange = ? ORDER BY date DESC"));
  q.Bind(1, recurring);
  return ParseAll<Exchange>(q, 0, "exchange");
}

absl::StatusOr<int64_t> ExchangeRepository::DeleteExchangesBefore(const std::string& date) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("DELETE FROM exchanges WHERE date < ?"));
  RETURN_IF_ERROR(q.Bind(1, date).Run());
  return q.ChangedRows();
}

absl::Status ExchangeRepository::InsertStep(const ExchangeStep& step, const std::string& exchange,
                                            const std::string& party) {
  ASSIGN_OR_RETURN(storage::Statement insert,
                   db_.Prepare("INSERT INTO exchange_steps (name, exchange, step_index, party, state, data) "
                               "VALUES (?, ?, ?, ?, ?, ?)"));
  return insert.Bind(1, step.name())
      .Bind(2, exchange)
      .Bind(3, int64_t{step.step_index()})
      .Bind(4, party)
      .Bind(5, int64_t{step.state()})
      .BindBlob(6, step.SerializeAsString())
      .Run();
}

absl::Status ExchangeRepository::UpdateStep(const ExchangeStep& step) {
  ASSIGN_OR_RETURN(storage::Statement update, db_.Prepare("UPDATE exchange_steps SET state = ?, data = ? WHERE name = ?"));
  return update.Bind(1, int64_t{step.state()}).BindBlob(2, step.SerializeAsString()).Bind(3, step.name()).Run();
}

absl::StatusOr<std::vector<ExchangeStep>> ExchangeRepository::StepsOf(const std::string& exchange) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT data FROM exchange_steps WHERE exchange = ? ORDER BY step_index"));
  q.Bind(1, exchange);
  return ParseAll<ExchangeStep>(q, 0, "exchange step");
}

absl::StatusOr<std::optional<ExchangeRepository::StepOfExchange>> ExchangeRepository::NextReadyStep(
    const std::string& party) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT s.data, s.exchange FROM exchange_steps s JOIN exchanges e ON s.exchange = "
                               "e.name WHERE s.party = ? AND s.state IN (?, ?) AND e.state = ? "
                               "ORDER BY e.date, s.step_index LIMIT 1"));
  q.Bind(1, party)
      .Bind(2, int64_t{ExchangeStep::READY})
      .Bind(3, int64_t{ExchangeStep::READY_FOR_RETRY})
      .Bind(4, int64_t{Exchange::ACTIVE});
  ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return std::nullopt;
  StepOfExchange next;
  ASSIGN_OR_RETURN(next.step, Parse<ExchangeStep>(q.ColumnBlob(0), "exchange step"));
  next.exchange = q.ColumnText(1);
  return next;
}

absl::Status ExchangeRepository::InsertAttempt(const ExchangeStepAttempt& attempt, const std::string& step) {
  ASSIGN_OR_RETURN(storage::Statement insert,
                   db_.Prepare("INSERT INTO exchange_step_attempts (name, step, state, lease_expiry, data) "
                               "VALUES (?, ?, ?, ?, ?)"));
  return insert.Bind(1, attempt.name())
      .Bind(2, step)
      .Bind(3, int64_t{attempt.state()})
      .Bind(4, attempt.lease_expiry_micros())
      .BindBlob(5, attempt.SerializeAsString())
      .Run();
}

absl::Status ExchangeRepository::UpdateAttempt(const ExchangeStepAttempt& attempt) {
  ASSIGN_OR_RETURN(storage::Statement update,
                   db_.Prepare("UPDATE exchange_step_attempts SET state = ?, lease_expiry = ?, data = ? WHERE name = ?"));
  return update.Bind(1, int64_t{attempt.state()})
      .Bind(2, attempt.lease_expiry_micros())
      .BindBlob(3, attempt.SerializeAsString())
      .Bind(4, attempt.name())
      .Run();
}

namespace {

constexpr char kAttemptsWithSteps[] =
    "SELECT a.data, s.data, s.exchange, s.party FROM exchange_step_attempts a JOIN exchange_steps s "
    "ON a.step = s.name ";

absl::StatusOr<ExchangeRepository::AttemptOfStep> ReadAttemptOfStep(storage::Statement& q) {
  ExchangeRepository::AttemptOfStep found;
  ASSIGN_OR_RETURN(found.attempt, Parse<ExchangeStepAttempt>(q.ColumnBlob(0), "exchange step attempt"));
  ASSIGN_OR_RETURN(found.step, Parse<ExchangeStep>(q.ColumnBlob(1), "exchange step"));
  found.exchange = q.ColumnText(2);
  found.party = q.ColumnText(3);
  return found;
}

}  // namespace

absl::StatusOr<std::optional<ExchangeRepository::AttemptOfStep>> ExchangeRepository::FindAttempt(
    const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare(absl::StrCat(kAttemptsWithSteps, "WHERE a.name = ?")));
  ASSIGN_OR_RETURN(bool found, q.Bind(1, name).Step());
  if (!found) return std::nullopt;
  return ReadAttemptOfStep(q);
}

absl::StatusOr<std::vector<ExchangeRepository::AttemptOfStep>> ExchangeRepository::ExpiredAttempts(int64_t now) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare(absl::StrCat(kAttemptsWithSteps, "WHERE a.state = ? AND a.lease_expiry < ? ORDER BY a.name")));
  q.Bind(1, int64_t{ExchangeStepAttempt::ACTIVE}).Bind(2, now);
  std::vector<AttemptOfStep> expired;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(expired.emplace_back(), ReadAttemptOfStep(q));
  }
  return expired;
}

absl::StatusOr<std::vector<ExchangeStepAttempt>> ExchangeRepository::AttemptsOf(const std::string& step) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT data FROM exchange_step_attempts WHERE step = ? ORDER BY name"));
  q.Bind(1, step);
  return ParseAll<ExchangeStepAttempt>(q, 0, "exchange step attempt");
}

}  // namespace halo::kingdom
