// What a benchmark reads of another process from /proc: CPU used and peak
// memory.
#ifndef HALO_TESTS_BENCH_PROCESS_STATS_H_
#define HALO_TESTS_BENCH_PROCESS_STATS_H_

#include <sys/types.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/ascii.h"
#include "absl/strings/strip.h"

namespace halo::bench {

// CPU seconds a process has used, user and system.
inline double ProcessCpuSeconds(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(in, line);
  // Fields after the command name, which is in parentheses: utime and stime
  // are the 12th and 13th of them.
  std::vector<std::string> fields;
  std::string field;
  for (char c : line.substr(line.rfind(')') + 2)) {
    if (c == ' ') {
      fields.push_back(field);
      field.clear();
    } else {
      field += c;
    }
  }
  double ticks = 0;
  for (int i : {11, 12}) {
    int64_t v = 0;
    if (fields.size() > static_cast<size_t>(i) && absl::SimpleAtoi(fields[i], &v)) ticks += v;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// A /proc/{pid}/status field in MiB, e.g. "VmHWM:" (peak resident memory).
inline double ProcessStatusMib(pid_t pid, absl::string_view field) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    absl::string_view rest = line;
    if (!absl::ConsumePrefix(&rest, field)) continue;
    rest = absl::StripAsciiWhitespace(rest);
    absl::ConsumeSuffix(&rest, " kB");
    int64_t kib = 0;
    if (absl::SimpleAtoi(rest, &kib)) return static_cast<double>(kib) / 1024;
  }
  return 0;
}

// This process's own, for a stage's peak memory: ResetPeak before it (Linux
// resets VmHWM when "5" is written to clear_refs) returns what the process
// holds, and VmHWM after it, less that, is what the stage added.
inline double StatusMib(absl::string_view field) { return ProcessStatusMib(getpid(), field); }
inline double ResetPeak() {
  std::ofstream("/proc/self/clear_refs") << "5";
  return StatusMib("VmRSS:");
}

}  // namespace halo::bench

#endif  // HALO_TESTS_BENCH_PROCESS_STATS_H_
