#include "testing/headless_browser.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace halo::testing {

std::optional<RenderedPage> RenderInChromium(const std::string& url) {
  const std::string chromium = "/usr/bin/chromium";
  if (!std::filesystem::exists(chromium)) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") FAIL("chromium is required under CI (scripts/setup installs it)");
    WARN("SKIPPED " << Catch::getResultCapture().getCurrentTestName() << ": chromium is not installed");
    return std::nullopt;
  }
  TempDir profile;
  // --no-sandbox: the tests may run as root, where Chromium's sandbox
  // refuses to start; the page is our own.
  const ProcessResult run = RunProcess(
      {chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
       "--user-data-dir=" + profile.Sub("profile"), "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000",
       "--dump-dom", url},
      absl::Seconds(60));
  INFO("chromium: " << run.err);
  REQUIRE(run.exit_code == 0);
  RenderedPage page;
  page.dom = run.out;
  for (absl::string_view line : absl::StrSplit(run.err, '\n')) {
    if (absl::StrContains(line, ":CONSOLE")) page.console.emplace_back(line);
  }
  REQUIRE(absl::StrContains(page.dom, "</html>"));
  return page;
}

}  // namespace halo::testing
