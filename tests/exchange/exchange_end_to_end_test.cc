// Panel Exchange end to end in one process: the Kingdom schedules a
// recurring exchange and two exchange daemons run it on generated panels.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/civil_time.h"
#include "halo/api/certificate_name.h"
#include "halo/api/v1/exchanges.grpc.pb.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/crypto/certificate.h"
#include "halo/deployment/in_process_deployment.h"
#include "halo/exchange/example_workflows.h"
#include "halo/exchange/exchange_daemon.h"
#include "halo/exchange/synthetic_panels.h"
#include "halo/exchange/workflow.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"
#include "testing/test_databases.h"
#include "testing/temp_dir.h"

namespace halo::exchange {
namespace {

using namespace api::v1;

constexpr char kDataProvider[] = "dataProviders/edp1";
constexpr char kModelProvider[] = "modelProviders/mp1";

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

class World {
 public:
  // `accepted`: the workflows' hashes both parties pin (none: the examples);
  // `model_provider_accepts`, the model provider's if it pins others.
  explicit World(uint64_t keys = 3000, uint64_t overlap = 1200, int lease_seconds = 0,
                 bool model_provider_has_ca = true, std::vector<std::string> accepted = {},
                 std::optional<std::vector<std::string>> model_provider_accepts = std::nullopt)
      : overlap_(overlap) {
    REQUIRE(WriteSyntheticPanels(dir_.Sub("edp1-input/panel.txt"), dir_.Sub("mp1-input/panel.txt"), keys, overlap, 7)
                .ok());
    deployment::InProcessDeploymentOptions options;
    options.dir = dir_.Sub("deployment");
    options.database = testing::BackendUnderTest() == testing::Backend::kPostgres
                           ? deployment::DeploymentDatabase::kPostgresql
                           : deployment::DeploymentDatabase::kSqlite;
    for (const char* d : {"worker1", "worker2", "aggregator"}) options.protocols.add_duchies(d);
    options.protocols.set_aggregator("aggregator");
    options.measurement_consumers = {"mc1"};
    options.exchange_parties = {
        {kDataProvider, dir_.Sub("edp1-input"), dir_.Sub("edp1-output"), true, accepted},
        {kModelProvider, dir_.Sub("mp1-input"), dir_.Sub("mp1-output"), model_provider_has_ca,
         model_provider_accepts.value_or(accepted)}};
    options.shared_storage_dir = dir_.Sub("shared");
    options.exchange_step_lease_seconds = lease_seconds;
    options.exchange_step_max_attempts = 3;
    auto started = deployment::InProcessDeployment::Start(options);
    INFO(started.status().message());
    REQUIRE(started.ok());
    deployment_ = *std::move(started);
  }

  std::shared_ptr<grpc::Channel> As(const std::string& subject) {
    return net::OpenChannel(absl::StrCat("localhost:", deployment_->kingdom_public_port()),
                            deployment_->tls(subject), net::kKingdomSubject);
  }

  absl::StatusOr<RecurringExchange> Create(const ExchangeWorkflow& workflow, const std::string& id = "panel") {
    auto stub = RecurringExchanges::NewStub(As("admins/operator"));
    CreateRecurringExchangeRequest request;
    request.set_recurring_exchange_id(id);
    auto& r = *request.mutable_recurring_exchange();
    r.set_data_provider(kDataProvider);
    r.set_model_provider(kModelProvider);
    *r.mutable_workflow() = workflow;
    r.set_first_date(absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone())));
    r.set_cadence_days(7);
    return net::Call(*stub, &RecurringExchanges::Stub::CreateRecurringExchange, request, "create");
  }

  // Waits until the recurring exchange's first exchange leaves ACTIVE.
  Exchange AwaitExchange(const std::string& recurring) {
    auto stub = Exchanges::NewStub(As(kDataProvider));
    ListExchangesRequest list;
    list.set_parent(recurring);
    for (int i = 0; i < 1200; ++i) {
      auto listed = net::Call(*stub, &Exchanges::Stub::ListExchanges, list, "list");
      REQUIRE(listed.ok());
      if (listed->exchanges_size() > 0 && listed->exchanges(0).state() != Exchange::ACTIVE) return listed->exchanges(0);
      absl::SleepFor(absl::Milliseconds(100));
    }
    FAIL("the exchange did not finish within 2 minutes");
    return {};
  }

