// A page as Debian's Chromium renders it, headless: the DOM after parsing
// and layout, and every message the page wrote to its console (a Content
// Security Policy violation, a script error). Tests of the status pages and
// reports use it to check what a user's browser would show.
#ifndef HALO_TESTS_TESTING_HEADLESS_BROWSER_H_
#define HALO_TESTS_TESTING_HEADLESS_BROWSER_H_

#include <optional>
#include <string>
#include <vector>

namespace halo::testing {

struct RenderedPage {
  std::string dom;
  std::vector<std::string> console;
};

// nullopt, having reported the test skipped, where chromium is not
// installed; under CI=true its absence fails the test (scripts/setup
// installs it). A page that does not load fails the test.
std::optional<RenderedPage> RenderInChromium(const std::string& url);

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_HEADLESS_BROWSER_H_
