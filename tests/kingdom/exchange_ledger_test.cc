// The Kingdom's exchange rules without gRPC or daemons, on the backend under
// test, with a clock the test moves: when exchanges are created, how leases
// and attempts end, how steps unblock, and what housekeeping deletes.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "exchange_ledger.h"
#include "halo/api/envelopes.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/exchange/example_workflows.h"
#include "ledger.h"
#include "testing/temp_dir.h"
#include "testing/test_databases.h"
#include "testing/tls_fixture.h"

namespace halo::kingdom {
namespace {

using namespace halo::api::v1;

constexpr char kDataProvider[] = "dataProviders/edp1";
constexpr char kModelProvider[] = "modelProviders/mp1";

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  return contents.str();
}

// A ledger with a data provider and a model provider, at a time the test sets.
class Exchanges {
 public:
  Exchanges() : fixture_(dir_, "exchange-ledger") {
    config::KingdomConfig config;
    for (const char* d : {"worker1", "worker2", "aggregator"}) config.mutable_protocols()->add_duchies(d);
    config.mutable_protocols()->set_aggregator("aggregator");
    config.add_administrator_certificates(std::string(64, 'a'));
    config.set_exchange_step_lease_seconds(60);
    config.set_exchange_step_max_attempts(2);
    config.set_exchange_retention_days(20);
    Ledger::Options options;
    options.database_path = dir_.Sub("kingdom.db");
    options.config = config;
    testing::ConfigureDatabaseUnderTest(dir_, options.config.mutable_database());
    options.trusted_roots = *crypto::TrustedRoots::FromPem(Read(fixture_.ca_file()));
    options.clock = [this] { return now_; };
    auto opened = Ledger::Open(options);
    INFO(opened.status().message());
    REQUIRE(opened.ok());
    ledger_ = *std::move(opened);
    exchanges_ = std::make_unique<ExchangeLedger>(ledger_->database(), ledger_->write_turns(), options.config);

    const config::TlsConfig edp_tls = fixture_.Issue(kDataProvider);
    const api::ContentSigner edp = testing::SignerOf(fixture_.IssueSigning(kDataProvider), kDataProvider);
    CreateDataProviderRequest create_edp;
    create_edp.set_data_provider_id("edp1");
    create_edp.mutable_data_provider()->set_certificate_der(testing::CertificateDerOf(edp_tls));
    create_edp.mutable_data_provider()->set_signing_certificate_der(edp.certificate.ToDer());
    create_edp.mutable_data_provider()->set_root_certificate_der(testing::RootDerOf(edp_tls));
    *create_edp.mutable_data_provider()->mutable_public_key() = api::Sign(
        api::ToEncryptionPublicKey(crypto::EncryptionKeyPair::Generate().public_key), edp.key, "");
    auto provider = ledger_->CreateDataProvider(create_edp);
    INFO(provider.status().message());
    REQUIRE(provider.ok());

    const config::TlsConfig mp_tls = fixture_.Issue(kModelProvider);
    const api::ContentSigner mp = testing::SignerOf(fixture_.IssueSigning(kModelProvider), kModelProvider);
    CreateModelProviderRequest create_mp;
    create_mp.set_model_provider_id("mp1");
    create_mp.mutable_model_provider()->set_certificate_der(testing::CertificateDerOf(mp_tls));
    create_mp.mutable_model_provider()->set_signing_certificate_der(mp.certificate.ToDer());
    create_mp.mutable_model_provider()->set_root_certificate_der(testing::RootDerOf(mp_tls));
    auto model_provider = ledger_->CreateModelProvider(create_mp);
    INFO(model_provider.status().message());
    REQUIRE(model_provider.ok());
  }

  ExchangeLedger& operator*() { return *exchanges_; }
  ExchangeLedger* operator->() { return exchanges_.get(); }
  void Advance(absl::Duration by) { now_ += by; }
  absl::CivilDay Today() const { return absl::ToCivilDay(now_, absl::UTCTimeZone()); }

  RecurringExchange Create(absl::CivilDay first, int cadence_days) {
    CreateRecurringExchangeRequest request;
    request.set_recurring_exchange_id("panel");
    RecurringExchange& recurring = *request.mutable_recurring_exchange();
    recurring.set_data_provider(kDataProvider);
    recurring.set_model_provider(kModelProvider);
    *recurring.mutable_workflow() = exchange::MiniExchangeWorkflow();
    recurring.set_first_date(absl::FormatCivilTime(first));
    recurring.set_cadence_days(cadence_days);
    auto created = exchanges_->CreateRecurringExchange(kAdministrator, request);
    INFO(created.status().message());
    REQUIRE(created.ok());
    return *created;
  }

