#include "exchange_ledger.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "halo/common/status_macros.h"
#include "halo/exchange/workflow.h"
#include "halo/api/pagination.h"
#include "halo/api/resource_names.h"

namespace halo::kingdom {
namespace {

using api::v1::Exchange;
using api::v1::ExchangeStep;
using api::v1::ExchangeStepAttempt;
using api::v1::ExchangeWorkflow;
using api::v1::RecurringExchange;

// Exchanges a claim creates at most for one recurring exchange, so that a
// first date far in the past does not create years of them at once.
constexpr int kMaxExchangesPerClaim = 10;

template <typename Message>
absl::StatusOr<Message> ParseRow(const std::string& bytes, absl::string_view what) {
  Message message;
  if (!message.ParseFromString(bytes)) return absl::DataLossError(absl::StrCat("a stored ", what, " does not parse"));
  return message;
}

absl::StatusOr<absl::CivilDay> ParseDate(absl::string_view text, absl::string_view field) {
  absl::CivilDay day;
  if (text.size() != 10 || !absl::ParseCivilTime(text, &day)) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": \"", text, "\" is not a date (YYYY-MM-DD)"));
  }
  return day;
}

std::string FormatDate(absl::CivilDay day) { return absl::FormatCivilTime(day); }

absl::CivilDay Today(int64_t now_micros) {
  return absl::ToCivilDay(absl::FromUnixMicros(now_micros), absl::UTCTimeZone());
}

// "recurringExchanges/{x}" of any name under it.
std::string RecurringExchangeOf(absl::string_view name) {
  const std::string top = api::TopLevelName(name);
  return api::MatchName(top, "recurringExchanges/*") ? top : "";
}

std::string PartyOf(const RecurringExchange& recurring, ExchangeWorkflow::Party party) {
  return party == ExchangeWorkflow::DATA_PROVIDER ? recurring.data_provider() : recurring.model_provider();
}

bool MayView(const Principal& caller, const RecurringExchange& recurring) {
  return caller.kind == Principal::Kind::kAdministrator || caller.name == recurring.data_provider() ||
         caller.name == recurring.model_provider();
}

}  // namespace

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

ExchangeLedger::ExchangeLedger(storage::Database& db, const config::KingdomConfig& config,
                               std::function<absl::Time()> clock)
    : db_(db),
      lease_(absl::Seconds(config.exchange_step_lease_seconds() > 0 ? config.exchange_step_lease_seconds() : 600)),
      max_attempts_(config.exchange_step_max_attempts() > 0 ? config.exchange_step_max_attempts() : 5),
      retention_days_(config.exchange_retention_days() > 0 ? config.exchange_retention_days() : 90),
      clock_(std::move(clock)) {}

absl::Status ExchangeLedger::Write(const std::function<absl::Status(int64_t now)>& body) {
  return db_.Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(int64_t now, TakeWriteTurn(db_, clock_()));
    return body(now);
  });
}

