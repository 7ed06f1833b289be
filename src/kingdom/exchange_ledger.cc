#include "exchange_ledger.h"

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


ExchangeLedger::ExchangeLedger(storage::Database& db, WriteTurns& turns, const config::KingdomConfig& config)
    : db_(db),
      turns_(turns),
      entities_(db),
      exchanges_(db),
      lease_(absl::Seconds(config.exchange_step_lease_seconds() > 0 ? config.exchange_step_lease_seconds() : 600)),
      max_attempts_(config.exchange_step_max_attempts() > 0 ? config.exchange_step_max_attempts() : 5),
      retention_days_(config.exchange_retention_days() > 0 ? config.exchange_retention_days() : 90) {}

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
  RETURN_IF_ERROR(turns_.Run([&](int64_t now) -> absl::Status {
    const std::pair<const std::string&, EntityKind> parties[] = {{recurring.data_provider(), kDataProvider},
                                                                 {recurring.model_provider(), kModelProvider}};
    for (const auto& [party, kind] : parties) {
      ASSIGN_OR_RETURN(std::optional<std::string> found, entities_.Find(party, kind));
      if (!found) return absl::InvalidArgumentError(absl::StrCat("recurring_exchange: ", party, " not found"));
    }
    recurring.set_create_time_micros(now);
    return exchanges_.InsertRecurring(recurring, FormatDate(first));
  }));
  return recurring;
}

absl::StatusOr<RecurringExchange> ExchangeLedger::LoadRecurringExchange(const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<RecurringExchange> recurring, exchanges_.FindRecurring(name));
  if (!recurring) return absl::NotFoundError(absl::StrCat(name.empty() ? "a name" : name, " not found"));
  return *std::move(recurring);
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
  const std::optional<std::string> party =
      caller.kind == Principal::Kind::kAdministrator ? std::nullopt : std::optional<std::string>(caller.name);
  ASSIGN_OR_RETURN(std::vector<RecurringExchange> listed,
                   exchanges_.ListRecurring(party, request.page_token(), size + 1));
  if (static_cast<int>(listed.size()) > size) {
    listed.pop_back();
    response.set_next_page_token(listed.back().name());
  }
  for (RecurringExchange& recurring : listed) *response.add_recurring_exchanges() = std::move(recurring);
  return response;
}

absl::StatusOr<Exchange> ExchangeLedger::LoadExchange(const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<Exchange> exchange, exchanges_.FindExchange(name));
  if (!exchange) return absl::NotFoundError(absl::StrCat(name, " not found"));
  return *std::move(exchange);
}

absl::Status ExchangeLedger::CreateDueExchanges(const Principal& caller, int64_t now) {
  ASSIGN_OR_RETURN(std::vector<ExchangeRepository::Schedule> schedules, exchanges_.SchedulesOf(caller.name));
  const absl::CivilDay today = Today(now);
  for (const auto& [next_date, recurring] : schedules) {
    ASSIGN_OR_RETURN(absl::CivilDay next, ParseDate(next_date, "next_date"));
    if (next > today) continue;
    const std::vector<std::vector<int>> prerequisites = exchange::Prerequisites(recurring.workflow());
    for (int created = 0; next <= today && created < kMaxExchangesPerClaim; ++created) {
      Exchange exchange;
      exchange.set_date(FormatDate(next));
      exchange.set_name(absl::StrCat(recurring.name(), "/exchanges/", exchange.date()));
      exchange.set_state(Exchange::ACTIVE);
      exchange.set_update_time_micros(now);
      RETURN_IF_ERROR(exchanges_.InsertExchange(exchange, recurring.name()));
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
        RETURN_IF_ERROR(exchanges_.InsertStep(step, exchange.name(), PartyOf(recurring, workflow_step.party())));
      }
      next += recurring.cadence_days();
    }
    RETURN_IF_ERROR(exchanges_.SetNextDate(recurring.name(), FormatDate(next)));
  }
  return absl::OkStatus();
}

