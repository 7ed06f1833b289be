#include "halo/common/config.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "testing/temp_dir.h"

namespace halo {
namespace {

constexpr char kKingdomConfig[] = R"pb(
role: KINGDOM
data_dir: "/var/lib/halo/kingdom"
logging { level: DEBUG format: JSON }
kingdom {
  public_api_address: "0.0.0.0:8443"
  system_api_address: "[::1]:8444"
  tls {
    certificate_file: "/etc/halo/kingdom.pem"
    private_key_file: "/etc/halo/kingdom.key"
    trusted_ca_file: "/etc/halo/ca.pem"
  }
  administrator_certificates: "5f2d8c1e0b7a4b1fd1e9c6a3a6f0b2f4d8e7c9a1b3c5d7e9f1a2b4c6d8e0f2a4"
  protocols { duchies: "worker1" duchies: "worker2" duchies: "aggregator" aggregator: "aggregator" }
}
)pb";

std::string ErrorOf(absl::string_view text, absl::string_view role_flag = "") {
  auto config = ParseConfig(text, "halo.textproto", role_flag);
  REQUIRE_FALSE(config.ok());
  CHECK(config.status().code() == absl::StatusCode::kInvalidArgument);
  return std::string(config.status().message());
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  text.replace(text.find(from), from.size(), to);
  return text;
}

TEST_CASE("A complete kingdom config parses") {
  auto config = ParseConfig(kKingdomConfig, "halo.textproto", "");
  REQUIRE(config.ok());
  CHECK(config->role() == config::KINGDOM);
  CHECK(config->kingdom().system_api_address() == "[::1]:8444");
  CHECK(config->logging().format() == config::LoggingConfig::JSON);
}

TEST_CASE("--role may supply the role, and must agree with the config's") {
  const std::string without_role = Replace(kKingdomConfig, "role: KINGDOM", "");
  auto config = ParseConfig(without_role, "halo.textproto", "kingdom");
  REQUIRE(config.ok());
  CHECK(config->role() == config::KINGDOM);
  CHECK(ErrorOf(kKingdomConfig, "duchy") ==
        "halo.textproto:2:1: field \"role\": the config says kingdom but --role says duchy");
  CHECK_THAT(ErrorOf(without_role), Catch::Contains("field \"role\": missing"));
}

TEST_CASE("A typo in a field name names file, line, column and suggests the field") {
  const std::string error = ErrorOf(Replace(kKingdomConfig, "system_api_address", "sytem_api_address"));
  CHECK_THAT(error, Catch::StartsWith("halo.textproto:7:3: "));
  CHECK_THAT(error, Catch::Contains("no field named \"sytem_api_address\""));
  CHECK_THAT(error, Catch::Contains("did you mean \"system_api_address\""));
}

TEST_CASE("An unknown field names file, line, column and field") {
  const std::string error = ErrorOf(Replace(kKingdomConfig, "logging {", "colour: 3\nlogging {"));
  CHECK_THAT(error, Catch::StartsWith("halo.textproto:4:1: "));
  CHECK_THAT(error, Catch::Contains("\"colour\""));
}

TEST_CASE("An unknown role in the file points at the value") {
  const std::string error = ErrorOf(Replace(kKingdomConfig, "role: KINGDOM", "role: KINGDON"));
  CHECK_THAT(error, Catch::StartsWith("halo.textproto:2:7: "));
  CHECK_THAT(error, Catch::Contains("\"KINGDON\" for field \"role\""));
}

TEST_CASE("An unknown role on the command line lists the known ones") {
  CHECK_THAT(ErrorOf(kKingdomConfig, "dutchy"),
             Catch::Contains("unknown role \"dutchy\"; known roles: kingdom, duchy"));
}

TEST_CASE("A missing required value names its field and where its message starts") {
  CHECK(ErrorOf(Replace(kKingdomConfig, "private_key_file: \"/etc/halo/kingdom.key\"", "")) ==
        "halo.textproto:8:3: field \"kingdom.tls.private_key_file\": missing required value");
  CHECK(ErrorOf(Replace(kKingdomConfig, "data_dir: \"/var/lib/halo/kingdom\"", "")) ==
        "halo.textproto:1:1: field \"data_dir\": missing required value");
}

TEST_CASE("A role's section must be present and must be its own") {
  CHECK_THAT(ErrorOf(kKingdomConfig, "edp-agent"), Catch::Contains("says kingdom but --role says edp-agent"));
  const std::string duchy_role = Replace(kKingdomConfig, "role: KINGDOM", "role: DUCHY_MILL");
  CHECK(ErrorOf(duchy_role) ==
        "halo.textproto:5:1: field \"kingdom\": a duchy-mill config needs a \"duchy_mill\" section, "
        "not \"kingdom\"");
  CHECK_THAT(ErrorOf("role: EDP_AGENT\ndata_dir: \"d\"\n"),
             Catch::Contains("missing the \"edp_agent\" section"));
}

TEST_CASE("Every example config in config/ parses, the one-process and the split layouts alike") {
  int checked = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(HALO_SOURCE_DIR "/config/local")) {
    if (entry.path().extension() != ".textproto" || entry.path().filename().string().rfind("mc-", 0) == 0) continue;
    INFO(entry.path().string());
    auto config = LoadConfig(entry.path().string(), "");
    INFO(config.status().message());
    CHECK(config.ok());
    ++checked;
  }
  // kingdom, edp, exchange, 3 duchies; 3 heralds and 6 mills.
  CHECK(checked == 15);
}