absl::StatusOr<RecurringExchange> ExchangeLedger::CreateRecurringExchange(
    const Principal& caller, const api::v1::CreateRecurringExchangeRequest& request) {
  if (caller.kind != Principal::Kind::kAdministrator) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not create recurring exchanges"));
  }
  if (!api::IsValidId(request.recurring_exchange_id())) {
    return absl::InvalidArgumentError(absl::StrCat("recurring_exchange_id: \"", request.recurring_exchange_id(),
                                                   "\" is not an id ([a-z][a-z0-9-]*)"));
  }
  RecurringExchange recurring = request.recurring_exchange();
  recurring.set_name(absl::StrCat("recurringExchanges/", request.recurring_exchange_id()));
  RETURN_IF_ERROR(api::ParseName(recurring.data_provider(), "dataProviders/*", "recurring_exchange.data_provider").status());
  RETURN_IF_ERROR(
      api::ParseName(recurring.model_provider(), "modelProviders/*", "recurring_exchange.model_provider").status());
  ASSIGN_OR_RETURN(absl::CivilDay first, ParseDate(recurring.first_date(), "recurring_exchange.first_date"));
  if (recurring.cadence_days() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("recurring_exchange.cadence_days: must be >= 1, got ", recurring.cadence_days()));
  }
  absl::Status valid = exchange::ValidateWorkflow(recurring.workflow());
  if (!valid.ok()) return absl::InvalidArgumentError(absl::StrCat("recurring_exchange.workflow: ", valid.message()));
  RETURN_IF_ERROR(Write([&](int64_t now) -> absl::Status {
    for (const std::string& party : {recurring.data_provider(), recurring.model_provider()}) {
      ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT 1 FROM entities WHERE name = ?"));
      q.Bind(1, party);
      ASSIGN_OR_RETURN(bool found, q.Step());
      if (!found) return absl::InvalidArgumentError(absl::StrCat("recurring_exchange: ", party, " not found"));
    }
    recurring.set_create_time_micros(now);
    ASSIGN_OR_RETURN(storage::Statement insert,
                     db_.Prepare("INSERT INTO recurring_exchanges (name, data_provider, model_provider, next_date, "
                                 "data) VALUES (?, ?, ?, ?, ?)"));
    insert.Bind(1, recurring.name()).Bind(2, recurring.data_provider()).Bind(3, recurring.model_provider());
    insert.Bind(4, FormatDate(first)).BindBlob(5, recurring.SerializeAsString());
    absl::Status inserted = insert.Run();
    if (absl::IsAlreadyExists(inserted) || absl::IsFailedPrecondition(inserted)) {
      return absl::AlreadyExistsError(absl::StrCat(recurring.name(), " exists already"));
    }
    return inserted;
  }));
  return recurring;
}

absl::StatusOr<RecurringExchange> ExchangeLedger::LoadRecurringExchange(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT data FROM recurring_exchanges WHERE name = ?"));
  q.Bind(1, name);
  ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return absl::NotFoundError(absl::StrCat(name.empty() ? "a name" : name, " not found"));
  return ParseRow<RecurringExchange>(q.ColumnBlob(0), "recurring exchange");
}

absl::StatusOr<RecurringExchange> ExchangeLedger::VisibleRecurringExchange(const Principal& caller,
                                                                           const std::string& name) {
  const std::string parent = RecurringExchangeOf(name);
  if (parent.empty()) return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a name under recurringExchanges/"));
  ASSIGN_OR_RETURN(RecurringExchange recurring, LoadRecurringExchange(parent));
  if (!MayView(caller, recurring)) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " is not a party of ", recurring.name()));
  }
  return recurring;
}

absl::StatusOr<RecurringExchange> ExchangeLedger::GetRecurringExchange(const Principal& caller,
                                                                       const std::string& name) {
  RecurringExchange recurring;
  RETURN_IF_ERROR(db_.ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(recurring, VisibleRecurringExchange(caller, name));
    return absl::OkStatus();
  }));
  return recurring;
}

