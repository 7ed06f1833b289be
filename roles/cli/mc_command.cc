#include "cli/mc_command.h"

#include <iostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli/progress.h"
#include "cli/report.h"
#include "cli/result_text.h"
#include "halo/api/content_signer.h"
#include "halo/api/encryption_key_file.h"
#include "halo/common/config.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/common/timestamp.h"
#include "halo/mc/measurement_consumer_client.h"
#include "halo/mc/result_report.h"

namespace halo::cli {
namespace {

using api::v1::Measurement;

struct McFlags {
  std::string config;
  bool json = false;
  // create-measurement
  std::string type = "reach";
  std::vector<std::string> event_groups;
  std::string start, end, filter;
  double epsilon = 1, delta = 1e-9, frequency_epsilon = 1, frequency_delta = 1e-9;
  int max_frequency = 10, max_frequency_per_user = 10, max_duration_seconds = 3600;
  double vid_start = 0, vid_width = 1;
  std::string reference_id, request_id;
  int wait_seconds = 0;
  // get, cancel
  std::string name;
  // list
  std::vector<std::string> states;
  int limit = 50;
  // report
  std::vector<std::string> names;
  std::string out, format = "html", title = "Measurement results";
};

absl::StatusOr<std::unique_ptr<mc::McClient>> Connect(const McFlags& flags) {
  config::McClientConfig config;
  RETURN_IF_ERROR(LoadConfigMessage(flags.config, config));
  mc::McClientOptions options;
  options.measurement_consumer = config.measurement_consumer();
  options.kingdom_target = config.kingdom_public_api_target();
  ASSIGN_OR_RETURN(options.tls, net::LoadTlsMaterial(config.tls()));
  ASSIGN_OR_RETURN(options.signer,
                   api::LoadContentSigner(config.signing().certificate_file(), config.signing().private_key_file(),
                                          config.measurement_consumer(), "signing"));
  ASSIGN_OR_RETURN(options.encryption_key, api::ReadEncryptionKeyFile(config.encryption_key_file()));
  return mc::McClient::Create(options);
}

absl::StatusOr<int64_t> ParseTime(const std::string& flag, const std::string& text) {
  if (std::optional<int64_t> micros = ParseTimestampMicros(text)) return *micros;
  return absl::InvalidArgumentError(
      absl::StrCat(flag, " \"", text, "\" is neither RFC 3339 (2026-01-01T00:00:00Z) nor microseconds"));
}

absl::StatusOr<mc::MeasurementType> ParseType(const std::string& type) {
  if (type == "reach") return mc::MeasurementType::kReach;
  if (type == "reach-and-frequency") return mc::MeasurementType::kReachAndFrequency;
  if (type == "impression") return mc::MeasurementType::kImpression;
  if (type == "duration") return mc::MeasurementType::kDuration;
  return absl::InvalidArgumentError(
      absl::StrCat("--type \"", type, "\": one of reach, reach-and-frequency, impression, duration"));
}

// Prints `m`, its result opened if it succeeded.
absl::Status Show(mc::McClient& client, const Measurement& m, bool json) {
  std::optional<api::v1::MeasurementResult> result;
  if (m.state() == Measurement::SUCCEEDED) {
    ASSIGN_OR_RETURN(result, client.OpenResult(m));
  }
  std::cout << (json ? MeasurementJson(m, result) + "\n" : MeasurementText(m, result));
  return absl::OkStatus();
}

// "COMPUTING: worker1 EXECUTION_PHASE_ONE, worker2 SETUP_PHASE (attempt 2)".
std::string ProgressText(const Measurement& m) {
  std::string text = Measurement::State_Name(m.state());
  for (int i = 0; i < m.progress_size(); ++i) {
    const auto& p = m.progress(i);
    absl::StrAppend(&text, i == 0 ? ": " : ", ", p.duchy_id(), " ", p.stage(),
                    p.attempt() > 1 ? absl::StrCat(" (attempt ", p.attempt(), ")") : "");
  }
  return text;
}

// Waits for `name`, showing its progress unless the output is JSON.
absl::StatusOr<Measurement> AwaitWithProgress(mc::McClient& client, const std::string& name, const McFlags& flags) {
  Progress progress({.enabled = !flags.json});
  progress.Update(absl::StrCat(name, " ..."));
  absl::StatusOr<Measurement> done = client.AwaitMeasurement(
      name, absl::Seconds(flags.wait_seconds), [&](const Measurement& m) { progress.Update(ProgressText(m)); });
  progress.Done();
  return done;
}

absl::Status Create(const McFlags& flags) {
  // The flags first: a typo is named before anything is read or dialled.
  mc::MeasurementRequest request;
  ASSIGN_OR_RETURN(request.type, ParseType(flags.type));
  ASSIGN_OR_RETURN(int64_t start, ParseTime("--start", flags.start));
  ASSIGN_OR_RETURN(int64_t end, ParseTime("--end", flags.end));
  ASSIGN_OR_RETURN(auto client, Connect(flags));
  for (const std::string& group : flags.event_groups) request.event_groups.push_back({group, start, end, flags.filter});
  request.privacy.set_epsilon(flags.epsilon);
  request.privacy.set_delta(flags.delta);
  request.frequency_privacy.set_epsilon(flags.frequency_epsilon);
  request.frequency_privacy.set_delta(flags.frequency_delta);
  request.maximum_frequency = flags.max_frequency;
  request.maximum_frequency_per_user = flags.max_frequency_per_user;
  request.maximum_watch_duration_seconds = flags.max_duration_seconds;
  request.vid_sampling_start = flags.vid_start;
  request.vid_sampling_width = flags.vid_width;
  request.reference_id = flags.reference_id;
  request.request_id = flags.request_id;
  ASSIGN_OR_RETURN(Measurement m, client->CreateMeasurement(request));
  if (flags.wait_seconds > 0) {
    ASSIGN_OR_RETURN(m, AwaitWithProgress(*client, m.name(), flags));
  }
  return Show(*client, m, flags.json);
}

absl::Status Get(const McFlags& flags) {
  ASSIGN_OR_RETURN(auto client, Connect(flags));
  ASSIGN_OR_RETURN(Measurement m, flags.wait_seconds > 0 ? AwaitWithProgress(*client, flags.name, flags)
                                                         : client->GetMeasurement(flags.name));
  return Show(*client, m, flags.json);
}

absl::Status List(const McFlags& flags) {
  ASSIGN_OR_RETURN(auto client, Connect(flags));
  std::vector<Measurement::State> states;
  for (const std::string& name : flags.states) {
    Measurement::State state;
    if (!Measurement::State_Parse(name, &state)) {
      return absl::InvalidArgumentError(absl::StrCat("--state \"", name, "\": one of AWAITING_REQUISITION_FULFILLMENT, "
                                                     "COMPUTING, SUCCEEDED, FAILED, CANCELLED"));
    }
    states.push_back(state);
  }
  ASSIGN_OR_RETURN(std::vector<Measurement> measurements, client->ListMeasurements(states, flags.limit));
  if (flags.json) std::cout << "[";
  for (size_t i = 0; i < measurements.size(); ++i) {
    if (flags.json) {
      std::cout << (i > 0 ? ",\n" : "") << MeasurementJson(measurements[i], std::nullopt);
    } else {
      std::cout << measurements[i].name() << "  " << Measurement::State_Name(measurements[i].state()) << "  "
                << api::v1::Protocol_Name(measurements[i].protocol_config().protocol()) << "\n";
    }
  }
  if (flags.json) std::cout << "]\n";
  return absl::OkStatus();
}

absl::Status Cancel(const McFlags& flags) {
  ASSIGN_OR_RETURN(auto client, Connect(flags));
  ASSIGN_OR_RETURN(Measurement m, client->CancelMeasurement(flags.name));
  return Show(*client, m, flags.json);
}

absl::Status WriteReport(const McFlags& flags) {
  if (flags.format != "html" && flags.format != "csv") {
    return absl::InvalidArgumentError(absl::StrCat("--format \"", flags.format, "\": html or csv"));
  }
  if (flags.format == "html" && flags.out.empty()) {
    return absl::InvalidArgumentError("--out: an HTML report goes to a file (CSV may go to stdout)");
  }
  ASSIGN_OR_RETURN(auto client, Connect(flags));
  std::vector<mc::ReportEntry> entries;
  for (const std::string& name : flags.names) {
    mc::ReportEntry& entry = entries.emplace_back();
    ASSIGN_OR_RETURN(entry.measurement, client->GetMeasurement(name));
    entry.title = entry.measurement.measurement_reference_id().empty() ? name
                                                                       : entry.measurement.measurement_reference_id();
    if (entry.measurement.state() == Measurement::SUCCEEDED) {
      ASSIGN_OR_RETURN(entry.result, client->OpenResult(entry.measurement));
    }
  }
  const std::string report =
      flags.format == "html" ? mc::ResultReportHtml(flags.title, entries) : mc::ResultReportCsv(entries);
  if (flags.out.empty()) {
    std::cout << report;
    return absl::OkStatus();
  }
  RETURN_IF_ERROR(WriteFileAtomically(flags.out, report));
  std::cerr << "wrote " << flags.out << ": " << entries.size() << " measurement(s)\n";
  return absl::OkStatus();
}

absl::Status EventGroups(const McFlags& flags) {
  ASSIGN_OR_RETURN(auto client, Connect(flags));
  ASSIGN_OR_RETURN(std::vector<api::v1::EventGroup> groups, client->ListEventGroups());
  for (const auto& group : groups) {
    std::cout << group.name() << "  " << group.event_group_reference_id() << "  " << group.brand_name() << "  "
              << group.campaign_name() << "\n";
  }
  return absl::OkStatus();
}

}  // namespace

void AddMcCommand(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<McFlags>();
  CLI::App* mc = app.add_subcommand("mc", "A measurement consumer's commands");
  mc->add_option("--config", flags->config, "McClientConfig file (protobuf text)")->required();
  mc->add_flag("--json", flags->json, "Print JSON for scripts");
  mc->require_subcommand(1);

  CLI::App* create = mc->add_subcommand("create-measurement", "Ask for a measurement");
  create->add_option("--type", flags->type, "reach, reach-and-frequency, impression or duration");
  create->add_option("--event-group", flags->event_groups, "Event group name (repeatable)")->required();
  create->add_option("--start", flags->start, "Collection interval start (RFC 3339 or micros)")->required();
  create->add_option("--end", flags->end, "Collection interval end, exclusive")->required();
  create->add_option("--filter", flags->filter, "Event filter, e.g. 'age >= 18 && gender == \"F\"'");
  create->add_option("--epsilon", flags->epsilon, "Reach (or impression, duration) epsilon");
  create->add_option("--delta", flags->delta);
  create->add_option("--frequency-epsilon", flags->frequency_epsilon);
  create->add_option("--frequency-delta", flags->frequency_delta);
  create->add_option("--max-frequency", flags->max_frequency, "Reach and frequency: the last bucket");
  create->add_option("--max-frequency-per-user", flags->max_frequency_per_user, "Impression: the cap a person");
  create->add_option("--max-duration", flags->max_duration_seconds, "Duration: seconds a person at most");
  create->add_option("--vid-start", flags->vid_start, "VID sampling interval start");
  create->add_option("--vid-width", flags->vid_width, "VID sampling interval width");
  create->add_option("--reference-id", flags->reference_id);
  create->add_option("--request-id", flags->request_id, "A retry with the same id returns the first");
  create->add_option("--wait", flags->wait_seconds, "Wait up to this many seconds for the result");
  create->callback([flags, &exit_code] { exit_code = Report("mc", Create(*flags)); });

  CLI::App* get = mc->add_subcommand("get", "Show a measurement and its checked result");
  get->add_option("name", flags->name, "measurementConsumers/{mc}/measurements/{m}")->required();
  get->add_option("--wait", flags->wait_seconds, "Wait up to this many seconds for it to finish");
  get->callback([flags, &exit_code] { exit_code = Report("mc", Get(*flags)); });

  CLI::App* list = mc->add_subcommand("list", "List measurements");
  list->add_option("--state", flags->states, "Only this state (repeatable)");
  list->add_option("--limit", flags->limit)->check(CLI::PositiveNumber);
  list->callback([flags, &exit_code] { exit_code = Report("mc", List(*flags)); });

  CLI::App* cancel = mc->add_subcommand("cancel", "Cancel a measurement");
  cancel->add_option("name", flags->name)->required();
  cancel->callback([flags, &exit_code] { exit_code = Report("mc", Cancel(*flags)); });

  CLI::App* report = mc->add_subcommand(
      "report", "Write measurements' results as one self-contained HTML file of charts (or CSV for spreadsheets)");
  report->add_option("names", flags->names, "measurementConsumers/{mc}/measurements/{m} (one or more)")->required();
  report->add_option("--out", flags->out, "The file to write (CSV: stdout when omitted)");
  report->add_option("--format", flags->format, "html (default) or csv");
  report->add_option("--title", flags->title, "The report's heading");
  report->callback([flags, &exit_code] { exit_code = Report("mc", WriteReport(*flags)); });

  CLI::App* groups = mc->add_subcommand("event-groups", "List the event groups shared with this MC");
  groups->callback([flags, &exit_code] { exit_code = Report("mc", EventGroups(*flags)); });
}

}  // namespace halo::cli
