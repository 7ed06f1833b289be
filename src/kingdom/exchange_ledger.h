// The Kingdom's Panel Exchange records and their rules: recurring exchanges
// with their workflow and schedule, an exchange per due date with a step per
// workflow step, and the attempts of each step. Each change is one
// transaction in the Kingdom's database, next to the measurement tables;
// ExchangeRepository keeps the records.
//
// A step is BLOCKED until every step that writes one of its inputs has
// SUCCEEDED, then READY. A claim makes it IN_PROGRESS with an ACTIVE
// attempt that holds a lease; an attempt that outlives its lease, or ends
// FAILED, leaves the step READY_FOR_RETRY until the configured number of
// attempts is spent, when the step and its exchange FAIL. FAILED_STEP fails
// them at once. An exchange SUCCEEDS with its last step.
#ifndef HALO_SRC_KINGDOM_EXCHANGE_LEDGER_H_
#define HALO_SRC_KINGDOM_EXCHANGE_LEDGER_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "halo/api/v1/exchanges.pb.h"
#include "halo/config/config.pb.h"
#include "halo/storage/database.h"
#include "ledger.h"
#include "repositories.h"

namespace halo::kingdom {

class ExchangeLedger {
 public:
  // Writes take their turns with the Ledger's.
  ExchangeLedger(storage::Database& db, WriteTurns& turns, const config::KingdomConfig& config);

  // Administrators.
  absl::StatusOr<api::v1::RecurringExchange> CreateRecurringExchange(
      const Principal& caller, const api::v1::CreateRecurringExchangeRequest& request);
  // Administrators and the two parties.
  absl::StatusOr<api::v1::RecurringExchange> GetRecurringExchange(const Principal& caller, const std::string& name);
  absl::StatusOr<api::v1::ListRecurringExchangesResponse> ListRecurringExchanges(
      const Principal& caller, const api::v1::ListRecurringExchangesRequest& request);
  absl::StatusOr<api::v1::Exchange> GetExchange(const Principal& caller, const std::string& name);
  absl::StatusOr<api::v1::ListExchangesResponse> ListExchanges(const Principal& caller, const std::string& parent);
  absl::StatusOr<api::v1::ListExchangeStepsResponse> ListExchangeSteps(const Principal& caller,
                                                                       const std::string& parent);
  absl::StatusOr<api::v1::ListExchangeStepAttemptsResponse> ListExchangeStepAttempts(const Principal& caller,
                                                                                     const std::string& parent);

  // The parties' exchange daemons.
  absl::StatusOr<api::v1::ClaimReadyExchangeStepResponse> ClaimReadyExchangeStep(const Principal& caller);
  absl::StatusOr<api::v1::ExchangeStepAttempt> FinishExchangeStepAttempt(
      const Principal& caller, const api::v1::FinishExchangeStepAttemptRequest& request);
  absl::StatusOr<api::v1::ExchangeStepAttempt> RenewExchangeStepAttempt(const Principal& caller,
                                                                        const std::string& name);

  // Housekeeping: expires leases and deletes exchanges older than the
  // retention period. Returns how many exchanges it deleted.
  absl::StatusOr<int> RunHousekeeping();

 private:
  absl::StatusOr<api::v1::RecurringExchange> LoadRecurringExchange(const std::string& name);
  // The recurring exchange of `name` (an exchange, step or attempt name) if
  // the caller may see it.
  absl::StatusOr<api::v1::RecurringExchange> VisibleRecurringExchange(const Principal& caller,
                                                                      const std::string& name);
  absl::Status ExpireLeases(int64_t now);
  absl::Status CreateDueExchanges(const Principal& caller, int64_t now);
  absl::StatusOr<api::v1::Exchange> LoadExchange(const std::string& name);
  // After a step of `exchange` succeeded: unblocks what waited for it, and
  // ends the exchange when every step has succeeded.
  absl::Status Advance(const std::string& exchange, int64_t now);
  // Fails a step's attempt (or the step for good) and, when the step fails,
  // its exchange.
  absl::Status FailAttempt(api::v1::ExchangeStepAttempt& attempt, api::v1::ExchangeStep& step,
                           const std::string& exchange, bool for_good, const std::string& message, int64_t now);

  storage::Database& db_;
  WriteTurns& turns_;
  EntityRepository entities_;
  ExchangeRepository exchanges_;
  absl::Duration lease_;
  int max_attempts_;
  int retention_days_;
};

}  // namespace halo::kingdom

#endif  // HALO_SRC_KINGDOM_EXCHANGE_LEDGER_H_
