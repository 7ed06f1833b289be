// Every daemon role's monitoring listener, scraped as Prometheus would
// scrape it: a deployment of separate `halo` processes (the Kingdom, each
// duchy as a herald and a mill, two EDP agents) runs a measurement; then
// every role's /metrics must pass the strict exposition check and show what
// it did, and /healthz must say whether its Kingdom answers.
#include <catch2/catch.hpp>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "halo/monitoring/status_page.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "testing/headless_browser.h"
#include "testing/http_get.h"
#include "testing/process_deployment.h"
#include "testing/prometheus_text.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace halo::testing {
namespace {

std::string ReadSource(const std::string& path) {
  std::ifstream in(std::string(HALO_SOURCE_DIR) + "/" + path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Every "expr" in a Grafana dashboard's JSON.
void CollectQueries(const google::protobuf::Value& value, std::vector<std::string>& queries) {
  if (value.has_struct_value()) {
    for (const auto& [key, field] : value.struct_value().fields()) {
      if (key == "expr" && field.has_string_value()) queries.push_back(field.string_value());
      CollectQueries(field, queries);
    }
  } else if (value.has_list_value()) {
    for (const auto& item : value.list_value().values()) CollectQueries(item, queries);
  }
}

// The metric families a PromQL query reads: its names that begin "halo_",
// less a histogram's _bucket, _sum or _count.
std::set<std::string> FamiliesIn(const std::string& query) {
  static const std::regex kName("halo_[a-zA-Z0-9_:]*");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(query.begin(), query.end(), kName); it != std::sregex_iterator(); ++it) {
    std::string name = it->str();
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (absl::EndsWith(name, suffix)) {
        name = std::string(absl::StripSuffix(name, suffix));
        break;
      }
    }
    names.insert(name);
  }
  return names;
}

Exposition Scrape(ProcessDeployment& d, const std::string& role) {
  auto reply = HttpGet(d.MonitoringPort(role), "/metrics");
  INFO(role << ": " << reply.status().message());
  REQUIRE(reply.ok());
  REQUIRE(reply->status == 200);
  CHECK(reply->headers.at("content-type") == "text/plain; version=0.0.4; charset=utf-8");
  auto parsed = ParseExposition(reply->body);
  INFO(role << ": " << parsed.status().message() << "\n" << reply->body);
  REQUIRE(parsed.ok());
  return *std::move(parsed);
}

TEST_CASE("Every role serves metrics a strict scraper accepts, showing the measurement it ran, and its health") {
  TempDir events;
  REQUIRE(WriteDeploymentEvents(events.Sub("events"), 200'000, 5'000, /*seed=*/23).ok());
  ProcessDeploymentOptions options;
  options.events_dir = events.Sub("events");
  options.population_size = 200'000;
  options.llv2_sketch_size = 20'000;
  options.replay_seed = "monitoring test";
  options.mills_per_duchy = 1;
  options.mill_parallelism = 1;
  options.exchange_daemon = true;
  auto started = ProcessDeployment::Start(options);
  INFO(started.status().message());
  REQUIRE(started.ok());
  ProcessDeployment& d = **started;
  auto mc = d.Mc();
  REQUIRE(mc.ok());
  auto created = (*mc)->CreateMeasurement(d.ReachAndFrequencyRequest());
  INFO(created.status().message());
  REQUIRE(created.ok());
  auto done = (*mc)->AwaitMeasurement(created->name(), absl::Minutes(3));
  REQUIRE(done.ok());
  REQUIRE(done->state() == api::v1::Measurement::SUCCEEDED);

  std::set<std::string> families;  // of every role
  for (const std::string& role : d.roles()) {
    INFO(role);
    auto health = HttpGet(d.MonitoringPort(role), "/healthz");
    REQUIRE(health.ok());
    CHECK(health->status == 200);
    const Exposition metrics = Scrape(d, role);
    for (const auto& [name, family] : metrics.families) families.insert(name);
    if (role == "kingdom") {
      CHECK(metrics.Value("halo_cmm_kingdom_measurements_ended_last_day", {{"state", "SUCCEEDED"}}) == 1);
      CHECK(metrics.Value("halo_cmm_rpc_server_duration_seconds_count",
                          {{"method", "/halo.api.v1.Measurements/CreateMeasurement"}, {"code", "OK"}}) == 1);
      // The EDP agents poll for requisitions.
      CHECK(metrics.Value("halo_cmm_rpc_server_duration_seconds_count",
                          {{"method", "/halo.api.v1.Requisitions/ListRequisitions"}, {"code", "OK"}}) > 0);
    } else if (absl::StartsWith(role, "mill-")) {
      // A mill ran its duchy's stages and timed each.
      CHECK(metrics.Value("halo_cmm_computation_stage_attempts_total",
                          {{"computation_type", "LIQUID_LEGIONS_V2"}, {"outcome", "succeeded"}}) >= 2);
      CHECK(metrics.Value("halo_cmm_computation_stage_time_seconds_count", {{"computation_type", "LIQUID_LEGIONS_V2"}}) >=
            2);
      CHECK(metrics.Value("halo_cmm_computation_stage_crypto_cpu_time_seconds_sum") > 0);
      CHECK(metrics.Value("halo_cmm_rpc_client_duration_seconds_count",
                          {{"method", "/halo.duchy.v1.MillWork/ClaimWork"}, {"code", "OK"}}) > 0);
    } else if (absl::StartsWith(role, "duchy-")) {
      CHECK(metrics.Value("halo_cmm_claimable_computations") == 0);
      CHECK(metrics.Value("halo_cmm_oldest_claimable_computation_age_seconds") == 0);
      CHECK(metrics.Value("halo_cmm_herald_last_contact_timestamp_seconds") > 0);
      CHECK(metrics.Value("halo_cmm_herald_lag_seconds_count") > 0);
      CHECK(metrics.Value("halo_cmm_rpc_server_duration_seconds_count", {{"code", "OK"}}) > 0);
    } else if (absl::StartsWith(role, "edp-")) {
      CHECK(metrics.Value("halo_cmm_edp_requisitions_total", {{"outcome", "fulfilled"}}) >= 1);
      CHECK(metrics.Value("halo_cmm_edp_privacy_budget_rho_left", {{"measurement_consumer", "measurementConsumers/mc1"}}) >
            0);
    } else if (role == "exchange-edp1") {
      CHECK(metrics.families.at("halo_cmm_exchange_step_attempts_total").type == "counter");
      CHECK(metrics.families.at("halo_cmm_exchange_step_time_seconds").type == "histogram");
    }
  }

  // The Grafana dashboard asks only for what the roles expose.
  google::protobuf::Value dashboard;
  REQUIRE(google::protobuf::util::JsonStringToMessage(ReadSource("config/monitoring/halo-dashboard.json"), &dashboard)
              .ok());
  std::vector<std::string> queries;
  CollectQueries(dashboard, queries);
  CHECK(queries.size() >= 20);
  std::set<std::string> charted;
  for (const std::string& query : queries) {
    for (const std::string& family : FamiliesIn(query)) {
      INFO(query);
      CHECK(families.contains(family));
      charted.insert(family);
    }
  }
  // And charts everything they expose.
  for (const std::string& family : families) {
    INFO(family << " is on no chart");
    CHECK(charted.contains(family));
  }

  // A measurement the EDPs refuse (more epsilon than they allow a
  // requisition) fails, and the status pages say so and why.
  mc::MeasurementRequest greedy = d.ReachAndFrequencyRequest();
  greedy.privacy.set_epsilon(2);
  auto refused = (*mc)->CreateMeasurement(greedy);
  REQUIRE(refused.ok());
  auto failed = (*mc)->AwaitMeasurement(refused->name(), absl::Minutes(1));
  REQUIRE(failed.ok());
  REQUIRE(failed->state() == api::v1::Measurement::FAILED);
  const std::string reason = failed->failure().message();
  INFO(reason);
  REQUIRE(absl::StrContains(reason, "epsilon"));
  const auto render = [&](const std::string& role) {
    auto page = RenderInChromium(absl::StrCat("http://127.0.0.1:", d.MonitoringPort(role), "/"));
    if (page) {
      INFO(role << " console:\n" << absl::StrJoin(page->console, "\n"));
      CHECK(page->console.empty());
    }
    return page;
  };
  if (auto kingdom = render("kingdom")) {
    const std::string& dom = kingdom->dom;
    CHECK_THAT(dom, Catch::Contains("<h1>halo Kingdom</h1>"));
    CHECK_THAT(dom, Catch::Contains("<table id=\"ended-measurements\">"));
    CHECK_THAT(dom, Catch::Contains("<svg id=\"ended-measurements-chart\""));
    CHECK_THAT(dom, Catch::Contains("data-label=\"FAILED\" data-value=\"1\""));
    CHECK_THAT(dom, Catch::Contains("data-label=\"SUCCEEDED\" data-value=\"1\""));
    // The failure, with its reason, escaped as text.
    CHECK_THAT(dom, Catch::Contains("<table id=\"recent-failures\">") && Catch::Contains(refused->name()) &&
                        Catch::Contains("REQUISITION_REFUSED"));
    CHECK_THAT(dom, Catch::Contains(monitoring::HtmlEscape(reason.substr(0, 40))));
  }
  if (auto herald = render("duchy-worker1")) {
    CHECK_THAT(herald->dom, Catch::Contains("<h1>halo duchy worker1</h1>") && Catch::Contains("claimable now"));
    CHECK_THAT(herald->dom, Catch::Contains("id=\"computations\"") && Catch::Contains("id=\"failures\""));
  }
  if (auto edp = render("edp-edp1")) {
    CHECK_THAT(edp->dom, Catch::Contains("<table id=\"requisitions\">") && Catch::Contains("refused") &&
                             Catch::Contains("fulfilled"));
    CHECK_THAT(edp->dom, Catch::Contains("<table id=\"budget\">") && Catch::Contains("measurementConsumers/mc1"));
  }
  if (auto exchange = render("exchange-edp1")) {
    CHECK_THAT(exchange->dom, Catch::Contains("No step has run since the daemon started."));
  }

  // `halo mc report` draws both: the one with its charts, the other with
  // why it failed; and writes CSV.
  auto mc_config = d.McConfigFile();
  REQUIRE(mc_config.ok());
  const std::string report_path = events.Sub("report.html");
  const ProcessResult report = RunProcess({HALO_BINARY, "mc", "--config", *mc_config, "report", created->name(),
                                           refused->name(), "--out", report_path, "--title", "Two measurements"},
                                          absl::Seconds(60));
  INFO(report.err);
  REQUIRE(report.exit_code == 0);
  if (auto drawn = RenderInChromium("file://" + report_path)) {
    INFO(absl::StrJoin(drawn->console, "\n"));
    CHECK(drawn->console.empty());
    CHECK_THAT(drawn->dom, Catch::Contains("<h1>Two measurements</h1>") &&
                               Catch::Contains("<svg id=\"measurement-1-reach\"") &&
                               Catch::Contains("<svg id=\"measurement-1-frequency\"") &&
                               Catch::Contains("class=\"failed\">FAILED: "));
  }
  const ProcessResult csv = RunProcess(
      {HALO_BINARY, "mc", "--config", *mc_config, "report", created->name(), "--format=csv"}, absl::Seconds(60));
  REQUIRE(csv.exit_code == 0);
  CHECK_THAT(csv.out, Catch::StartsWith("measurement,title,protocol,state,figure,") &&
                          Catch::Contains(created->name() + ",") && Catch::Contains(",SUCCEEDED,reach,") &&
                          Catch::Contains(",frequency_5+,"));
  CHECK(RunProcess({HALO_BINARY, "mc", "--config", *mc_config, "report", created->name()}, absl::Seconds(60))
            .exit_code == 1);  // HTML needs --out

  // `halo mc create-measurement --wait` says, line by line when not on a
  // terminal, what each duchy works on, as the duchies tell the Kingdom;
  // with --json, nothing but the JSON.
  const mc::MeasurementRequest r = d.ReachAndFrequencyRequest();
  std::vector<std::string> create = {HALO_BINARY, "mc", "--config", *mc_config, "create-measurement",
                                     "--type", "reach", "--start",
                                     absl::StrCat(r.event_groups[0].start_micros), "--end",
                                     absl::StrCat(r.event_groups[0].end_micros), "--wait", "120"};
  for (const auto& group : r.event_groups) {
    create.push_back("--event-group");
    create.push_back(group.event_group);
  }
  const ProcessResult waited = RunProcess(create, absl::Minutes(3));
  INFO(waited.err);
  REQUIRE(waited.exit_code == 0);
  CHECK_THAT(waited.out, Catch::Contains("SUCCEEDED"));
  CHECK_THAT(waited.err, Catch::Contains("] COMPUTING: ") && Catch::Contains("aggregator ") &&
                             Catch::Contains("worker1 ") && Catch::Contains("SETUP_PHASE"));
  CHECK(waited.err.find('\r') == std::string::npos);
  // On a terminal, one line redrawn in place and cleared at the end.
  const ProcessResult tty = RunProcess(
      {"/usr/bin/script", "-qec",
       absl::StrCat(HALO_BINARY, " mc --config ", *mc_config, " get ", created->name(), " --wait 60"), "/dev/null"},
      absl::Minutes(1));
  REQUIRE(tty.exit_code == 0);
  // The elapsed seconds depend on how fast the Kingdom answers.
  CHECK(std::regex_search(tty.out, std::regex("\r\\[[0-9]+ s\\] SUCCEEDED")));
  CHECK_THAT(tty.out, Catch::Contains("reach"));
  create.insert(create.begin() + 4, "--json");
  const ProcessResult json = RunProcess(create, absl::Minutes(3));
  REQUIRE(json.exit_code == 0);
  CHECK(json.err.empty());
  CHECK_THAT(json.out, Catch::StartsWith("{"));

  // Without its Kingdom, an agent is not healthy, and says why.
  d.Kill("kingdom");
  auto health = HttpGet(d.MonitoringPort("edp-edp1"), "/healthz");
  REQUIRE(health.ok());
  CHECK(health->status == 503);
  CHECK_THAT(health->body, Catch::Contains("kingdom") && Catch::Contains("unreachable"));
  // The Kingdom's own listener went with it.
  CHECK_FALSE(HttpGet(d.MonitoringPort("kingdom"), "/healthz").ok());
}

}  // namespace
}  // namespace halo::testing