  std::vector<Exchange> ListExchanges(const std::string& recurring) {
    auto listed = exchanges_->ListExchanges(kAdministrator, recurring);
    INFO(listed.status().message());
    REQUIRE(listed.ok());
    return {listed->exchanges().begin(), listed->exchanges().end()};
  }

  std::vector<ExchangeStep> Steps(const std::string& exchange) {
    auto listed = exchanges_->ListExchangeSteps(kAdministrator, exchange);
    INFO(listed.status().message());
    REQUIRE(listed.ok());
    return {listed->steps().begin(), listed->steps().end()};
  }

  const Principal kAdministrator{Principal::Kind::kAdministrator, "admins/operator"};
  const Principal kDataProviderCaller{Principal::Kind::kDataProvider, kDataProvider};
  const Principal kModelProviderCaller{Principal::Kind::kModelProvider, kModelProvider};

 private:
  testing::TempDir dir_;
  testing::TlsFixture fixture_;
  absl::Time now_ = absl::Now();  // the fixture's certificates are valid from now
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<ExchangeLedger> exchanges_;
};

TEST_CASE("A claim creates the exchanges due, ten at most, and housekeeping deletes those past retention") {
  Exchanges exchanges;
  const RecurringExchange recurring = exchanges.Create(exchanges.Today() - 29, 1);
  std::vector<size_t> counts;
  for (int claim = 0; claim < 4; ++claim) {
    REQUIRE(exchanges->ClaimReadyExchangeStep(exchanges.kDataProviderCaller).ok());
    counts.push_back(exchanges.ListExchanges(recurring.name()).size());
  }
  // 30 days are due (29 days ago through today); a claim creates at most 10.
  CHECK(counts == std::vector<size_t>{10, 20, 30, 30});
  const std::vector<Exchange> all = exchanges.ListExchanges(recurring.name());
  CHECK(all.front().date() == absl::FormatCivilTime(exchanges.Today()));  // newest first
  CHECK(all.back().date() == absl::FormatCivilTime(exchanges.Today() - 29));

  // Retention is 20 days: the 9 exchanges dated before today - 20 go, with
  // their steps.
  auto deleted = exchanges->RunHousekeeping();
  REQUIRE(deleted.ok());
  CHECK(*deleted == 9);
  const std::vector<Exchange> kept = exchanges.ListExchanges(recurring.name());
  REQUIRE(kept.size() == 21);
  CHECK(kept.back().date() == absl::FormatCivilTime(exchanges.Today() - 20));
  CHECK(exchanges->ListExchangeSteps(exchanges.kAdministrator, all.back().name())->steps().empty());

  // Tomorrow, one more is due.
  exchanges.Advance(absl::Hours(24));
  REQUIRE(exchanges->ClaimReadyExchangeStep(exchanges.kModelProviderCaller).ok());
  CHECK(exchanges.ListExchanges(recurring.name()).size() == 22);
}

TEST_CASE("A lapsed lease or a failure leaves a step ready for retry until its attempts are spent") {
  Exchanges exchanges;
  const RecurringExchange recurring = exchanges.Create(exchanges.Today(), 7);
  auto first = exchanges->ClaimReadyExchangeStep(exchanges.kDataProviderCaller);
  REQUIRE(first.ok());
  REQUIRE(first->has_attempt());
  const std::string step = first->step().name();
  CHECK(first->attempt().attempt_number() == 1);
  CHECK(first->step().state() == ExchangeStep::IN_PROGRESS);

  // The other party may neither renew nor finish it.
  CHECK(absl::IsPermissionDenied(
      exchanges->RenewExchangeStepAttempt(exchanges.kModelProviderCaller, first->attempt().name()).status()));
  FinishExchangeStepAttemptRequest finish;
  finish.set_name(first->attempt().name());
  finish.set_state(ExchangeStepAttempt::SUCCEEDED);
  CHECK(absl::IsPermissionDenied(exchanges->FinishExchangeStepAttempt(exchanges.kModelProviderCaller, finish).status()));

  // A renewal keeps it past its first lease; then the lease lapses.
  exchanges.Advance(absl::Seconds(50));
  REQUIRE(exchanges->RenewExchangeStepAttempt(exchanges.kDataProviderCaller, first->attempt().name()).ok());
  exchanges.Advance(absl::Seconds(50));
  REQUIRE(exchanges->RunHousekeeping().ok());
  CHECK(exchanges.Steps(first->exchange().name()).at(first->step().step_index()).state() == ExchangeStep::IN_PROGRESS);
  exchanges.Advance(absl::Seconds(11));
  REQUIRE(exchanges->RunHousekeeping().ok());
  CHECK(exchanges.Steps(first->exchange().name()).at(first->step().step_index()).state() ==
        ExchangeStep::READY_FOR_RETRY);
  const absl::Status late = exchanges->FinishExchangeStepAttempt(exchanges.kDataProviderCaller, finish).status();
  CHECK(absl::IsFailedPrecondition(late));
  CHECK_THAT(std::string(late.message()), Catch::Contains("lease expired"));

  // The second attempt is the last the config allows; its failure fails the
  // step and the exchange, saying why.
  auto second = exchanges->ClaimReadyExchangeStep(exchanges.kDataProviderCaller);
  REQUIRE(second.ok());
  REQUIRE(second->step().name() == step);
  CHECK(second->attempt().attempt_number() == 2);
  finish.set_name(second->attempt().name());
  finish.set_state(ExchangeStepAttempt::FAILED);
  finish.set_message("the panel file is unreadable");
  REQUIRE(exchanges->FinishExchangeStepAttempt(exchanges.kDataProviderCaller, finish).ok());
  const std::vector<Exchange> listed = exchanges.ListExchanges(recurring.name());
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].state() == Exchange::FAILED);
  CHECK_THAT(listed[0].failure_message(),
             Catch::Contains("after 2 attempts") && Catch::Contains("the panel file is unreadable"));
  CHECK(exchanges.Steps(listed[0].name()).at(first->step().step_index()).state() == ExchangeStep::FAILED);
  // Nothing of a failed exchange is handed out.
  auto after = exchanges->ClaimReadyExchangeStep(exchanges.kDataProviderCaller);
  REQUIRE(after.ok());
  CHECK_FALSE(after->has_attempt());
  auto attempts = exchanges->ListExchangeStepAttempts(exchanges.kDataProviderCaller, step);
  REQUIRE(attempts.ok());
  REQUIRE(attempts->attempts_size() == 2);
  CHECK(attempts->attempts(0).state() == ExchangeStepAttempt::FAILED);
  CHECK(attempts->attempts(1).state() == ExchangeStepAttempt::FAILED);
}

