#include "halo/kingdom/kingdom_server.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "absl/synchronization/notification.h"
#include "halo/common/status_macros.h"
#include "halo/monitoring/metrics.h"
#include "halo/monitoring/status_page.h"
#include "halo/net/server.h"
#include "ledger.h"
#include "services.h"

namespace halo::kingdom {

struct KingdomServer::State {
  std::unique_ptr<Ledger> ledger;
  std::unique_ptr<AdminService> admin;
  std::unique_ptr<EventGroupsService> event_groups;
  std::unique_ptr<MeasurementsService> measurements;
  std::unique_ptr<RequisitionsService> requisitions;
  std::unique_ptr<CertificatesService> certificates;
  std::unique_ptr<DataProvidersService> data_providers;
  std::unique_ptr<ExchangeLedger> exchange_ledger;
  std::unique_ptr<RecurringExchangesService> recurring_exchanges;
  std::unique_ptr<ExchangesService> exchanges;
  std::unique_ptr<ExchangeStepWorkService> exchange_step_work;
  std::unique_ptr<ComputationsService> computations;
  std::unique_ptr<net::Server> public_server, system_server;
  absl::Notification stop_housekeeping;
  std::thread housekeeping;
  bool shut_down = false;
};

KingdomServer::KingdomServer(std::unique_ptr<State> state) : state_(std::move(state)) {}

KingdomServer::~KingdomServer() { Shutdown(absl::ZeroDuration()); }

absl::StatusOr<std::unique_ptr<KingdomServer>> KingdomServer::Start(KingdomServerOptions options) {
  auto state = std::make_unique<State>();
  ASSIGN_OR_RETURN(crypto::TrustedRoots trusted_roots, crypto::TrustedRoots::FromPem(options.tls.trusted_ca_pem));
  ASSIGN_OR_RETURN(state->ledger, Ledger::Open({.database_path = options.database_path,
                                                .config = options.config,
                                                .trusted_roots = trusted_roots,
                                                .clock = options.clock,
                                                .replay_seed = options.replay_seed}));
  Ledger& ledger = *state->ledger;
  state->admin = std::make_unique<AdminService>(ledger);
  state->event_groups = std::make_unique<EventGroupsService>(ledger);
  state->measurements = std::make_unique<MeasurementsService>(ledger);
  state->requisitions = std::make_unique<RequisitionsService>(ledger);
  state->certificates = std::make_unique<CertificatesService>(ledger);
  state->data_providers = std::make_unique<DataProvidersService>(ledger);
  state->exchange_ledger = std::make_unique<ExchangeLedger>(ledger.database(), ledger.write_turns(), options.config);
  state->recurring_exchanges = std::make_unique<RecurringExchangesService>(ledger, *state->exchange_ledger);
  state->exchanges = std::make_unique<ExchangesService>(ledger, *state->exchange_ledger);
  state->exchange_step_work = std::make_unique<ExchangeStepWorkService>(ledger, *state->exchange_ledger);
  state->computations = std::make_unique<ComputationsService>(ledger);
  const int max_request_bytes =
      options.config.max_request_bytes() > 0 ? options.config.max_request_bytes() : 4 << 20;
  ASSIGN_OR_RETURN(state->public_server,
                   net::Server::Start({options.config.public_api_address()}, options.tls,
                                      {{api::v1::Admin::service_full_name(), state->admin.get()},
                                       {api::v1::EventGroups::service_full_name(), state->event_groups.get()},
                                       {api::v1::Measurements::service_full_name(), state->measurements.get()},
                                       {api::v1::Requisitions::service_full_name(), state->requisitions.get()},
                                       {api::v1::Certificates::service_full_name(), state->certificates.get()},
                                       {api::v1::DataProviders::service_full_name(), state->data_providers.get()},
                                       {api::v1::RecurringExchanges::service_full_name(),
                                        state->recurring_exchanges.get()},
                                       {api::v1::Exchanges::service_full_name(), state->exchanges.get()},
                                       {api::v1::ExchangeStepWork::service_full_name(),
                                        state->exchange_step_work.get()}},
                                      max_request_bytes, options.metrics));
  ASSIGN_OR_RETURN(state->system_server,
                   net::Server::Start({options.config.system_api_address()}, options.tls,
                                      {{api::v1::Computations::service_full_name(), state->computations.get()},
                                       {api::v1::Certificates::service_full_name(), state->certificates.get()}},
                                      max_request_bytes, options.metrics));
  if (options.metrics != nullptr) {
    const auto by_state = [&ledger](bool over) {
      return [&ledger, over]() -> absl::StatusOr<std::vector<std::pair<monitoring::LabelValues, double>>> {
        ASSIGN_OR_RETURN(auto counts, ledger.MeasurementsByState(over));
        std::vector<std::pair<monitoring::LabelValues, double>> values;
        for (const auto& [state, count] : counts) values.push_back({{state}, static_cast<double>(count)});
        return values;
      };
    };
    options.metrics->AddGaugeReader("halo_cmm_kingdom_measurements",
                                    "Measurements not yet over, by computation state", {"state"}, by_state(false));
    options.metrics->AddGaugeReader("halo_cmm_kingdom_measurements_ended_last_day",
                                    "Measurements created in the last 24 hours that are over, by final state",
                                    {"state"}, by_state(true));
  }
  const absl::Duration interval = absl::Seconds(
      options.config.housekeeping_interval_seconds() > 0 ? options.config.housekeeping_interval_seconds() : 600);
  State* raw = state.get();
  state->housekeeping = std::thread([raw, interval] {
    while (!raw->stop_housekeeping.WaitForNotificationWithTimeout(interval)) {
      auto result = raw->ledger->RunHousekeeping();
      if (!result.ok()) {
        spdlog::error("kingdom housekeeping failed: {}", std::string(result.status().message()));
      } else if (result->cancelled + result->deleted > 0) {
        spdlog::info("kingdom housekeeping: cancelled {} pending measurements, deleted {} finished ones",
                     result->cancelled, result->deleted);
      }
      auto exchanges = raw->exchange_ledger->RunHousekeeping();
      if (!exchanges.ok()) {
        spdlog::error("kingdom exchange housekeeping failed: {}", std::string(exchanges.status().message()));
      } else if (*exchanges > 0) {
        spdlog::info("kingdom housekeeping: deleted {} exchanges past retention", *exchanges);
      }
    }
  });
  return std::unique_ptr<KingdomServer>(new KingdomServer(std::move(state)));
}

absl::Status KingdomServer::CheckHealth() { return state_->ledger->CheckDatabase(); }

absl::StatusOr<std::string> KingdomServer::StatusPage() {
  Ledger& ledger = *state_->ledger;
  monitoring::StatusPage page("Kingdom");
  const auto chart = [&page](const std::string& id, const std::vector<std::pair<std::string, int64_t>>& counts,
                             const std::string& empty) {
    std::vector<std::pair<std::string, double>> bars;
    std::vector<std::vector<std::string>> rows;
    for (const auto& [state, count] : counts) {
      bars.emplace_back(state, static_cast<double>(count));
      rows.push_back({state, absl::StrCat(count)});
    }
    page.BarChart(id + "-chart", bars);
    page.Table(id, {"state", "measurements"}, rows, empty);
  };
  page.Section("Measurements not yet over, by state");
  ASSIGN_OR_RETURN(auto open, ledger.MeasurementsByState(false));
  chart("open-measurements", open, "No measurement is in progress.");
  page.Section("Measurements created in the last 24 hours that are over");
  ASSIGN_OR_RETURN(auto ended, ledger.MeasurementsByState(true));
  chart("ended-measurements", ended, "None ended in the last 24 hours.");
  page.Section("Recent failures");
  ASSIGN_OR_RETURN(std::vector<StoredMeasurement> failed, ledger.RecentFailures(20));
  std::vector<std::vector<std::string>> rows;
  const absl::Time now = absl::Now();
  for (const StoredMeasurement& m : failed) {
    const auto& failure = m.record.measurement().failure();
    rows.push_back({m.name, m.consumer,
                    monitoring::HumanDuration(absl::ToDoubleSeconds(now - absl::FromUnixMicros(m.update_time))) + " ago",
                    api::v1::Measurement::Failure::Reason_Name(failure.reason()), failure.message()});
  }
  page.Table("recent-failures", {"measurement", "consumer", "failed", "reason", "message"}, rows,
             "No measurement has failed.");
  return page.Html();
}

int KingdomServer::public_port() const { return state_->public_server->ports()[0]; }
int KingdomServer::system_port() const { return state_->system_server->ports()[0]; }

absl::StatusOr<std::pair<int, int>> KingdomServer::RunHousekeeping() {
  ASSIGN_OR_RETURN(Ledger::HousekeepingResult result, state_->ledger->RunHousekeeping());
  return std::make_pair(result.cancelled, result.deleted);
}

void KingdomServer::Shutdown(absl::Duration grace) {
  if (state_->shut_down) return;
  state_->shut_down = true;
  state_->public_server->Shutdown(grace);
  state_->system_server->Shutdown(grace);
  state_->stop_housekeeping.Notify();
  state_->housekeeping.join();
}

}  // namespace halo::kingdom
