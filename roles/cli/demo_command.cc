#include "cli/demo_command.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cli/edp_command.h"
#include "cli/progress.h"
#include "cli/result_text.h"
#include "halo/common/logging.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/deployment/in_process_deployment.h"
#include "halo/mc/result_report.h"
#include "halo/edp/event_selection.h"
#include "halo/edp/synthetic_events.h"
#include "halo/api/v1/exchanges.grpc.pb.h"
#include "halo/exchange/example_workflows.h"
#include "halo/exchange/synthetic_panels.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"
#include "halo/sketch/vid_sampling.h"
#include "halo/stats/estimate.h"
#include "absl/time/civil_time.h"
#include "absl/strings/str_split.h"
#include <fstream>
#include <sstream>

namespace halo::cli {
namespace {

using api::v1::Measurement;
using api::v1::MeasurementResult;

struct DemoFlags {
  std::string data_dir;
  bool keep = false;
  uint64_t audience = 20000;
  uint64_t population = 1000000;
  uint64_t seed = 1;
  bool csv = false;
  int timeout_seconds = 600;
  std::string database = "sqlite";
  std::string report;  // an HTML file of the results beside their truths
};

// One measurement of the demo: what is asked, of which EDPs' events.
struct Planned {
  std::string title;
  api::v1::Protocol expected;
  mc::MeasurementRequest request;
  std::vector<std::string> edps;
  int64_t start_micros, end_micros;
  std::string filter;
};

// The truth of `p` from the events themselves.
struct Truth {
  double reach = 0;
  std::vector<double> frequency;  // relative
  double impressions = 0;
  double watch_seconds = 0;
};

std::vector<edp::EventGroupSelection> SelectionsOf(const Planned& p, const std::string& edp) {
  std::vector<edp::EventGroupSelection> selections;
  for (const char* kind : {"-video", "-display"}) {
    selections.push_back({edp + kind, p.start_micros, p.end_micros, *edp::EventFilter::Parse(p.filter)});
  }
  return selections;
}

// Over the whole population: a sampled measurement estimates it.
absl::StatusOr<Truth> TruthOf(const Planned& p, const std::string& events_dir, uint64_t population) {
  Truth truth;
  ASSIGN_OR_RETURN(const sketch::VidSampler everyone, sketch::VidSampler::Create(population, {0, 1}));
  edp::VidTally all(everyone);
  for (const std::string& edp : p.edps) {
    ASSIGN_OR_RETURN(std::vector<std::string> files, edp::ListEventFiles(absl::StrCat(events_dir, "/", edp)));
    // Caps apply per EDP: each EDP caps what it saw of a person.
    edp::VidTally one(everyone);
    RETURN_IF_ERROR(one.Add(files, SelectionsOf(p, edp)));
    all.Merge(one);
    truth.impressions += static_cast<double>(one.Impressions(static_cast<uint64_t>(p.request.maximum_frequency_per_user)));
    ASSIGN_OR_RETURN(double seconds, one.WatchSeconds(p.request.maximum_watch_duration_seconds));
    truth.watch_seconds += seconds;
  }
  truth.reach = static_cast<double>(all.Reach());
  for (uint64_t people : all.Histogram(p.request.maximum_frequency)) {
    truth.frequency.push_back(truth.reach > 0 ? static_cast<double>(people) / truth.reach : 0);
  }
  return truth;
}

// Prints one figure beside its truth; false if the truth lies outside
// `limit` standard errors.
bool Compare(absl::string_view what, double value, double se, double truth, bool whole, double limit = 3) {
  const double z = se > 0 ? std::abs(value - truth) / se : (value == truth ? 0 : INFINITY);
  const bool ok = z <= limit + 1e-9;
  auto shown = [whole](double v) { return whole ? Grouped(std::llround(v)) : absl::StrFormat("%.4f", v); };
  std::cout << absl::StrFormat("    %-14s %12s ± %-9s truth %12s   %4.1f SE  %s\n", what, shown(value),
                               whole ? Grouped(std::llround(se)) : absl::StrFormat("%.4f", se), shown(truth), z,
                               ok ? "ok" : absl::StrFormat("OUTSIDE %.1f SE", limit));
  return ok;
}

bool Report(const MeasurementResult& result, const Truth& truth) {
  bool ok = true;
  if (result.has_reach()) {
    ok &= Compare("reach", static_cast<double>(result.reach().value()), result.reach().standard_error(), truth.reach,
                  true);
  }
  // A frequency distribution is one result within 3 standard errors: its
  // buckets are checked together, each at the wider limit that keeps one
  // check's false-alarm chance.
  const int buckets = result.frequency().relative_frequency_size();
  const double bucket_limit = stats::SimultaneousStandardErrors(3, buckets);
  if (buckets > 0) {
    std::cout << absl::StrFormat("    (each frequency bucket within %.2f SE: the distribution within 3 SE)\n",
                                 bucket_limit);
  }
  for (int k = 0; k < buckets; ++k) {
    const bool last = k + 1 == buckets;
    ok &= Compare(absl::StrCat("frequency ", k + 1, last ? "+" : ""), result.frequency().relative_frequency(k),
                  result.frequency().standard_error(k), truth.frequency.at(static_cast<size_t>(k)), false,
                  bucket_limit);
  }
  if (result.has_impression()) {
    ok &= Compare("impressions", static_cast<double>(result.impression().value()),
                  result.impression().standard_error(), truth.impressions, true);
  }
  if (result.has_watch_duration()) {
    ok &= Compare("watch seconds", result.watch_duration().seconds(), result.watch_duration().standard_error(),
                  truth.watch_seconds, true);
  }
  return ok;
}

std::vector<Planned> Plan(const std::map<std::string, std::string>& groups, int64_t start, int64_t end) {
  auto request = [&](mc::MeasurementType type, const std::vector<std::string>& edps, int64_t from, int64_t to,
                     const std::string& filter) {
    mc::MeasurementRequest r;
    r.type = type;
    for (const std::string& edp : edps) {
      for (const char* kind : {"-video", "-display"}) r.event_groups.push_back({groups.at(edp + kind), from, to, filter});
    }
    r.privacy.set_epsilon(1);
    r.privacy.set_delta(1e-9);
    r.frequency_privacy.set_epsilon(1);
    r.frequency_privacy.set_delta(1e-9);
    r.maximum_frequency = 5;
    r.maximum_frequency_per_user = 5;
    r.maximum_watch_duration_seconds = 300;
    return r;
  };
  const int64_t half = start + (end - start) / 2;
  using T = mc::MeasurementType;
  std::vector<Planned> plan;
  auto add = [&](std::string title, api::v1::Protocol protocol, T type, std::vector<std::string> edps, int64_t from,
                 int64_t to, std::string filter, sketch::VidSamplingInterval sample = {0, 1}) {
    mc::MeasurementRequest r = request(type, edps, from, to, filter);
    r.vid_sampling_start = sample.start;
    r.vid_sampling_width = sample.width;
    if (sample.width < 1) {
      absl::StrAppend(&title, absl::StrFormat(", VIDs sampled over [%g, %g)", sample.start, sample.start + sample.width));
    }
    plan.push_back({std::move(title), protocol, std::move(r), edps, from, to, filter});
  };
  add("reach and frequency, edp1 + edp2", api::v1::HONEST_MAJORITY_SHARE_SHUFFLE, T::kReachAndFrequency,
      {"edp1", "edp2"}, start, end, "");
  add("reach, edp1 + edp2, region == \"north\"", api::v1::HONEST_MAJORITY_SHARE_SHUFFLE, T::kReach, {"edp1", "edp2"},
      start, end, "region == \"north\"");
  add("reach and frequency, edp1 + edp3, age >= 18 && gender == \"F\"", api::v1::LIQUID_LEGIONS_V2,
      T::kReachAndFrequency, {"edp1", "edp3"}, start, end, "age >= 18 && gender == \"F\"");
  add("reach, edp2 + edp3, first half", api::v1::REACH_ONLY_LIQUID_LEGIONS_V2, T::kReach, {"edp2", "edp3"}, start,
      half, "age >= 25");
  add("reach and frequency, edp1 + edp2, age < 35", api::v1::HONEST_MAJORITY_SHARE_SHUFFLE, T::kReachAndFrequency,
      {"edp1", "edp2"}, start, end, "age < 35", {0.2, 0.5});
  add("reach and frequency, edp1 + edp3, gender == \"M\"", api::v1::LIQUID_LEGIONS_V2, T::kReachAndFrequency,
      {"edp1", "edp3"}, start, end, "gender == \"M\"", {0.8, 0.4});
  add("reach, edp2 + edp3, age >= 50", api::v1::REACH_ONLY_LIQUID_LEGIONS_V2, T::kReach, {"edp2", "edp3"}, start, end,
      "age >= 50", {0.1, 0.3});
  add("reach, edp3", api::v1::DIRECT, T::kReach, {"edp3"}, start, end, "");
  add("reach and frequency, edp2", api::v1::DIRECT, T::kReachAndFrequency, {"edp2"}, start, end, "");
  add("impressions, edp1 + edp2 (5 a person)", api::v1::DIRECT, T::kImpression, {"edp1", "edp2"}, start, end, "");
  add("watch time, edp1 (300 s a person)", api::v1::DIRECT, T::kDuration, {"edp1"}, start, end, "gender == \"M\"");
  return plan;
}

absl::StatusOr<bool> RunDemo(const DemoFlags& flags, const std::string& dir) {
  const auto began = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  };
  edp::SyntheticEventsOptions events;
  events.population_size = flags.population;
  events.audience_size = flags.audience;
  events.edps = DefaultSyntheticEdps(3);
  events.columnar = !flags.csv;
  events.seed = flags.seed;
  const std::string events_dir = dir + "/events";
  ASSIGN_OR_RETURN(edp::SyntheticEventsSummary summary,
                   WithProgress("generating the EDPs' events", [&] { return edp::WriteSyntheticEvents(events, events_dir); }));
  std::vector<std::string> per_edp;
  for (const auto& e : summary.edps) per_edp.push_back(absl::StrCat(e.name, " ", Grouped(e.reach)));
  std::cout << "generated " << Grouped(summary.events) << " events of " << Grouped(summary.union_reach)
            << " people (" << absl::StrJoin(per_edp, ", ") << "; " << Grouped(summary.overlap_reach)
            << " seen by two or more) in " << events_dir << "\n";

