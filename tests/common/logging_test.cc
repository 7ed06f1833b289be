#include "halo/common/logging.h"

#include <catch2/catch.hpp>

namespace halo {
namespace {

TEST_CASE("Log levels and formats parse case-insensitively and refuse unknown names") {
  CHECK(*ParseLogLevel("debug") == config::LoggingConfig::DEBUG);
  CHECK(*ParseLogLevel("WARN") == config::LoggingConfig::WARN);
  CHECK(*ParseLogFormat("json") == config::LoggingConfig::JSON);
  CHECK_THAT(std::string(ParseLogLevel("verbose").status().message()), Catch::Contains("verbose"));
  CHECK_FALSE(ParseLogLevel("level_unspecified").ok());
  CHECK_FALSE(ParseLogFormat("xml").ok());
}

TEST_CASE("JSON escaping keeps a log line one valid JSON string") {
  CHECK(JsonEscape("plain") == "plain");
  CHECK(JsonEscape("a \"quoted\" \\ path\nnext\ttab") == R"(a \"quoted\" \\ path\nnext\ttab)");
  CHECK(JsonEscape(std::string("\x01", 1)) == "\\u0001");
}

}  // namespace
}  // namespace halo
