// The shipped systemd unit keeps halo in a tight sandbox: systemd's own
// scoring (`systemd-analyze security`, offline, so no running systemd is
// needed) rates its exposure at most 2.0 of 10, and every system call the
// roles make is one its filter allows.
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "halo/common/files.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace halo {
namespace {

// The overall exposure systemd-analyze gives `unit_text` as an instance
// unit, or -1 with the tool's output in `output`.
double Exposure(const std::string& unit_text, std::string& output) {
  testing::TempDir dir;
  const std::string path = dir.Sub("halo@kingdom.service");
  REQUIRE(WriteFileAtomically(path, unit_text).ok());
  const testing::ProcessResult result = testing::RunProcess(
      {"/usr/bin/systemd-analyze", "security", "--offline=true", "--no-pager", path}, absl::Seconds(60));
  output = result.out + result.err;
  std::smatch m;
  static const std::regex kOverall(R"(Overall exposure level for halo@kingdom\.service: ([0-9.]+))");
  if (!std::regex_search(output, m, kOverall)) return -1;
  return std::stod(m[1].str());
}

TEST_CASE("The systemd unit's exposure is at most 2.0, and an unhardened unit's is not") {
  REQUIRE(std::filesystem::exists("/usr/bin/systemd-analyze"));  // scripts/setup installs systemd
  const auto unit = ReadFile(std::string(HALO_SOURCE_DIR) + "/config/systemd/halo@.service");
  REQUIRE(unit.ok());
  std::string output;
  const double hardened = Exposure(*unit, output);
  INFO(output);
  REQUIRE(hardened >= 0);
  CHECK(hardened <= 2.0);
  const double bare = Exposure(
      "[Service]\nUser=halo\nExecStart=/usr/local/bin/halo --config=/etc/halo/%i.textproto\n", output);
  CHECK(bare > 5.0);
}

// Every system call in a systemd syscall-filter group, nested groups
// expanded, as `systemd-analyze syscall-filter` lists them.
std::set<std::string> SyscallGroup(const std::string& group) {
  const testing::ProcessResult listed =
      testing::RunProcess({"/usr/bin/systemd-analyze", "syscall-filter", "--no-pager"}, absl::Seconds(60));
  std::map<std::string, std::vector<std::string>> groups;
  std::string current;
  for (absl::string_view line : absl::StrSplit(listed.out, '\n')) {
    if (absl::StartsWith(line, "@")) {
      current = std::string(line);
      continue;
    }
    line = absl::StripAsciiWhitespace(line);
    if (current.empty() || line.empty() || absl::StartsWith(line, "#")) continue;
    groups[current].emplace_back(line);
  }
  std::set<std::string> calls;
  std::vector<std::string> pending = {group};
  std::set<std::string> seen;
  while (!pending.empty()) {
    const std::string next = pending.back();
    pending.pop_back();
    if (!seen.insert(next).second) continue;
    for (const std::string& member : groups[next]) {
      if (absl::StartsWith(member, "@")) {
        pending.push_back(member);
      } else {
        calls.insert(member);
      }
    }
  }
  return calls;
}

// The system calls `argv` and its threads make, by strace.
std::set<std::string> SyscallsOf(std::vector<std::string> argv) {
  testing::TempDir dir;
  const std::string summary = dir.Sub("strace.txt");
  argv.insert(argv.begin(), {"/usr/bin/strace", "-f", "-qq", "-c", "-o", summary});
  const testing::ProcessResult run = testing::RunProcess(argv, absl::Minutes(5));
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  std::set<std::string> calls;
  for (absl::string_view line : absl::StrSplit(*ReadFile(summary), '\n')) {
    const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (fields.size() < 5 || fields.back() == "total" || fields.back() == "syscall" ||
        absl::StartsWith(fields.back(), "-")) {
      continue;
    }
    calls.emplace(fields.back());
  }
  return calls;
}

TEST_CASE("Every system call the roles make is one the unit's filter allows", "[.][syscalls]") {
  REQUIRE(std::filesystem::exists("/usr/bin/strace"));  // scripts/setup installs strace
  std::set<std::string> allowed = SyscallGroup("@system-service");
  for (const std::string& call : SyscallGroup("@privileged")) allowed.erase(call);
  REQUIRE(allowed.count("openat") == 1);
  REQUIRE(allowed.count("chroot") == 0);
  // Every role runs in the demos: a Kingdom, duchies, EDP agents and MCs
  // measuring with every protocol, then both parties of a Panel Exchange.
  std::set<std::string> used = SyscallsOf({HALO_BINARY, "demo", "--audience=5000", "--seed=7"});
  for (const std::string& call : SyscallsOf({HALO_BINARY, "demo", "exchange"})) used.insert(call);
  // SQLite gives its files to the database's owner when run as root, and
  // carries on if it may not; under the unit, halo is not root.
  used.erase("fchown");
  std::vector<std::string> refused;
  for (const std::string& call : used) {
    if (!allowed.count(call)) refused.push_back(call);
  }
  INFO("system calls the unit would refuse: " << absl::StrJoin(refused, ", "));
  CHECK(refused.empty());
  CHECK(used.size() > 30);
}

}  // namespace
}  // namespace halo