  deployment::InProcessDeploymentOptions options;
  options.dir = dir;
  options.database = flags.database == "postgresql" ? deployment::DeploymentDatabase::kPostgresql
                                                    : deployment::DeploymentDatabase::kSqlite;
  // The same --seed gives the same events and the same noise: a demo run
  // replays, and its verdict is the same every time.
  options.replay_seed = flags.seed;
  auto& protocols = options.protocols;
  for (const char* d : {"worker1", "worker2", "aggregator"}) protocols.add_duchies(d);
  protocols.set_aggregator("aggregator");
  protocols.set_prefer_hmss(true);
  protocols.set_population_size(static_cast<int64_t>(flags.population));
  for (const auto& e : events.edps) {
    deployment::DeploymentEdp edp;
    edp.id = e.name;
    edp.supports_hmss = e.name != "edp3";  // so that measurements with edp3 run LLv2
    edp.events_dir = absl::StrCat(events_dir, "/", e.name);
    // The generated events' demographics: a requisition charges the
    // privacy budget of the age groups and genders its filter can select.
    edp.privacy.set_age_field("age");
    edp.privacy.set_gender_field("gender");
    for (const std::string& group : e.event_groups) {
      config::EventGroupConfig g;
      g.set_reference_id(group);
      g.set_measurement_consumer("measurementConsumers/mc1");
      g.set_campaign_name("demo campaign");
      edp.event_groups.push_back(g);
    }
    options.edps.push_back(edp);
  }
  ASSIGN_OR_RETURN(auto deployment, WithProgress("starting the Kingdom, the duchies and the EDP agents",
                                                 [&] { return deployment::InProcessDeployment::Start(options); }));
  std::cout << absl::StrFormat("started a Kingdom, 3 duchies, 3 EDP agents and an MC, records on %s (%.1f s)\n",
                               flags.database == "postgresql" ? "a private PostgreSQL server" : "SQLite", seconds());
  mc::McClient& mc = deployment->mc();
  std::map<std::string, std::string> groups;  // reference id -> name
  ASSIGN_OR_RETURN(std::vector<api::v1::EventGroup> shared, mc.ListEventGroups());
  for (const auto& g : shared) groups[g.event_group_reference_id()] = g.name();