absl::StatusOr<api::v1::ListRecurringExchangesResponse> ExchangeLedger::ListRecurringExchanges(
    const Principal& caller, const api::v1::ListRecurringExchangesRequest& request) {
  ASSIGN_OR_RETURN(const api::PageRequest page,
                   api::ParsePageRequest(request.page_size(), request.page_token(), "recurringExchanges/"));
  const int size = page.size;
  api::v1::ListRecurringExchangesResponse response;
  RETURN_IF_ERROR(db_.ReadTransaction([&]() -> absl::Status {
    const bool all = caller.kind == Principal::Kind::kAdministrator;
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_.Prepare(all ? "SELECT name, data FROM recurring_exchanges WHERE name > ? ORDER BY name LIMIT ?"
                                     : "SELECT name, data FROM recurring_exchanges WHERE name > ? AND "
                                       "(data_provider = ? OR model_provider = ?) ORDER BY name LIMIT ?"));
    q.Bind(1, request.page_token());
    if (all) {
      q.Bind(2, size + 1);
    } else {
      q.Bind(2, caller.name).Bind(3, caller.name).Bind(4, size + 1);
    }
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      if (response.recurring_exchanges_size() == size) {
        response.set_next_page_token(response.recurring_exchanges(size - 1).name());
        break;
      }
      ASSIGN_OR_RETURN(*response.add_recurring_exchanges(), ParseRow<RecurringExchange>(q.ColumnBlob(1), "recurring exchange"));
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<Exchange> ExchangeLedger::LoadExchange(const std::string& name) {
  ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("SELECT data FROM exchanges WHERE name = ?"));
  q.Bind(1, name);
  ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return absl::NotFoundError(absl::StrCat(name, " not found"));
  return ParseRow<Exchange>(q.ColumnBlob(0), "exchange");
}

absl::Status ExchangeLedger::SaveExchange(const Exchange& exchange) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("UPDATE exchanges SET state = ?, update_time = ?, data = ? WHERE name = ?"));
  q.Bind(1, exchange.state()).Bind(2, exchange.update_time_micros()).BindBlob(3, exchange.SerializeAsString());
  q.Bind(4, exchange.name());
  return q.Run();
}

absl::StatusOr<std::vector<ExchangeStep>> ExchangeLedger::LoadSteps(const std::string& exchange) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT data FROM exchange_steps WHERE exchange = ? ORDER BY step_index"));
  q.Bind(1, exchange);
  std::vector<ExchangeStep> steps;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(steps.emplace_back(), ParseRow<ExchangeStep>(q.ColumnBlob(0), "exchange step"));
  }
  return steps;
}

absl::Status ExchangeLedger::SaveStep(const ExchangeStep& step, const std::string& exchange, const std::string& party) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("INSERT INTO exchange_steps (name, exchange, step_index, party, state, data) "
                               "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state, "
                               "data = excluded.data"));
  q.Bind(1, step.name()).Bind(2, exchange).Bind(3, step.step_index()).Bind(4, party).Bind(5, step.state());
  q.BindBlob(6, step.SerializeAsString());
  return q.Run();
}

absl::Status ExchangeLedger::SaveAttempt(const ExchangeStepAttempt& attempt, const std::string& step) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("INSERT INTO exchange_step_attempts (name, step, state, lease_expiry, data) "
                               "VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET state = excluded.state, "
                               "lease_expiry = excluded.lease_expiry, data = excluded.data"));
  q.Bind(1, attempt.name()).Bind(2, step).Bind(3, attempt.state()).Bind(4, attempt.lease_expiry_micros());
  q.BindBlob(5, attempt.SerializeAsString());
  return q.Run();
}