  std::vector<ExchangeStep> Steps(const std::string& exchange, const std::string& as = kDataProvider) {
    auto stub = Exchanges::NewStub(As(as));
    ListExchangeStepsRequest request;
    request.set_parent(exchange);
    auto steps = net::Call(*stub, &Exchanges::Stub::ListExchangeSteps, request, "steps");
    REQUIRE(steps.ok());
    return {steps->steps().begin(), steps->steps().end()};
  }

  void CheckOverlapFound() {
    const auto dp = ReadLines(dir_.Sub("edp1-output/matched.txt"));
    const auto mp = ReadLines(dir_.Sub("mp1-output/matched.txt"));
    CHECK(dp.size() == overlap_);
    CHECK(mp.size() == overlap_);
    size_t right = 0;
    for (const std::string& line : mp) {
      std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 1));
      if (fields.size() == 2 && fields[1] == SyntheticPayload(fields[0])) ++right;
    }
    CHECK(right == overlap_);
  }

  deployment::InProcessDeployment& deployment() { return *deployment_; }
  const testing::TempDir& dir() const { return dir_; }

  // The options of another daemon for the model provider, to start beside
  // the deployment's; it pins no workflow.
  ExchangeDaemonOptions SecondModelProviderDaemon() {
    ExchangeDaemonOptions options;
    options.config.set_party(kModelProvider);
    options.config.set_kingdom_public_api_target(absl::StrCat("localhost:", deployment_->kingdom_public_port()));
    options.config.set_shared_storage_dir(dir_.Sub("shared"));
    options.data_dir = dir_.Sub("other-daemon");
    options.tls = deployment_->tls(kModelProvider);
    options.signer = deployment_->signer(kModelProvider);
    return options;
  }

 private:
  testing::TempDir dir_;
  uint64_t overlap_;
  std::unique_ptr<deployment::InProcessDeployment> deployment_;
};

TEST_CASE("An exchange finds exactly the true overlap, and the model provider opens exactly the matched payloads") {
  World w;
  auto recurring = w.Create(FullExchangeWorkflow());
  INFO(recurring.status().message());
  REQUIRE(recurring.ok());
  const Exchange done = w.AwaitExchange(recurring->name());
  INFO(done.failure_message());
  REQUIRE(done.state() == Exchange::SUCCEEDED);
  w.CheckOverlapFound();
  for (const ExchangeStep& step : w.Steps(done.name())) CHECK(step.state() == ExchangeStep::SUCCEEDED);
  CHECK_THAT(ReadLines(w.dir().Sub("mp1-output/matched.txt.summary"))[0], Catch::Contains("matched_keys: 1200"));
}

// The mini exchange with each party minting a certificate for it first, and
// signing what it shares with that certificate.
ExchangeWorkflow WithExchangeCertificates() {
  ExchangeWorkflow original = MiniExchangeWorkflow();
  ExchangeWorkflow workflow;
  for (const auto& [party, id] : {std::pair{ExchangeWorkflow::DATA_PROVIDER, "dp"},
                                  std::pair{ExchangeWorkflow::MODEL_PROVIDER, "mp"}}) {
    auto& step = *workflow.add_steps();
    step.set_step_id(absl::StrCat(id, "-generate-certificate"));
    step.set_party(party);
    step.mutable_generate_certificate();
    (*step.mutable_outputs())["certificate"].set_label(absl::StrCat(id, "-certificate"));
    (*step.mutable_outputs())["certificate"].set_storage(ExchangeWorkflow::PRIVATE);
  }
  for (ExchangeWorkflow::Step step : original.steps()) {
    if (step.has_copy_to_shared_storage()) {
      auto& certificate = (*step.mutable_inputs())["certificate"];
      certificate.set_label(step.party() == ExchangeWorkflow::DATA_PROVIDER ? "dp-certificate" : "mp-certificate");
      certificate.set_storage(ExchangeWorkflow::PRIVATE);
    }
    *workflow.add_steps() = step;
  }
  return workflow;
}