TEST_CASE("Addresses must be host:port") {
  CHECK(ErrorOf(Replace(kKingdomConfig, "0.0.0.0:8443", "0.0.0.0")) ==
        "halo.textproto:6:3: field \"kingdom.public_api_address\": \"0.0.0.0\" is not host:port");
  CHECK_THAT(ErrorOf(Replace(kKingdomConfig, "0.0.0.0:8443", "host:70000")),
             Catch::Contains("no port between 1 and 65535"));
  CHECK_THAT(ErrorOf(Replace(kKingdomConfig, "[::1]:8444", "::1:8444")),
             Catch::Contains("IPv6 host must be in brackets"));
}

TEST_CASE("Syntax errors and repeated fields are located") {
  CHECK_THAT(ErrorOf(Replace(kKingdomConfig, "tls {", "tls")), Catch::StartsWith("halo.textproto:9:"));
  CHECK_THAT(ErrorOf(Replace(kKingdomConfig, "data_dir:", "data_dir: \"a\"\ndata_dir:")),
             Catch::Contains("specified multiple times"));
}

TEST_CASE("LoadConfig reports an unreadable file") {
  auto config = LoadConfig("/nonexistent/halo.textproto", "");
  REQUIRE_FALSE(config.ok());
  CHECK_THAT(std::string(config.status().message()), Catch::Contains("/nonexistent/halo.textproto"));
}

TEST_CASE("Role names round-trip") {
  for (const char* name : {"kingdom", "duchy", "duchy-herald", "duchy-mill", "edp-agent", "exchange-daemon"}) {
    auto role = ParseRoleName(name);
    REQUIRE(role.ok());
    CHECK(RoleName(*role) == name);
  }
}

}  // namespace
}  // namespace halo

namespace halo {
namespace {

TEST_CASE("Every example config in config/ parses") {
  int parsed = 0;
  for (const auto& entry :
       std::filesystem::recursive_directory_iterator(std::string(HALO_SOURCE_DIR) + "/config")) {
    // Exchange workflows have their own schema and test (exchange_test).
    if (entry.path().extension() != ".textproto" || entry.path().parent_path().filename() == "exchange") continue;
    INFO(entry.path());
    if (entry.path().filename().string().rfind("mc-", 0) == 0) {
      config::McClientConfig client;
      const absl::Status loaded = LoadConfigMessage(entry.path().string(), client);
      INFO(loaded.message());
      CHECK(loaded.ok());
    } else {
      auto config = LoadConfig(entry.path().string(), "");
      INFO(config.status().message());
      CHECK(config.ok());
    }
    ++parsed;
  }
  CHECK(parsed >= 7);
}

TEST_CASE("A client config with a typo or a missing value is refused with its line and field") {
  config::McClientConfig client;
  const absl::Status typo = ParseConfigMessage("measurement_consumer: \"measurementConsumers/mc1\"\nkingdom_target: \"x:1\"\n",
                                               "mc.textproto", client);
  CHECK_THAT(std::string(typo.message()), Catch::Contains("mc.textproto:2:") && Catch::Contains("kingdom_target"));
  config::McClientConfig partial;
  const absl::Status missing = ParseConfigMessage("measurement_consumer: \"measurementConsumers/mc1\"\n",
                                                  "mc.textproto", partial);
  CHECK_THAT(std::string(missing.message()), Catch::Contains("kingdom_public_api_target") &&
                                                 Catch::Contains("missing required value"));
  config::HaloConfig agent;
  const absl::Status nested = ParseConfigMessage(
      "role: EDP_AGENT data_dir: \"d\" edp_agent { data_provider: \"dataProviders/e\" kingdom_public_api_target: "
      "\"k:1\" tls { certificate_file: \"c\" private_key_file: \"k\" trusted_ca_file: \"a\" } "
      "encryption_key_file: \"e\" event_groups { measurement_consumer: \"measurementConsumers/m\" } }",
      "agent.textproto", agent);
  CHECK_THAT(std::string(nested.message()), Catch::Contains("edp_agent.event_groups[0].reference_id"));
}

}  // namespace
}  // namespace halo