absl::Status ExchangeLedger::CreateDueExchanges(const Principal& caller, int64_t now) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT next_date, data FROM recurring_exchanges WHERE data_provider = ? OR "
                               "model_provider = ?"));
  q.Bind(1, caller.name).Bind(2, caller.name);
  std::vector<std::pair<std::string, RecurringExchange>> due;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    ASSIGN_OR_RETURN(RecurringExchange recurring, ParseRow<RecurringExchange>(q.ColumnBlob(1), "recurring exchange"));
    due.emplace_back(q.ColumnText(0), std::move(recurring));
  }
  const absl::CivilDay today = Today(now);
  for (const auto& [next_date, recurring] : due) {
    ASSIGN_OR_RETURN(absl::CivilDay next, ParseDate(next_date, "next_date"));
    const std::vector<std::vector<int>> prerequisites = exchange::Prerequisites(recurring.workflow());
    for (int created = 0; next <= today && created < kMaxExchangesPerClaim; ++created) {
      Exchange exchange;
      exchange.set_date(FormatDate(next));
      exchange.set_name(absl::StrCat(recurring.name(), "/exchanges/", exchange.date()));
      exchange.set_state(Exchange::ACTIVE);
      exchange.set_update_time_micros(now);
      ASSIGN_OR_RETURN(storage::Statement insert,
                       db_.Prepare("INSERT INTO exchanges (name, recurring_exchange, date, state, update_time, data) "
                                   "VALUES (?, ?, ?, ?, ?, ?)"));
      insert.Bind(1, exchange.name()).Bind(2, recurring.name()).Bind(3, exchange.date()).Bind(4, exchange.state());
      insert.Bind(5, now).BindBlob(6, exchange.SerializeAsString());
      RETURN_IF_ERROR(insert.Run());
      for (int i = 0; i < recurring.workflow().steps_size(); ++i) {
        const auto& workflow_step = recurring.workflow().steps(i);
        ExchangeStep step;
        step.set_name(absl::StrCat(exchange.name(), "/steps/", i));
        step.set_step_index(i);
        step.set_step_id(workflow_step.step_id());
        step.set_party(workflow_step.party());
        for (int p : prerequisites[i]) step.add_prerequisites(p);
        step.set_state(prerequisites[i].empty() ? ExchangeStep::READY : ExchangeStep::BLOCKED);
        step.set_update_time_micros(now);
        RETURN_IF_ERROR(SaveStep(step, exchange.name(), PartyOf(recurring, workflow_step.party())));
      }
      next += recurring.cadence_days();
    }
    ASSIGN_OR_RETURN(storage::Statement update,
                     db_.Prepare("UPDATE recurring_exchanges SET next_date = ? WHERE name = ?"));
    update.Bind(1, FormatDate(next)).Bind(2, recurring.name());
    RETURN_IF_ERROR(update.Run());
  }
  return absl::OkStatus();
}

absl::Status ExchangeLedger::FailAttempt(ExchangeStepAttempt& attempt, ExchangeStep& step,
                                         const std::string& exchange_name, bool for_good, const std::string& message,
                                         int64_t now) {
  attempt.set_state(for_good ? ExchangeStepAttempt::FAILED_STEP : ExchangeStepAttempt::FAILED);
  attempt.set_message(message);
  attempt.set_update_time_micros(now);
  RETURN_IF_ERROR(SaveAttempt(attempt, step.name()));
  const bool step_fails = for_good || step.attempt_count() >= max_attempts_;
  step.set_state(step_fails ? ExchangeStep::FAILED : ExchangeStep::READY_FOR_RETRY);
  step.set_update_time_micros(now);
  ASSIGN_OR_RETURN(storage::Statement party, db_.Prepare("SELECT party FROM exchange_steps WHERE name = ?"));
  party.Bind(1, step.name());
  ASSIGN_OR_RETURN(bool found, party.Step());
  if (!found) return absl::NotFoundError(absl::StrCat(step.name(), " not found"));
  RETURN_IF_ERROR(SaveStep(step, exchange_name, party.ColumnText(0)));
  if (!step_fails) return absl::OkStatus();
  ASSIGN_OR_RETURN(Exchange exchange, LoadExchange(exchange_name));
  if (exchange.state() != Exchange::ACTIVE) return absl::OkStatus();
  exchange.set_state(Exchange::FAILED);
  exchange.set_failure_message(absl::StrCat(
      "step ", step.step_index(), " (", step.step_id(), ") failed",
      for_good ? "" : absl::StrCat(" after ", step.attempt_count(), " attempts"), ": ", message));
  exchange.set_update_time_micros(now);
  return SaveExchange(exchange);
}

