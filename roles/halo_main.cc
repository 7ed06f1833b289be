// The one `halo` executable: a daemon role (--role/--config) or a client
// command (halo demo, halo mc ..., halo edp ..., halo certs ...).
#include <malloc.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cli/admin_command.h"
#include "cli/certs_command.h"
#include "cli/demo_command.h"
#include "cli/duchy_command.h"
#include "cli/edp_command.h"
#include "cli/exchange_command.h"
#include "cli/mc_command.h"
#include "halo/common/config.h"
#include "halo/common/logging.h"
#include "halo/common/shutdown.h"
#include "halo/crypto/sha256.h"
#include "role_table.h"

namespace halo {
namespace {

// Exit codes: 0 done, 1 a role failed while running, 2 bad usage or config.
constexpr int kExitRuntimeError = 1;
constexpr int kExitUsageError = 2;

struct DaemonFlags {
  std::string role;
  std::string config_path;
  std::string log_level;
  std::string log_format;
  std::string insecure_replay_seed;
};

// Flags override the config file's logging section.
absl::StatusOr<config::LoggingConfig> EffectiveLogging(const config::HaloConfig& config,
                                                       const DaemonFlags& flags) {
  config::LoggingConfig logging = config.logging();
  if (!flags.log_level.empty()) {
    auto level = ParseLogLevel(flags.log_level);
    if (!level.ok()) return level.status();
    logging.set_level(*level);
  }
  if (!flags.log_format.empty()) {
    auto format = ParseLogFormat(flags.log_format);
    if (!format.ok()) return format.status();
    logging.set_format(*format);
  }
  return logging;
}

int RunDaemon(const DaemonFlags& flags) {
  if (flags.config_path.empty()) {
    std::cerr << "halo: --config FILE is required to run a role (see halo --help)\n";
    return kExitUsageError;
  }
  auto config = LoadConfig(flags.config_path, flags.role);
  if (!config.ok()) {
    std::cerr << "halo: " << config.status().message() << "\n";
    return kExitUsageError;
  }
  auto logging = EffectiveLogging(*config, flags);
  if (!logging.ok()) {
    std::cerr << "halo: " << logging.status().message() << "\n";
    return kExitUsageError;
  }
  // Before any thread starts, so every thread inherits the signal mask.
  ShutdownSignal shutdown;
  ShutdownSignal::InstallProcessHandlers(shutdown);
  ConfigureLogging(*logging);
  spdlog::info("halo {} starting role {} from {}", HALO_VERSION, RoleName(config->role()),
               flags.config_path);
  std::string replay_seed;
  if (!flags.insecure_replay_seed.empty()) {
    spdlog::warn("--insecure-replay-seed: this process's DP noise follows a seed on its command line, so anyone "
                 "who reads it can remove the noise; for tests only, never in a deployment");
    replay_seed = crypto::Sha256(absl::StrCat("halo replay seed ", flags.insecure_replay_seed));
  }
  absl::Status status = RunRole(*config, shutdown, replay_seed);
  if (!status.ok()) {
    spdlog::error("{} failed: {}", RoleName(config->role()), std::string(status.message()));
    // A role that cannot start for what its config names (a bad value, a
    // missing file, a key others may read) fails the same way every time:
    // exit 2, which systemd does not restart in a loop.
    if (absl::IsInvalidArgument(status) || absl::IsNotFound(status) || absl::IsPermissionDenied(status)) {
      return kExitUsageError;
    }
    return kExitRuntimeError;
  }
  return 0;
}

}  // namespace
}  // namespace halo

int main(int argc, char** argv) {
  // Debian's abseil checks every Mutex acquisition for lock-order cycles;
  // that bookkeeping costs more than the locking on a busy server.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Chunks of streamed blobs (1 MiB) are allocated and freed thousands of
  // times a transfer. By default glibc maps the larger ones afresh, or hands
  // freed memory back and faults it in again, and each 4 KiB page fault on
  // a VM is a trip through the hypervisor: the 300 MB HMSS transfers spent
  // a third of their time there. Keep up to 64 MiB a heap for reuse.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  // A sync gRPC client drives a connection only while a call waits on it;
  // otherwise gRPC's backup poller does, every 5 s by default. A party
  // started before its peer (a mill before its herald, an agent before the
  // Kingdom) then took a handshake step per 5 s and timed out, and never
  // connected. An operator's setting wins.
  setenv("GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS", "100", /*overwrite=*/0);
  CLI::App app{"halo: privacy-preserving cross-media measurement.\n"
               "Run a role:    halo --role=ROLE --config=FILE\n"
               "Or a command:  halo COMMAND ...",
               "halo"};
  app.set_version_flag("--version", std::string("halo ") + HALO_VERSION);
  halo::DaemonFlags flags;
  app.add_option("--role", flags.role,
                 "kingdom, duchy, duchy-herald, duchy-mill, edp-agent or exchange-daemon "
                 "(or set role in the config)");
  app.add_option("--config", flags.config_path, "Config file in protobuf text format");
  app.add_option("--log-level", flags.log_level, "trace, debug, info, warn or error");
  app.add_option("--log-format", flags.log_format, "text or json");
  // Not in --help: a seam for tests of separate processes, which must replay.
  app.add_option("--insecure-replay-seed", flags.insecure_replay_seed)->group("");

  int command_exit_code = 0;
  halo::cli::AddAdminCommand(app, command_exit_code);
  halo::cli::AddCertsCommand(app, command_exit_code);
  halo::cli::AddDemoCommand(app, command_exit_code);
  halo::cli::AddDuchyCommand(app, command_exit_code);
  halo::cli::AddEdpCommand(app, command_exit_code);
  halo::cli::AddExchangeCommand(app, command_exit_code);
  halo::cli::AddMcCommand(app, command_exit_code);
  app.require_subcommand(0, 1);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : halo::kExitUsageError;
  }
  if (!app.get_subcommands().empty()) return command_exit_code;
  return halo::RunDaemon(flags);
}
