// A role of the `halo` binary started as its own process by a test or a
// benchmark, as an operator starts it: its config written to a file, its log
// to another. The including target defines HALO_BINARY.
#ifndef HALO_TESTS_TESTING_HALO_PROCESS_H_
#define HALO_TESTS_TESTING_HALO_PROCESS_H_

#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "google/protobuf/text_format.h"
#include "halo/common/files.h"
#include "halo/config/config.pb.h"
#include "testing/subprocess.h"

namespace halo::testing {

// Writes `config` to `config_path` and runs `halo --config` on it with its
// stderr in `log_path`; null, after printing the log, if it does not say it
// started or is serving within 20 s. A non-empty `replay_seed` makes the
// process's DP noise replay (--insecure-replay-seed).
inline std::unique_ptr<ChildProcess> StartHalo(const config::HaloConfig& config, const std::string& config_path,
                                               const std::string& log_path, const std::string& replay_seed = "") {
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  if (absl::Status written = WriteFileAtomically(config_path, text); !written.ok()) {
    std::fprintf(stderr, "%s\n", std::string(written.message()).c_str());
    return nullptr;
  }
  auto process = std::make_unique<ChildProcess>(std::vector<std::string>{
      "/bin/sh", "-c",
      absl::StrCat("exec '", HALO_BINARY, "' --config '", config_path, "'",
                   replay_seed.empty() ? "" : absl::StrCat(" --insecure-replay-seed='", replay_seed, "'"), " 2>'",
                   log_path, "'")});
  for (int i = 0; i < 200; ++i) {
    const std::string log = ReadFile(log_path).value_or("");
    if (absl::StrContains(log, "started") || absl::StrContains(log, "serving")) return process;
    absl::SleepFor(absl::Milliseconds(100));
  }
  std::fprintf(stderr, "%s did not start:\n%s\n", config_path.c_str(), ReadFile(log_path).value_or("").c_str());
  return nullptr;
}

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_HALO_PROCESS_H_