absl::Status ExchangeLedger::ExpireLeases(int64_t now) {
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_.Prepare("SELECT a.data, s.data, s.exchange FROM exchange_step_attempts a JOIN exchange_steps s "
                               "ON a.step = s.name WHERE a.state = ? AND a.lease_expiry < ?"));
  q.Bind(1, ExchangeStepAttempt::ACTIVE).Bind(2, now);
  struct Expired {
    ExchangeStepAttempt attempt;
    ExchangeStep step;
    std::string exchange;
  };
  std::vector<Expired> expired;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    Expired e;
    ASSIGN_OR_RETURN(e.attempt, ParseRow<ExchangeStepAttempt>(q.ColumnBlob(0), "attempt"));
    ASSIGN_OR_RETURN(e.step, ParseRow<ExchangeStep>(q.ColumnBlob(1), "exchange step"));
    e.exchange = q.ColumnText(2);
    expired.push_back(std::move(e));
  }
  for (Expired& e : expired) {
    RETURN_IF_ERROR(FailAttempt(e.attempt, e.step, e.exchange, false,
                                "the lease expired before the attempt finished", now));
  }
  return absl::OkStatus();
}

absl::Status ExchangeLedger::Advance(const std::string& exchange_name, int64_t now) {
  ASSIGN_OR_RETURN(std::vector<ExchangeStep> steps, LoadSteps(exchange_name));
  ASSIGN_OR_RETURN(storage::Statement parties,
                   db_.Prepare("SELECT step_index, party FROM exchange_steps WHERE exchange = ?"));
  parties.Bind(1, exchange_name);
  std::map<int, std::string> party_of;
  while (true) {
    ASSIGN_OR_RETURN(bool row, parties.Step());
    if (!row) break;
    party_of[static_cast<int>(parties.ColumnInt64(0))] = parties.ColumnText(1);
  }
  bool all = true;
  for (ExchangeStep& step : steps) {
    all = all && step.state() == ExchangeStep::SUCCEEDED;
    if (step.state() != ExchangeStep::BLOCKED) continue;
    bool ready = true;
    for (int p : step.prerequisites()) ready = ready && steps.at(p).state() == ExchangeStep::SUCCEEDED;
    if (!ready) continue;
    step.set_state(ExchangeStep::READY);
    step.set_update_time_micros(now);
    RETURN_IF_ERROR(SaveStep(step, exchange_name, party_of[step.step_index()]));
  }
  if (!all) return absl::OkStatus();
  ASSIGN_OR_RETURN(Exchange exchange, LoadExchange(exchange_name));
  exchange.set_state(Exchange::SUCCEEDED);
  exchange.set_update_time_micros(now);
  return SaveExchange(exchange);
}

