#include "cli/duchy_command.h"

#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "cli/report.h"
#include "google/protobuf/util/json_util.h"
#include "halo/api/v1/system.grpc.pb.h"
#include "halo/common/config.h"
#include "halo/common/hex.h"
#include "halo/common/status_macros.h"
#include "halo/duchy/computation_store.h"
#include "halo/duchy/v1/records.pb.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"

namespace halo::cli {
namespace {

struct Flags {
  std::string config;
  bool json = false;
  bool all = false;
  int limit = 100;
  std::string name;
  std::string reason;
};

std::string TimeText(absl::Time t) {
  return t <= absl::UnixEpoch() ? "" : absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// The duchy's computation store, which the running duchy has open too
// (SQLite and PostgreSQL both let both at it).
absl::StatusOr<std::unique_ptr<duchy::ComputationStore>> OpenStore(const config::HaloConfig& config) {
  const std::string path = (std::filesystem::path(config.data_dir()) / "computations.db").string();
  if (!config.duchy().database().has_postgresql() && !std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat(path, " does not exist: has this duchy (data_dir ", config.data_dir(),
                                            ") run yet?"));
  }
  return duchy::ComputationStore::Open(
      {.config = config.duchy().database(), .sqlite_path = path, .field = "duchy.database"});
}

duchy::v1::ComputationStatus StatusOf(const duchy::LocalComputation& c) {
  duchy::v1::ComputationStatus s;
  s.set_name(c.name);
  s.set_stage(duchy::v1::ComputationStage_Name(c.stage));
  duchy::v1::ComputationDetails details;
  if (details.ParseFromString(c.details)) {
    s.set_protocol(api::v1::Protocol_Name(details.computation().protocol_config().protocol()));
    s.set_position(details.position());
  }
  s.set_runnable(c.runnable);
  s.set_attempts(c.attempts);
  s.set_lease_owner(c.lease_owner);
  s.set_lease_expiry(c.lease_owner.empty() ? "" : TimeText(c.lease_expiry));
  s.set_next_attempt(TimeText(c.next_attempt));
  s.set_updated(TimeText(c.updated));
  s.set_last_error(c.last_error);
  s.set_failure(c.failure);
  return s;
}

std::string Json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

// The config of a duchy or of its herald: the processes that hold its store.
absl::StatusOr<config::HaloConfig> LoadDuchyConfig(const std::string& path) {
  absl::StatusOr<config::HaloConfig> duchy = LoadConfig(path, "duchy");
  if (!duchy.ok()) {
    if (absl::StatusOr<config::HaloConfig> herald = LoadConfig(path, "duchy-herald"); herald.ok()) return herald;
  }
  return duchy;
}

absl::Status List(const Flags& flags) {
  ASSIGN_OR_RETURN(config::HaloConfig config, LoadDuchyConfig(flags.config));
  ASSIGN_OR_RETURN(auto store, OpenStore(config));
  ASSIGN_OR_RETURN(std::vector<duchy::LocalComputation> computations, store->List(flags.all, flags.limit));
  if (flags.json) {
    duchy::v1::ComputationStatusList list;
    for (const auto& c : computations) *list.add_computations() = StatusOf(c);
    std::cout << Json(list);
    return absl::OkStatus();
  }
  if (computations.empty()) {
    std::cout << (flags.all ? "no computations\n" : "no computations in progress (--all shows finished ones)\n");
    return absl::OkStatus();
  }
  std::cout << absl::StrFormat("%-32s %-34s %8s  %s\n", "COMPUTATION", "STAGE", "ATTEMPTS", "WORKED ON BY / LAST ERROR");
  for (const auto& c : computations) {
    const duchy::v1::ComputationStatus s = StatusOf(c);
    std::string note = s.failure();
    if (!note.empty()) {
      // Failed: why is all there is to say.
    } else if (!s.lease_owner().empty()) {
      note = absl::StrCat(s.lease_owner(), " until ", s.lease_expiry());
    } else if (!s.last_error().empty()) {
      note = absl::StrCat(s.last_error(), s.next_attempt().empty() ? "" : absl::StrCat(" (again at ", s.next_attempt(), ")"));
    }
    std::cout << absl::StrFormat("%-32s %-34s %8d  %s\n", s.name(), s.stage(), s.attempts(), note);
  }
  return absl::OkStatus();
}

absl::Status Show(const Flags& flags) {
  ASSIGN_OR_RETURN(config::HaloConfig config, LoadDuchyConfig(flags.config));
  ASSIGN_OR_RETURN(auto store, OpenStore(config));
  ASSIGN_OR_RETURN(duchy::LocalComputation c, store->Get(flags.name));
  duchy::v1::ComputationStatus s = StatusOf(c);
  for (int stage = 0; stage <= duchy::v1::ComputationStage_MAX; ++stage) {
    if (!duchy::v1::ComputationStage_IsValid(stage)) continue;
    ASSIGN_OR_RETURN(std::vector<duchy::StageInput> inputs,
                     store->Inputs(c.name, static_cast<duchy::v1::ComputationStage>(stage)));
    for (const duchy::StageInput& input : inputs) {
      auto& in = *s.add_inputs();
      in.set_stage(duchy::v1::ComputationStage_Name(static_cast<duchy::v1::ComputationStage>(stage)));
      in.set_input(input.input);
      in.set_sha256(HexEncode(input.sha256));
    }
  }
  ASSIGN_OR_RETURN(std::vector<duchy::StageAttempt> attempts, store->Attempts(c.name));
  for (const duchy::StageAttempt& a : attempts) {
    auto& out = *s.add_stage_attempts();
    out.set_stage(duchy::v1::ComputationStage_Name(a.stage));
    out.set_attempt(a.attempt);
    out.set_mill(a.owner);
    out.set_started(TimeText(a.started));
    out.set_wall_seconds(absl::ToDoubleSeconds(a.wall));
    out.set_cpu_seconds(absl::ToDoubleSeconds(a.cpu));
    out.set_bytes_in(static_cast<int64_t>(a.bytes_in));
    out.set_bytes_out(static_cast<int64_t>(a.bytes_out));
    out.set_peak_rss_bytes(a.peak_rss_bytes);
    out.set_outcome(a.outcome);
  }
  if (flags.json) {
    std::cout << Json(s);
    return absl::OkStatus();
  }
  std::cout << s.name() << "\n  stage         " << s.stage() << (s.runnable() ? " (runnable)" : "")
            << "\n  protocol      " << s.protocol() << ", position " << s.position() << "\n  attempts      "
            << s.attempts() << "\n";
  if (!s.lease_owner().empty()) std::cout << "  worked on by  " << s.lease_owner() << " until " << s.lease_expiry() << "\n";
  if (!s.next_attempt().empty()) std::cout << "  next attempt  " << s.next_attempt() << "\n";
  if (!s.last_error().empty()) std::cout << "  last error    " << s.last_error() << "\n";
  if (!s.failure().empty()) std::cout << "  failure       " << s.failure() << "\n";
  std::cout << "  updated       " << s.updated() << "\n";
  for (const auto& in : s.inputs()) {
    std::cout << "  input         " << (in.stage() == "COMPUTATION_STAGE_UNSPECIFIED" ? "upload" : in.stage()) << " "
              << in.input() << " sha256 " << in.sha256().substr(0, 16) << "\n";
  }
  for (const auto& a : s.stage_attempts()) {
    std::cout << absl::StrFormat(
        "  attempt       %s #%d by %s at %s: %.3f s, %.3f s CPU, %d bytes in, %d out, peak %d MiB: %s\n", a.stage(),
        a.attempt(), a.mill(), a.started(), a.wall_seconds(), a.cpu_seconds(), a.bytes_in(), a.bytes_out(),
        a.peak_rss_bytes() >> 20, a.outcome());
  }
  return absl::OkStatus();
}

absl::Status Retry(const Flags& flags) {
  ASSIGN_OR_RETURN(config::HaloConfig config, LoadDuchyConfig(flags.config));
  ASSIGN_OR_RETURN(auto store, OpenStore(config));
  RETURN_IF_ERROR(store->Retry(flags.name));
  std::cout << flags.name << " may be claimed now\n";
  return absl::OkStatus();
}

// Fails it here and at the Kingdom, as the duchy.
absl::Status Fail(const Flags& flags) {
  ASSIGN_OR_RETURN(config::HaloConfig config, LoadDuchyConfig(flags.config));
  ASSIGN_OR_RETURN(auto store, OpenStore(config));
  ASSIGN_OR_RETURN(duchy::LocalComputation c, store->Get(flags.name));
  if (c.stage == duchy::v1::COMPLETE || c.stage == duchy::v1::FAILED) {
    return absl::FailedPreconditionError(absl::StrCat(flags.name, " is ", duchy::v1::ComputationStage_Name(c.stage)));
  }
  const std::string reason = absl::StrCat("the operator of duchy ", config.duchy().duchy_id(), " failed it: ", flags.reason);
  RETURN_IF_ERROR(store->Fail(flags.name, reason));
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(config.duchy().tls()));
  auto kingdom = api::v1::Computations::NewStub(
      net::OpenChannel(config.duchy().kingdom_system_api_target(), tls, net::kKingdomSubject));
  api::v1::FailComputationParticipantRequest request;
  request.set_name(flags.name);
  request.set_message(reason);
  RETURN_IF_ERROR(net::Call(*kingdom, &api::v1::Computations::Stub::FailComputationParticipant, request,
                            "the Kingdom's FailComputationParticipant")
                      .status());
  std::cout << flags.name << " failed here and at the Kingdom\n";
  return absl::OkStatus();
}

}  // namespace