TEST_CASE("Steps start only after what they read is written, and the last step ends the exchange") {
  Exchanges exchanges;
  const RecurringExchange recurring = exchanges.Create(exchanges.Today(), 7);
  const int total = recurring.workflow().steps_size();
  int finished = 0;
  // Each party in turn runs every step it is handed until it is handed none:
  // a step handed out too early is caught before the other party catches up.
  for (int turn = 0; turn < 2 * total && finished < total; ++turn) {
    const Principal& party = turn % 2 == 0 ? exchanges.kDataProviderCaller : exchanges.kModelProviderCaller;
    while (true) {
      auto claimed = exchanges->ClaimReadyExchangeStep(party);
      REQUIRE(claimed.ok());
      if (!claimed->has_attempt()) break;
      const std::vector<ExchangeStep> steps = exchanges.Steps(claimed->exchange().name());
      for (int prerequisite : claimed->step().prerequisites()) {
        INFO(claimed->step().step_id() << " waits for step " << prerequisite);
        REQUIRE(steps.at(prerequisite).state() == ExchangeStep::SUCCEEDED);
      }
      FinishExchangeStepAttemptRequest finish;
      finish.set_name(claimed->attempt().name());
      finish.set_state(ExchangeStepAttempt::SUCCEEDED);
      REQUIRE(exchanges->FinishExchangeStepAttempt(party, finish).ok());
      ++finished;
    }
  }
  CHECK(finished == total);
  const std::vector<Exchange> listed = exchanges.ListExchanges(recurring.name());
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].state() == Exchange::SUCCEEDED);
  for (const ExchangeStep& step : exchanges.Steps(listed[0].name())) CHECK(step.state() == ExchangeStep::SUCCEEDED);
}

}  // namespace
}  // namespace halo::kingdom