absl::Status ExchangeLedger::FailAttempt(ExchangeStepAttempt& attempt, ExchangeStep& step,
                                         const std::string& exchange_name, bool for_good, const std::string& message,
                                         int64_t now) {
  attempt.set_state(for_good ? ExchangeStepAttempt::FAILED_STEP : ExchangeStepAttempt::FAILED);
  attempt.set_message(message);
  attempt.set_update_time_micros(now);
  RETURN_IF_ERROR(exchanges_.UpdateAttempt(attempt));
  const bool step_fails = for_good || step.attempt_count() >= max_attempts_;
  step.set_state(step_fails ? ExchangeStep::FAILED : ExchangeStep::READY_FOR_RETRY);
  step.set_update_time_micros(now);
  RETURN_IF_ERROR(exchanges_.UpdateStep(step));
  if (!step_fails) return absl::OkStatus();
  ASSIGN_OR_RETURN(Exchange exchange, LoadExchange(exchange_name));
  if (exchange.state() != Exchange::ACTIVE) return absl::OkStatus();
  exchange.set_state(Exchange::FAILED);
  exchange.set_failure_message(absl::StrCat(
      "step ", step.step_index(), " (", step.step_id(), ") failed",
      for_good ? "" : absl::StrCat(" after ", step.attempt_count(), " attempts"), ": ", message));
  exchange.set_update_time_micros(now);
  return exchanges_.UpdateExchange(exchange);
}

absl::Status ExchangeLedger::ExpireLeases(int64_t now) {
  ASSIGN_OR_RETURN(std::vector<ExchangeRepository::AttemptOfStep> expired, exchanges_.ExpiredAttempts(now));
  for (auto& [attempt, step, exchange, party] : expired) {
    RETURN_IF_ERROR(FailAttempt(attempt, step, exchange, false, "the lease expired before the attempt finished", now));
  }
  return absl::OkStatus();
}

absl::Status ExchangeLedger::Advance(const std::string& exchange_name, int64_t now) {
  ASSIGN_OR_RETURN(std::vector<ExchangeStep> steps, exchanges_.StepsOf(exchange_name));
  bool all = true;
  for (ExchangeStep& step : steps) {
    all = all && step.state() == ExchangeStep::SUCCEEDED;
    if (step.state() != ExchangeStep::BLOCKED) continue;
    bool ready = true;
    for (int p : step.prerequisites()) ready = ready && steps.at(p).state() == ExchangeStep::SUCCEEDED;
    if (!ready) continue;
    step.set_state(ExchangeStep::READY);
    step.set_update_time_micros(now);
    RETURN_IF_ERROR(exchanges_.UpdateStep(step));
  }
  if (!all) return absl::OkStatus();
  ASSIGN_OR_RETURN(Exchange exchange, LoadExchange(exchange_name));
  exchange.set_state(Exchange::SUCCEEDED);
  exchange.set_update_time_micros(now);
  return exchanges_.UpdateExchange(exchange);
}