  const int64_t start = events.start_micros, end = start + int64_t{events.days} * 86400 * 1000000;
  const std::vector<Planned> plan = Plan(groups, start, end);
  std::vector<std::string> names;
  for (const Planned& p : plan) {
    ASSIGN_OR_RETURN(Measurement m, mc.CreateMeasurement(p.request));
    names.push_back(m.name());
  }
  bool all_ok = true;
  std::vector<halo::mc::ReportEntry> entries;
  for (size_t i = 0; i < plan.size(); ++i) {
    const Planned& p = plan[i];
    Progress progress({.lines_when_not_terminal = false, .show_after = absl::Seconds(2)});
    ASSIGN_OR_RETURN(Measurement m,
                     mc.AwaitMeasurement(names[i], absl::Seconds(flags.timeout_seconds), [&](const Measurement& now) {
                       progress.Update(absl::StrCat(p.title, ": ", Measurement::State_Name(now.state())));
                     }));
    progress.Done();
    halo::mc::ReportEntry& entry = entries.emplace_back();
    entry.title = p.title;
    entry.measurement = m;
    std::cout << absl::StrFormat("\n%s [%s, %.1f s]\n", p.title, api::v1::Protocol_Name(m.protocol_config().protocol()),
                                 seconds());
    if (m.protocol_config().protocol() != p.expected) {
      std::cout << "    expected protocol " << api::v1::Protocol_Name(p.expected) << "\n";
      all_ok = false;
    }
    if (m.state() != Measurement::SUCCEEDED) {
      std::cout << "    " << Measurement::State_Name(m.state()) << ": " << m.failure().message() << "\n";
      all_ok = false;
      continue;
    }
    ASSIGN_OR_RETURN(MeasurementResult result, mc.OpenResult(m));
    ASSIGN_OR_RETURN(Truth truth, TruthOf(p, events_dir, flags.population));
    all_ok &= Report(result, truth);
    entry.result = result;
    entry.truth = halo::mc::ReportTruth{.reach = truth.reach,
                                  .frequency = truth.frequency,
                                  .impressions = truth.impressions,
                                  .watch_seconds = truth.watch_seconds};
  }
  if (!flags.report.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(
        flags.report, halo::mc::ResultReportHtml("halo demo: each result beside the truth of the generated events", entries)));
    std::cout << "\nwrote " << flags.report << ": the results as charts, each truth marked\n";
  }
  std::cout << absl::StrFormat("\n%s: %zu measurements in %.1f s\n",
                               all_ok ? "every result lies within 3 standard errors of the truth"
                                      : "SOME RESULTS ARE WRONG",
                               plan.size(), seconds());
  return all_ok;
}