absl::StatusOr<api::v1::ClaimReadyExchangeStepResponse> ExchangeLedger::ClaimReadyExchangeStep(
    const Principal& caller) {
  api::v1::ClaimReadyExchangeStepResponse response;
  RETURN_IF_ERROR(Write([&](int64_t now) -> absl::Status {
    RETURN_IF_ERROR(ExpireLeases(now));
    RETURN_IF_ERROR(CreateDueExchanges(caller, now));
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_.Prepare("SELECT s.data, s.exchange FROM exchange_steps s JOIN exchanges e ON s.exchange = "
                                 "e.name WHERE s.party = ? AND s.state IN (?, ?) AND e.state = ? "
                                 "ORDER BY e.date, s.step_index LIMIT 1"));
    q.Bind(1, caller.name).Bind(2, ExchangeStep::READY).Bind(3, ExchangeStep::READY_FOR_RETRY);
    q.Bind(4, Exchange::ACTIVE);
    ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) return absl::OkStatus();
    ASSIGN_OR_RETURN(ExchangeStep step, ParseRow<ExchangeStep>(q.ColumnBlob(0), "exchange step"));
    const std::string exchange_name = q.ColumnText(1);
    step.set_state(ExchangeStep::IN_PROGRESS);
    step.set_attempt_count(step.attempt_count() + 1);
    step.set_update_time_micros(now);
    RETURN_IF_ERROR(SaveStep(step, exchange_name, caller.name));
    ExchangeStepAttempt attempt;
    attempt.set_attempt_number(step.attempt_count());
    attempt.set_name(absl::StrCat(step.name(), "/attempts/", attempt.attempt_number()));
    attempt.set_state(ExchangeStepAttempt::ACTIVE);
    attempt.set_start_time_micros(now);
    attempt.set_lease_expiry_micros(now + absl::ToInt64Microseconds(lease_));
    attempt.set_update_time_micros(now);
    RETURN_IF_ERROR(SaveAttempt(attempt, step.name()));
    ASSIGN_OR_RETURN(*response.mutable_recurring_exchange(), LoadRecurringExchange(RecurringExchangeOf(exchange_name)));
    ASSIGN_OR_RETURN(*response.mutable_exchange(), LoadExchange(exchange_name));
    *response.mutable_step() = step;
    *response.mutable_attempt() = attempt;
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<ExchangeStepAttempt> ExchangeLedger::FinishExchangeStepAttempt(
    const Principal& caller, const api::v1::FinishExchangeStepAttemptRequest& request) {
  const auto state = request.state();
  if (state != ExchangeStepAttempt::SUCCEEDED && state != ExchangeStepAttempt::FAILED &&
      state != ExchangeStepAttempt::FAILED_STEP) {
    return absl::InvalidArgumentError("state: must be SUCCEEDED, FAILED or FAILED_STEP");
  }
  ExchangeStepAttempt attempt;
  RETURN_IF_ERROR(Write([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_.Prepare("SELECT a.data, s.data, s.exchange, s.party FROM exchange_step_attempts a JOIN "
                                 "exchange_steps s ON a.step = s.name WHERE a.name = ?"));
    q.Bind(1, request.name());
    ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) return absl::NotFoundError(absl::StrCat(request.name(), " not found"));
    if (q.ColumnText(3) != caller.name) {
      return absl::PermissionDeniedError(absl::StrCat(request.name(), " is not an attempt of ", caller.name));
    }
    ASSIGN_OR_RETURN(attempt, ParseRow<ExchangeStepAttempt>(q.ColumnBlob(0), "attempt"));
    ASSIGN_OR_RETURN(ExchangeStep step, ParseRow<ExchangeStep>(q.ColumnBlob(1), "exchange step"));
    const std::string exchange_name = q.ColumnText(2);
    if (attempt.state() != ExchangeStepAttempt::ACTIVE) {
      return absl::FailedPreconditionError(absl::StrCat(
          request.name(), " is ", ExchangeStepAttempt::State_Name(attempt.state()), ", not ACTIVE",
          attempt.message().empty() ? "" : absl::StrCat(": ", attempt.message())));
    }
    if (state != ExchangeStepAttempt::SUCCEEDED) {
      return FailAttempt(attempt, step, exchange_name, state == ExchangeStepAttempt::FAILED_STEP, request.message(),
                         now);
    }
    attempt.set_state(ExchangeStepAttempt::SUCCEEDED);
    attempt.set_message(request.message());
    attempt.set_update_time_micros(now);
    RETURN_IF_ERROR(SaveAttempt(attempt, step.name()));
    step.set_state(ExchangeStep::SUCCEEDED);
    step.set_update_time_micros(now);
    RETURN_IF_ERROR(SaveStep(step, exchange_name, caller.name));
    return Advance(exchange_name, now);
  }));
  return attempt;
}