absl::StatusOr<api::v1::ClaimReadyExchangeStepResponse> ExchangeLedger::ClaimReadyExchangeStep(
    const Principal& caller) {
  api::v1::ClaimReadyExchangeStepResponse response;
  RETURN_IF_ERROR(turns_.Run([&](int64_t now) -> absl::Status {
    RETURN_IF_ERROR(ExpireLeases(now));
    RETURN_IF_ERROR(CreateDueExchanges(caller, now));
    ASSIGN_OR_RETURN(std::optional<ExchangeRepository::StepOfExchange> ready, exchanges_.NextReadyStep(caller.name));
    if (!ready) return absl::OkStatus();
    auto& [step, exchange_name] = *ready;
    step.set_state(ExchangeStep::IN_PROGRESS);
    step.set_attempt_count(step.attempt_count() + 1);
    step.set_update_time_micros(now);
    RETURN_IF_ERROR(exchanges_.UpdateStep(step));
    ExchangeStepAttempt attempt;
    attempt.set_attempt_number(step.attempt_count());
    attempt.set_name(absl::StrCat(step.name(), "/attempts/", attempt.attempt_number()));
    attempt.set_state(ExchangeStepAttempt::ACTIVE);
    attempt.set_start_time_micros(now);
    attempt.set_lease_expiry_micros(now + absl::ToInt64Microseconds(lease_));
    attempt.set_update_time_micros(now);
    RETURN_IF_ERROR(exchanges_.InsertAttempt(attempt, step.name()));
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
  RETURN_IF_ERROR(turns_.Run([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<ExchangeRepository::AttemptOfStep> found, exchanges_.FindAttempt(request.name()));
    if (!found) return absl::NotFoundError(absl::StrCat(request.name(), " not found"));
    if (found->party != caller.name) {
      return absl::PermissionDeniedError(absl::StrCat(request.name(), " is not an attempt of ", caller.name));
    }
    attempt = found->attempt;
    ExchangeStep& step = found->step;
    const std::string& exchange_name = found->exchange;
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
    RETURN_IF_ERROR(exchanges_.UpdateAttempt(attempt));
    step.set_state(ExchangeStep::SUCCEEDED);
    step.set_update_time_micros(now);
    RETURN_IF_ERROR(exchanges_.UpdateStep(step));
    return Advance(exchange_name, now);
  }));
  return attempt;
}

absl::StatusOr<ExchangeStepAttempt> ExchangeLedger::RenewExchangeStepAttempt(const Principal& caller,
                                                                             const std::string& name) {
  ExchangeStepAttempt attempt;
  RETURN_IF_ERROR(turns_.Run([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<ExchangeRepository::AttemptOfStep> found, exchanges_.FindAttempt(name));
    if (!found) return absl::NotFoundError(absl::StrCat(name, " not found"));
    if (found->party != caller.name) {
      return absl::PermissionDeniedError(absl::StrCat(name, " is not an attempt of ", caller.name));
    }
    attempt = found->attempt;
    if (attempt.state() != ExchangeStepAttempt::ACTIVE) {
      return absl::FailedPreconditionError(
          absl::StrCat(name, " is ", ExchangeStepAttempt::State_Name(attempt.state()), ", not ACTIVE"));
    }
    attempt.set_lease_expiry_micros(now + absl::ToInt64Microseconds(lease_));
    attempt.set_update_time_micros(now);
    return exchanges_.UpdateAttempt(attempt);
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
    ASSIGN_OR_RETURN(std::vector<Exchange> exchanges, exchanges_.ExchangesOf(parent));
    for (Exchange& exchange : exchanges) *response.add_exchanges() = std::move(exchange);
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<api::v1::ListExchangeStepsResponse> ExchangeLedger::ListExchangeSteps(const Principal& caller,
                                                                                     const std::string& parent) {
  api::v1::ListExchangeStepsResponse response;
  RETURN_IF_ERROR(db_.ReadTransaction([&]() -> absl::Status {
    RETURN_IF_ERROR(VisibleRecurringExchange(caller, parent).status());
    ASSIGN_OR_RETURN(std::vector<ExchangeStep> steps, exchanges_.StepsOf(parent));
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
    ASSIGN_OR_RETURN(std::vector<ExchangeStepAttempt> attempts, exchanges_.AttemptsOf(parent));
    for (ExchangeStepAttempt& attempt : attempts) *response.add_attempts() = std::move(attempt);
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<int> ExchangeLedger::RunHousekeeping() {
  int deleted = 0;
  RETURN_IF_ERROR(turns_.Run([&](int64_t now) -> absl::Status {
    RETURN_IF_ERROR(ExpireLeases(now));
    ASSIGN_OR_RETURN(int64_t count, exchanges_.DeleteExchangesBefore(FormatDate(Today(now) - retention_days_)));
    deleted = static_cast<int>(count);
    return absl::OkStatus();
  }));
  return deleted;
}

}  // namespace halo::kingdom