struct ExchangeDemoFlags {
  uint64_t keys = 20000;
  uint64_t overlap = 7000;
  uint64_t seed = 1;
  int timeout_seconds = 300;
};

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

absl::StatusOr<bool> RunExchangeDemo(const ExchangeDemoFlags& flags, const std::string& dir) {
  const auto began = std::chrono::steady_clock::now();
  auto seconds = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count(); };
  RETURN_IF_ERROR(exchange::WriteSyntheticPanels(dir + "/edp1-input/panel.txt", dir + "/mp1-input/panel.txt",
                                                 flags.keys, flags.overlap, flags.seed));
  std::cout << "panels of " << Grouped(static_cast<int64_t>(flags.keys)) << " join keys each, "
            << Grouped(static_cast<int64_t>(flags.overlap)) << " in both; the data provider's with payloads\n";
  deployment::InProcessDeploymentOptions options;
  options.dir = dir;
  for (const char* d : {"worker1", "worker2", "aggregator"}) options.protocols.add_duchies(d);
  options.protocols.set_aggregator("aggregator");
  options.measurement_consumers.clear();
  options.exchange_parties = {{"dataProviders/edp1", dir + "/edp1-input", dir + "/edp1-output"},
                              {"modelProviders/mp1", dir + "/mp1-input", dir + "/mp1-output"}};
  options.shared_storage_dir = dir + "/shared";
  ASSIGN_OR_RETURN(auto deployment, deployment::InProcessDeployment::Start(options));
  auto channel = net::OpenChannel(absl::StrCat("localhost:", deployment->kingdom_public_port()),
                                  deployment->tls("admins/operator"), net::kKingdomSubject);
  auto recurring = api::v1::RecurringExchanges::NewStub(channel);
  api::v1::CreateRecurringExchangeRequest create;
  create.set_recurring_exchange_id("demo");
  auto& r = *create.mutable_recurring_exchange();
  r.set_data_provider("dataProviders/edp1");
  r.set_model_provider("modelProviders/mp1");
  *r.mutable_workflow() = exchange::FullExchangeWorkflow();
  r.set_first_date(absl::FormatCivilTime(absl::ToCivilDay(absl::Now(), absl::UTCTimeZone())));
  r.set_cadence_days(1);
  ASSIGN_OR_RETURN(api::v1::RecurringExchange created,
                   net::Call(*recurring, &api::v1::RecurringExchanges::Stub::CreateRecurringExchange, create,
                             "CreateRecurringExchange"));
  std::cout << absl::StrFormat("started a Kingdom and both parties' exchange daemons; %s runs %d steps (%.1f s)\n",
                               created.name(), created.workflow().steps_size(), seconds());
  auto exchanges = api::v1::Exchanges::NewStub(channel);
  api::v1::ListExchangesRequest list;
  list.set_parent(created.name());
  api::v1::Exchange exchange;
  Progress progress({.lines_when_not_terminal = false, .show_after = absl::Seconds(2)});
  auto steps = api::v1::Exchanges::NewStub(channel);
  for (int waited = 0;; ++waited) {
    ASSIGN_OR_RETURN(api::v1::ListExchangesResponse listed,
                     net::Call(*exchanges, &api::v1::Exchanges::Stub::ListExchanges, list, "ListExchanges"));
    if (listed.exchanges_size() > 0 && listed.exchanges(0).state() != api::v1::Exchange::ACTIVE) {
      exchange = listed.exchanges(0);
      break;
    }
    if (seconds() > flags.timeout_seconds) return absl::DeadlineExceededError("the exchange did not finish in time");
    if (listed.exchanges_size() > 0 && waited % 10 == 0) {
      // Which steps are done and which run, once a second.
      api::v1::ListExchangeStepsRequest request;
      request.set_parent(listed.exchanges(0).name());
      if (auto listed_steps = net::Call(*steps, &api::v1::Exchanges::Stub::ListExchangeSteps, request, "steps");
          listed_steps.ok()) {
        int done = 0;
        std::vector<std::string> running;
        for (const auto& step : listed_steps->steps()) {
          if (step.state() == api::v1::ExchangeStep::SUCCEEDED) ++done;
          if (step.state() == api::v1::ExchangeStep::IN_PROGRESS) running.push_back(step.step_id());
        }
        progress.Update(absl::StrCat(done, " of ", listed_steps->steps_size(), " steps done",
                                     running.empty() ? "" : absl::StrCat("; running ", absl::StrJoin(running, ", "))));
      }
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  progress.Done();
  std::cout << absl::StrFormat("%s %s in %.1f s\n", exchange.name(), api::v1::Exchange::State_Name(exchange.state()),
                               seconds());
  if (exchange.state() != api::v1::Exchange::SUCCEEDED) {
    std::cout << "  " << exchange.failure_message() << "\n";
    return false;
  }
  const std::vector<std::string> dp = ReadLines(dir + "/edp1-output/matched.txt");
  const std::vector<std::string> mp = ReadLines(dir + "/mp1-output/matched.txt");
  size_t payloads_right = 0;
  for (const std::string& line : mp) {
    std::vector<std::string> fields = absl::StrSplit(line, absl::MaxSplits('\t', 1));
    if (fields.size() == 2 && fields[1] == exchange::SyntheticPayload(fields[0])) ++payloads_right;
  }
  const bool ok = dp.size() == flags.overlap && mp.size() == flags.overlap && payloads_right == flags.overlap;
  std::cout << absl::StrFormat("  overlap found by the data provider  %8s   truth %8s  %s\n",
                               Grouped(static_cast<int64_t>(dp.size())), Grouped(static_cast<int64_t>(flags.overlap)),
                               dp.size() == flags.overlap ? "equal" : "DIFFERENT");
  std::cout << absl::StrFormat("  overlap found by the model provider %8s   truth %8s  %s\n",
                               Grouped(static_cast<int64_t>(mp.size())), Grouped(static_cast<int64_t>(flags.overlap)),
                               mp.size() == flags.overlap ? "equal" : "DIFFERENT");
  std::cout << absl::StrFormat("  payloads the model provider opened, right %8s of %s\n",
                               Grouped(static_cast<int64_t>(payloads_right)), Grouped(static_cast<int64_t>(flags.overlap)));
  std::cout << (ok ? "the private set intersection found exactly the true overlap\n" : "THE OVERLAP IS WRONG\n");
  return ok;
}

// A fresh temporary directory, or `given`.
absl::StatusOr<std::string> DemoDirectory(const std::string& given) {
  if (!given.empty()) return given;
  std::string pattern = (std::filesystem::temp_directory_path() / "halo-demo-XXXXXX").string();
  if (mkdtemp(pattern.data()) == nullptr) return absl::FailedPreconditionError("cannot create a temporary directory");
  return pattern;
}

void QuietLogs() {
  config::LoggingConfig logging;
  logging.set_level(config::LoggingConfig::WARN);
  ConfigureLogging(logging);
}

}  // namespace

void AddDemoCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<DemoFlags>();
  CLI::App* demo = app.add_subcommand(
      "demo",
      "Run a whole deployment in one process (Kingdom, 3 duchies, 3 EDP agents on generated data, an MC), "
      "measure with every protocol and type, and compare each result with the truth");
  demo->add_option("--data-dir", flags->data_dir, "Where to keep state (default: a new temporary directory)");
  demo->add_flag("--keep", flags->keep, "Keep the data directory afterwards");
  demo->add_option("--audience", flags->audience, "People the campaign may reach");
  demo->add_option("--population", flags->population, "VIDs are [0, population)");
  demo->add_option("--seed", flags->seed, "Seed of the generated events and of the DP noise: a run replays");
  demo->add_flag("--csv", flags->csv, "Generate CSV event files instead of columnar ones");
  demo->add_option("--timeout", flags->timeout_seconds, "Seconds to wait for each measurement");
  demo->add_option("--report", flags->report, "Also write the results beside their truths as an HTML file of charts");
  demo->add_option("--database", flags->database,
                   "Where the Kingdom and the duchies keep records: sqlite, or postgresql (a private server from "
                   "Debian's postgresql-15, started and stopped by the demo)")
      ->check(CLI::IsMember({"sqlite", "postgresql"}));
  demo->callback([demo, flags, &exit_code] {
    if (demo->got_subcommand("exchange")) return;
    absl::StatusOr<std::string> dir = DemoDirectory(flags->data_dir);
    if (!dir.ok()) {
      std::cerr << "halo demo: " << dir.status().message() << "\n";
      exit_code = 1;
      return;
    }
    QuietLogs();
    std::cout << "halo demo in " << *dir << "\n";
    absl::StatusOr<bool> ok = RunDemo(*flags, *dir);
    if (!flags->keep && flags->data_dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir, ignored);
    }
    if (!ok.ok()) std::cerr << "halo demo: " << ok.status().message() << "\n";
    exit_code = ok.ok() && *ok ? 0 : 1;
  });

  auto exchange_flags = std::make_shared<ExchangeDemoFlags>();
  CLI::App* exchange = demo->add_subcommand(
      "exchange", "Run a whole Panel Exchange in one process (a Kingdom and both parties' daemons) on generated "
                  "panels, and compare the overlap found with the truth");
  exchange->add_option("--keys", exchange_flags->keys, "Join keys in each panel");
  exchange->add_option("--overlap", exchange_flags->overlap, "Keys in both panels");
  exchange->add_option("--seed", exchange_flags->seed);
  exchange->add_option("--timeout", exchange_flags->timeout_seconds, "Seconds to wait for the exchange");
  exchange->callback([flags, exchange_flags, &exit_code] {
    absl::StatusOr<std::string> dir = DemoDirectory(flags->data_dir);
    if (!dir.ok()) {
      std::cerr << "halo demo exchange: " << dir.status().message() << "\n";
      exit_code = 1;
      return;
    }
    QuietLogs();
    std::cout << "halo demo exchange in " << *dir << "\n";
    absl::StatusOr<bool> ok = RunExchangeDemo(*exchange_flags, *dir);
    if (!flags->keep && flags->data_dir.empty()) {
      std::error_code ignored;
      std::filesystem::remove_all(*dir, ignored);
    }
    if (!ok.ok()) std::cerr << "halo demo exchange: " << ok.status().message() << "\n";
    exit_code = ok.ok() && *ok ? 0 : 1;
  });
}

}  // namespace halo::cli