void AddDuchyCommand(CLI::App& app, int& exit_code) {
  CLI::App* duchy = app.add_subcommand("duchy", "A duchy operator's commands");
  duchy->require_subcommand(1);
  CLI::App* computations =
      duchy->add_subcommand("computations", "What the duchy's computations are doing (its config's data_dir)");
  computations->require_subcommand(1);
  auto flags = std::make_shared<Flags>();
  computations->add_option("--config", flags->config, "The config of the duchy or of its herald")->required();

  CLI::App* list = computations->add_subcommand("list", "Computations in progress: stage, attempts, lease, last error");
  list->add_flag("--json", flags->json, "Print JSON");
  list->add_flag("--all", flags->all, "Finished ones too");
  list->add_option("--limit", flags->limit, "At most this many")->check(CLI::Range(1, 100000));
  list->callback([flags, &exit_code] { exit_code = Report("duchy computations list", List(*flags)); });

  CLI::App* show = computations->add_subcommand("show", "One computation and the inputs it holds");
  show->add_option("name", flags->name, "computations/{id}")->required();
  show->add_flag("--json", flags->json, "Print JSON");
  show->callback([flags, &exit_code] { exit_code = Report("duchy computations show", Show(*flags)); });

  CLI::App* retry = computations->add_subcommand("retry", "Let a mill claim a waiting computation now, attempts afresh");
  retry->add_option("name", flags->name, "computations/{id}")->required();
  retry->callback([flags, &exit_code] { exit_code = Report("duchy computations retry", Retry(*flags)); });

  CLI::App* fail = computations->add_subcommand("fail", "Fail a computation here and at the Kingdom");
  fail->add_option("name", flags->name, "computations/{id}")->required();
  fail->add_option("--reason", flags->reason, "Why, for the measurement's failure")->required();
  fail->callback([flags, &exit_code] { exit_code = Report("duchy computations fail", Fail(*flags)); });
}

}  // namespace halo::cli