absl::StatusOr<ExchangeStepAttempt> ExchangeLedger::RenewExchangeStepAttempt(const Principal& caller,
                                                                             const std::string& name) {
  ExchangeStepAttempt attempt;
  RETURN_IF_ERROR(Write([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_.Prepare("SELECT a.data, a.step, s.party FROM exchange_step_attempts a JOIN exchange_steps s "
                                 "ON a.step = s.name WHERE a.name = ?"));
    q.Bind(1, name);
    ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) return absl::NotFoundError(absl::StrCat(name, " not found"));
    if (q.ColumnText(2) != caller.name) {
      return absl::PermissionDeniedError(absl::StrCat(name, " is not an attempt of ", caller.name));
    }
    ASSIGN_OR_RETURN(attempt, ParseRow<ExchangeStepAttempt>(q.ColumnBlob(0), "attempt"));
    const std::string step = q.ColumnText(1);
    if (attempt.state() != ExchangeStepAttempt::ACTIVE) {
      return absl::FailedPreconditionError(
          absl::StrCat(name, " is ", ExchangeStepAttempt::State_Name(attempt.state()), ", not ACTIVE"));
    }
    attempt.set_lease_expiry_micros(now + absl::ToInt64Microseconds(lease_));
    attempt.set_update_time_micros(now);
    return SaveAttempt(attempt, step);
  }));
  return attempt;
}

absl::StatusOr<Exchange> ExchangeLedger::GetExchange(const Principal& caller, const std::string& name) {
  Exchange exchange;
  RETURN_IF_ERROR(db_.ReadTransaction([&]() -> absl::Status {
    RETURN_IF_ERROR(VisibleRecurringExchange(caller, name).status());
    ASSIGN_OR_RETURN(exchange, LoadExchange(name));
    return absl::OkStatus();
  }));
  return exchange;
}

absl::StatusOr<api::v1::ListExchangesResponse> ExchangeLedger::ListExchanges(const Principal& caller,
                                                                             const std::string& parent) {
  api::v1::ListExchangesResponse response;
  RETURN_IF_ERROR(db_.ReadTransaction([&]() -> absl::Status {
    RETURN_IF_ERROR(VisibleRecurringExchange(caller, parent).status());
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_.Prepare("SELECT data FROM exchanges WHERE recurring_exchange = ? ORDER BY date DESC"));
    q.Bind(1, parent);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(*response.add_exchanges(), ParseRow<Exchange>(q.ColumnBlob(0), "exchange"));
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<api::v1::ListExchangeStepsResponse> ExchangeLedger::ListExchangeSteps(const Principal& caller,
                                                                                     const std::string& parent) {
  api::v1::ListExchangeStepsResponse response;
  RETURN_IF_ERROR(db_.ReadTransaction([&]() -> absl::Status {
    RETURN_IF_ERROR(VisibleRecurringExchange(caller, parent).status());
    ASSIGN_OR_RETURN(std::vector<ExchangeStep> steps, LoadSteps(parent));
    for (ExchangeStep& step : steps) *response.add_steps() = std::move(step);
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<api::v1::ListExchangeStepAttemptsResponse> ExchangeLedger::ListExchangeStepAttempts(
    const Principal& caller, const std::string& parent) {
  api::v1::ListExchangeStepAttemptsResponse response;
  RETURN_IF_ERROR(db_.ReadTransaction([&]() -> absl::Status {
    RETURN_IF_ERROR(VisibleRecurringExchange(caller, parent).status());
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_.Prepare("SELECT data FROM exchange_step_attempts WHERE step = ? ORDER BY name"));
    q.Bind(1, parent);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      ASSIGN_OR_RETURN(*response.add_attempts(), ParseRow<ExchangeStepAttempt>(q.ColumnBlob(0), "attempt"));
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<int> ExchangeLedger::RunHousekeeping() {
  int deleted = 0;
  RETURN_IF_ERROR(Write([&](int64_t now) -> absl::Status {
    RETURN_IF_ERROR(ExpireLeases(now));
    ASSIGN_OR_RETURN(storage::Statement q, db_.Prepare("DELETE FROM exchanges WHERE date < ?"));
    q.Bind(1, FormatDate(Today(now) - retention_days_));
    RETURN_IF_ERROR(q.Run());
    deleted = static_cast<int>(q.ChangedRows());
    return absl::OkStatus();
  }));
  return deleted;
}

}  // namespace halo::kingdom