TEST_CASE("Each party mints a certificate for the exchange and signs what it shares with it") {
  World w(3000, 1200, 0, true, {WorkflowSha256(WithExchangeCertificates())});
  auto recurring = w.Create(WithExchangeCertificates());
  INFO(recurring.status().message());
  REQUIRE(recurring.ok());
  const Exchange done = w.AwaitExchange(recurring->name());
  INFO(done.failure_message());
  REQUIRE(done.state() == Exchange::SUCCEEDED);
  CHECK(ReadLines(w.dir().Sub("edp1-output/matched.txt")).size() == 1200);
  CHECK(ReadLines(w.dir().Sub("mp1-output/matched.txt")).size() == 1200);
  // The shared blob is signed by a certificate the Kingdom holds for the
  // data provider, and not by the one the daemon connects with.
  const std::string date = absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()));
  std::ifstream in(w.dir().Sub("shared/panel/" + date + "/dp-single.signature"), std::ios::binary);
  SignedMessage signature;
  REQUIRE(signature.ParseFromIstream(&in));
  CHECK_THAT(signature.certificate(), Catch::StartsWith(std::string(kDataProvider) + "/certificates/"));
  const auto own = *crypto::Certificate::FromPem(w.deployment().tls(kDataProvider).certificate_pem);
  CHECK(signature.certificate() != api::CertificateName(kDataProvider, own));
  auto certificates = Certificates::NewStub(w.As(kModelProvider));
  GetCertificateRequest get;
  get.set_name(signature.certificate());
  auto minted = net::Call(*certificates, &Certificates::Stub::GetCertificate, get, "get");
  REQUIRE(minted.ok());
  CHECK(minted->subject() == kDataProvider);
}

TEST_CASE("A party without a CA fails its generate_certificate step, saying what to configure") {
  World w(3000, 1200, 0, /*model_provider_has_ca=*/false, {WorkflowSha256(WithExchangeCertificates())});
  auto recurring = w.Create(WithExchangeCertificates());
  REQUIRE(recurring.ok());
  const Exchange done = w.AwaitExchange(recurring->name());
  CHECK(done.state() == Exchange::FAILED);
  CHECK_THAT(done.failure_message(), Catch::Contains("mp-generate-certificate") &&
                                         Catch::Contains("exchange_daemon.certificate_authority"));
}

TEST_CASE("A daemon refuses a certificate authority other than its own organisation's root, naming the setting") {
  World w;
  ExchangeDaemonOptions options = w.SecondModelProviderDaemon();
  options.config.add_accepted_workflow_sha256(WorkflowSha256(MiniExchangeWorkflow()));
  auto other = *crypto::CertificateAuthority::Create("another CA", absl::Hours(1));
  options.certificate_authority_pem = other.certificate().ToPem();
  options.certificate_authority_key_pem = other.key().ToPrivateKeyPem();
  auto started = ExchangeDaemon::Start(options);
  REQUIRE_FALSE(started.ok());
  CHECK_THAT(std::string(started.status().message()),
             Catch::Contains("exchange_daemon.certificate_authority") && Catch::Contains("tls.certificate_file"));
  // Another organisation's root is refused the same way, though the
  // Kingdom trusts it for that organisation.
  const crypto::CertificateAuthority& partner = w.deployment().root("dataProviders/edp1");
  options.certificate_authority_pem = partner.certificate().ToPem();
  options.certificate_authority_key_pem = partner.key().ToPrivateKeyPem();
  auto with_partner_root = ExchangeDaemon::Start(options);
  REQUIRE_FALSE(with_partner_root.ok());
  CHECK_THAT(std::string(with_partner_root.status().message()), Catch::Contains("exchange_daemon.certificate_authority"));
}

TEST_CASE("A daemon stopped mid-exchange resumes from its last succeeded step once its lease runs out") {
  World w(20000, 5000, /*lease_seconds=*/2);
  w.deployment().StopExchangeDaemon(kModelProvider);
  auto recurring = w.Create(MiniExchangeWorkflow());
  REQUIRE(recurring.ok());
  // The data provider gets as far as it can without the model provider.
  absl::SleepFor(absl::Seconds(2));
  REQUIRE(w.deployment().StartExchangeDaemon(kModelProvider).ok());
  // Stop the model provider while it works, then bring it back.
  absl::SleepFor(absl::Milliseconds(300));
  w.deployment().StopExchangeDaemon(kModelProvider);
  absl::SleepFor(absl::Seconds(1));
  REQUIRE(w.deployment().StartExchangeDaemon(kModelProvider).ok());
  const Exchange done = w.AwaitExchange(recurring->name());
  INFO(done.failure_message());
  REQUIRE(done.state() == Exchange::SUCCEEDED);
  const auto dp = ReadLines(w.dir().Sub("edp1-output/matched.txt"));
  const auto mp = ReadLines(w.dir().Sub("mp1-output/matched.txt"));
  CHECK(dp.size() == 5000);
  CHECK(mp.size() == 5000);
}

TEST_CASE("A party runs only the workflows it pinned: another fails its first step there, naming the hash") {
  World w(3000, 1200, 0, true, {WorkflowSha256(MiniExchangeWorkflow()), WorkflowSha256(FullExchangeWorkflow())},
          std::vector<std::string>{WorkflowSha256(MiniExchangeWorkflow())});
  // The Kingdom's administrator schedules the full workflow, which hands the
  // data provider's payloads over; the model provider agreed only to mini.
  auto recurring = w.Create(FullExchangeWorkflow());
  REQUIRE(recurring.ok());
  const Exchange done = w.AwaitExchange(recurring->name());
  CHECK(done.state() == Exchange::FAILED);
  CHECK_THAT(done.failure_message(), Catch::Contains("mp-") && Catch::Contains(WorkflowSha256(FullExchangeWorkflow())) &&
                                         Catch::Contains("accepted_workflow_sha256"));
  CHECK_FALSE(std::filesystem::exists(w.dir().Sub("mp1-output/matched.txt")));
}

TEST_CASE("A daemon that pins no workflow, or a malformed hash, does not start, naming the setting") {
  World w;
  ExchangeDaemonOptions options = w.SecondModelProviderDaemon();
  auto none = ExchangeDaemon::Start(options);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(std::string(none.status().message()), Catch::Contains("exchange_daemon.accepted_workflow_sha256"));
  options.config.add_accepted_workflow_sha256("ABC");
  auto malformed = ExchangeDaemon::Start(options);
  REQUIRE_FALSE(malformed.ok());
  CHECK_THAT(std::string(malformed.status().message()),
             Catch::Contains("accepted_workflow_sha256") && Catch::Contains("\"ABC\""));
}

TEST_CASE("A re-encryption of more points than the workflow agreed fails before any work") {
  // The data provider agreed to re-encrypt at most 100 of the model
  // provider's points; its panel has 3,000.
  ExchangeWorkflow bounded = MiniExchangeWorkflow();
  for (auto& step : *bounded.mutable_steps()) {
    if (step.step_id() == "dp-reencrypt-mp") step.mutable_commutative_reencrypt()->set_maximum_keys(100);
  }
  World w(3000, 1200, 0, true, {WorkflowSha256(bounded)});
  auto recurring = w.Create(bounded);
  REQUIRE(recurring.ok());
  const Exchange done = w.AwaitExchange(recurring->name());
  CHECK(done.state() == Exchange::FAILED);
  CHECK_THAT(done.failure_message(), Catch::Contains("dp-reencrypt-mp") && Catch::Contains("3000 points") &&
                                         Catch::Contains("maximum_keys 100"));
}

TEST_CASE("A tampered shared blob fails the step that reads it, and the exchange, with the reason") {
  World w;
  w.deployment().StopExchangeDaemon(kModelProvider);
  auto recurring = w.Create(MiniExchangeWorkflow());
  REQUIRE(recurring.ok());
  const std::string date = absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone()));
  const std::string shared = w.dir().Sub("shared/panel/" + date + "/dp-single");
  for (int i = 0; i < 200 && !std::filesystem::exists(shared + ".signature"); ++i) absl::SleepFor(absl::Milliseconds(50));
  REQUIRE(std::filesystem::exists(shared + ".signature"));
  {
    std::fstream blob(shared, std::ios::in | std::ios::out | std::ios::binary);
    blob.seekp(100);
    blob.put('\x42');
  }
  REQUIRE(w.deployment().StartExchangeDaemon(kModelProvider).ok());
  const Exchange done = w.AwaitExchange(recurring->name());
  CHECK(done.state() == Exchange::FAILED);
  CHECK_THAT(done.failure_message(), Catch::Contains("mp-fetch-dp-single") &&
                                         Catch::Contains("does not match its signature"));
}

TEST_CASE("A party sees and finishes only its own exchanges and steps; a malformed workflow is refused") {
  World w;
  w.deployment().StopExchangeDaemon(kDataProvider);
  w.deployment().StopExchangeDaemon(kModelProvider);
  auto bad = MiniExchangeWorkflow();
  (*bad.mutable_steps(2)->mutable_inputs())["key"].set_label("nowhere");
  const auto refused = w.Create(bad, "bad");
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("dp-encrypt") && Catch::Contains("nowhere"));

  auto recurring = w.Create(MiniExchangeWorkflow());
  REQUIRE(recurring.ok());
  auto work_dp = ExchangeStepWork::NewStub(w.As(kDataProvider));
  auto work_mp = ExchangeStepWork::NewStub(w.As(kModelProvider));
  auto claimed = net::Call(*work_dp, &ExchangeStepWork::Stub::ClaimReadyExchangeStep,
                           ClaimReadyExchangeStepRequest(), "claim");
  REQUIRE(claimed.ok());
  REQUIRE(claimed->has_step());
  CHECK(claimed->step().party() == ExchangeWorkflow::DATA_PROVIDER);
  CHECK(claimed->step().state() == ExchangeStep::IN_PROGRESS);

  FinishExchangeStepAttemptRequest finish;
  finish.set_name(claimed->attempt().name());
  finish.set_state(ExchangeStepAttempt::SUCCEEDED);
  const auto stolen = net::Call(*work_mp, &ExchangeStepWork::Stub::FinishExchangeStepAttempt, finish, "finish");
  CHECK(stolen.status().code() == absl::StatusCode::kPermissionDenied);
  // Every step the model provider claims is its own.
  for (int i = 0; i < 3; ++i) {
    auto mine = net::Call(*work_mp, &ExchangeStepWork::Stub::ClaimReadyExchangeStep, ClaimReadyExchangeStepRequest(),
                          "claim");
    REQUIRE(mine.ok());
    if (mine->has_step()) CHECK(mine->step().party() == ExchangeWorkflow::MODEL_PROVIDER);
  }
  // A measurement consumer may neither claim nor look.
  auto mc_work = ExchangeStepWork::NewStub(w.As("measurementConsumers/mc1"));
  CHECK(net::Call(*mc_work, &ExchangeStepWork::Stub::ClaimReadyExchangeStep, ClaimReadyExchangeStepRequest(), "claim")
            .status()
            .code() == absl::StatusCode::kPermissionDenied);

  // FAILED leaves the step to be tried again; FAILED_STEP fails it and the
  // exchange, with the message.
  finish.set_state(ExchangeStepAttempt::FAILED);
  finish.set_message("the disk was full");
  REQUIRE(net::Call(*work_dp, &ExchangeStepWork::Stub::FinishExchangeStepAttempt, finish, "finish").ok());
  const auto steps = w.Steps(claimed->exchange().name());
  CHECK(steps.at(claimed->step().step_index()).state() == ExchangeStep::READY_FOR_RETRY);
  CHECK(net::Call(*work_dp, &ExchangeStepWork::Stub::FinishExchangeStepAttempt, finish, "finish").status().code() ==
        absl::StatusCode::kFailedPrecondition);
  auto again = net::Call(*work_dp, &ExchangeStepWork::Stub::ClaimReadyExchangeStep, ClaimReadyExchangeStepRequest(),
                         "claim");
  REQUIRE(again.ok());
  REQUIRE(again->has_step());
  finish.set_name(again->attempt().name());
  finish.set_state(ExchangeStepAttempt::FAILED_STEP);
  finish.set_message("the panel file is empty");
  REQUIRE(net::Call(*work_dp, &ExchangeStepWork::Stub::FinishExchangeStepAttempt, finish, "finish").ok());
  const Exchange failed = w.AwaitExchange(recurring->name());
  CHECK(failed.state() == Exchange::FAILED);
  CHECK_THAT(failed.failure_message(), Catch::Contains("the panel file is empty"));
}

}  // namespace
}  // namespace halo::exchange
