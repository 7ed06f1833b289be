// Drives the `halo` executable as an operator would.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_split.h"
#include "halo/common/files.h"
#include "halo/duchy/computation_store.h"
#include "halo/edp/privacy_budget.h"
#include "testing/headless_browser.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace halo {
namespace {

using testing::ChildProcess;
using testing::ProcessResult;
using testing::RunProcess;

const absl::Duration kTimeout = absl::Seconds(30);

ProcessResult Halo(std::vector<std::string> args) {
  args.insert(args.begin(), HALO_BINARY);
  return RunProcess(args, kTimeout);
}

void WriteFile(const std::string& path, const std::string& contents) { std::ofstream(path) << contents; }

// A directory with a dev CA and certificates made by `halo certs`.
struct Deployment {
  testing::TempDir dir;
  Deployment() {
    REQUIRE(Halo({"certs", "create-ca", "--out", dir.Sub("ca")}).exit_code == 0);
    for (const char* entity : {"kingdom", "duchies/worker1"}) {
      const std::string file = absl::StrReplaceAll(entity, {{"/", "_"}});
      ProcessResult issued = Halo({"certs", "issue", "--ca-dir", dir.Sub("ca"), "--subject", entity,
                                   "--out", dir.Sub(file), "--dns", "localhost", "--ip", "127.0.0.1"});
      REQUIRE(issued.exit_code == 0);
    }
    for (const char* entity : {"duchies/worker1", "dataProviders/edp1", "modelProviders/mp1"}) {
      const std::string file = absl::StrReplaceAll(entity, {{"/", "_"}});
      ProcessResult issued = Halo({"certs", "issue", "--signing", "--ca-dir", dir.Sub("ca"), "--subject", entity,
                                   "--out", dir.Sub(file + "-signing")});
      INFO(issued.err);
      REQUIRE(issued.exit_code == 0);
      CHECK_THAT(issued.out, Catch::Contains("content-signing certificate"));
    }
  }

  std::string Tls(const std::string& file) const {
    return absl::StrCat("tls { certificate_file: \"", dir.Sub(file + ".pem"), "\" private_key_file: \"",
                        dir.Sub(file + ".key"), "\" trusted_ca_file: \"", dir.Sub("ca/ca.pem"), "\" }");
  }
  // The content-signing certificate and key of `entity_file` (e.g.
  // "duchies_worker1").
  std::string Signing(const std::string& entity_file) const {
    return absl::StrCat("signing { certificate_file: \"", dir.Sub(entity_file + "-signing.pem"),
                        "\" private_key_file: \"", dir.Sub(entity_file + "-signing.key"), "\" }");
  }

  std::string KingdomConfig(int public_port, int system_port) const {
    const std::string path = dir.Sub("kingdom.textproto");
    WriteFile(path, absl::StrCat("role: KINGDOM\ndata_dir: \"", dir.Sub("kingdom-data"), "\"\n",
                                 "kingdom {\n  public_api_address: \"127.0.0.1:", public_port,
                                 "\"\n  system_api_address: \"127.0.0.1:", system_port, "\"\n  ",
                                 Tls("kingdom"),
                                 "\n  administrator_certificates: \"", std::string(64, 'a'), "\"\n  protocols { duchies: \"worker1\" "
                                 "duchies: \"worker2\" duchies: \"aggregator\" aggregator: \"aggregator\" }\n}\n"));
    return path;
  }

  // `signing` names the duchy's content-signing files; by default its own.
  std::string DuchyConfig(int kingdom_system_port, const std::string& signing = "") const {
    const std::string path = dir.Sub("duchy.textproto");
    WriteFile(path, absl::StrCat(
                        "data_dir: \"", dir.Sub("duchy-data"), "\"\nduchy {\n  duchy_id: \"worker1\"\n",
                        "  kingdom_system_api_target: \"localhost:", kingdom_system_port, "\"\n",
                        "  computation_control_address: \"127.0.0.1:", testing::FreeLoopbackPort(), "\"\n",
                        "  requisition_fulfillment_address: \"127.0.0.1:", testing::FreeLoopbackPort(),
                        "\"\n  ", Tls("duchies_worker1"), "\n  ",
                        signing.empty() ? Signing("duchies_worker1") : signing, "\n}\n"));
    return path;
  }
};

TEST_CASE("halo --version and --help") {
  ProcessResult version = Halo({"--version"});
  CHECK(version.exit_code == 0);
  CHECK_THAT(version.out, Catch::StartsWith("halo "));
  ProcessResult help = Halo({"--help"});
  CHECK(help.exit_code == 0);
  CHECK_THAT(help.out, Catch::Contains("--role") && Catch::Contains("exchange-daemon") &&
                           Catch::Contains("certs"));
  // The tests' seam for replayable noise is not offered to operators.
  CHECK_THAT(help.out, !Catch::Contains("replay"));
}

TEST_CASE("halo without a config or with bad usage exits 2") {
  ProcessResult no_config = Halo({"--role=kingdom"});
  CHECK(no_config.exit_code == 2);
  CHECK_THAT(no_config.err, Catch::Contains("--config"));
  CHECK(Halo({"--no-such-flag"}).exit_code == 2);
  CHECK(Halo({"certs", "issue"}).exit_code == 2);
}

TEST_CASE("Config errors exit 2 naming file, line, column and field") {
  testing::TempDir dir;
  struct Case {
    std::string text;
    std::string role_flag;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"role: KINGDOM\ndata_dri: \"x\"\n", "", ":2:1: Message type \"halo.config.HaloConfig\" has no field named \"data_dri\""},
      {"role: KINGDOM\nflavour: 1\n", "", ":2:1: Message type \"halo.config.HaloConfig\" has no field named \"flavour\""},
      {"role: KINGDON\n", "", ":1:7: Unknown enumeration value of \"KINGDON\" for field \"role\""},
      {"role: KINGDOM\nkingdom {}\n", "", ":1:1: field \"data_dir\": missing required value"},
      {"data_dir: \"d\"\nkingdom {\n  public_api_address: \"h:1\"\n}\n", "kingdom",
       ":2:1: field \"kingdom.system_api_address\": missing required value"},
      {"data_dir: \"d\"\n", "dutchy", "unknown role \"dutchy\""},
      {"role: DUCHY\ndata_dir: \"d\"\n", "kingdom", ":1:1: field \"role\": the config says duchy but --role says kingdom"},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string path = dir.Sub(absl::StrCat("case", i, ".textproto"));
    WriteFile(path, cases[i].text);
    std::vector<std::string> args = {"--config", path};
    if (!cases[i].role_flag.empty()) args.push_back("--role=" + cases[i].role_flag);
    ProcessResult result = Halo(args);
    INFO("case " << i << ": " << result.err);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.err, Catch::Contains(cases[i].expected));
    if (cases[i].role_flag != "dutchy") CHECK_THAT(result.err, Catch::Contains(path + ":"));
  }
}

TEST_CASE("validate-workflow prints the SHA-256 a party pins, and refuses a workflow that leaves its directory") {
  testing::TempDir dir;
  const ProcessResult valid = Halo({"exchange", "validate-workflow", HALO_SOURCE_DIR "/config/exchange/mini-exchange.textproto"});
  CHECK(valid.exit_code == 0);
  CHECK_THAT(valid.out, Catch::Contains("a valid workflow") && Catch::Matches("(.|\\n)*sha256: [0-9a-f]{64}\\n"));
  auto text = ReadFile(HALO_SOURCE_DIR "/config/exchange/mini-exchange.textproto");
  REQUIRE(text.ok());
  const std::string escaping = absl::StrReplaceAll(*text, {{"path: \"panel.txt\"", "path: \"../../etc/passwd\""}});
  WriteFile(dir.Sub("escaping.textproto"), escaping);
  const ProcessResult refused = Halo({"exchange", "validate-workflow", dir.Sub("escaping.textproto")});
  CHECK(refused.exit_code != 0);
  CHECK_THAT(refused.err, Catch::Contains("input.path") && Catch::Contains(".."));
}

TEST_CASE("An exchange daemon whose CA file is missing exits naming the setting") {
  Deployment d;
  const std::string path = d.dir.Sub("exchange.textproto");
  WriteFile(path, absl::StrCat("role: EXCHANGE_DAEMON\ndata_dir: \"", d.dir.Sub("exchange-data"),
                               "\"\nexchange_daemon {\n  party: \"modelProviders/mp1\"\n",
                               "  kingdom_public_api_target: \"localhost:1\"\n  ", d.Tls("kingdom"), "\n  ",
                               d.Signing("modelProviders_mp1"), "\n  shared_storage_dir: \"", d.dir.Sub("shared"), "\"\n",
                               "  accepted_workflow_sha256: \"", std::string(64, 'a'), "\"\n",
                               "  certificate_authority { certificate_file: \"", d.dir.Sub("ca/missing.pem"),
                               "\" private_key_file: \"", d.dir.Sub("ca/ca.key"), "\" }\n}\n"));
  const ProcessResult result = Halo({"--config", path});
  INFO(result.err);
  // A config error: exit 2, which systemd does not restart.
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("exchange_daemon.certificate_authority.certificate_file") &&
                             Catch::Contains("missing.pem"));
}

TEST_CASE("A role whose certificate file is missing exits 2 naming the file, so systemd does not restart it") {
  Deployment d;
  const std::string path = d.DuchyConfig(testing::FreeLoopbackPort());
  WriteFile(path, absl::StrReplaceAll(*ReadFile(path), {{"duchies_worker1.pem", "missing.pem"}}));
  const ProcessResult result = Halo({"--role=duchy", "--config", path});
  INFO(result.err);
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("missing.pem"));
}

TEST_CASE("A herald without its mill service address, and a mill without a mill's certificate or its herald, exit 2 "
          "naming the setting") {
  Deployment d;
  ProcessResult herald = Halo({"--role=duchy-herald", "--config", d.DuchyConfig(testing::FreeLoopbackPort())});
  CHECK(herald.exit_code == 2);
  CHECK_THAT(herald.err, Catch::Contains("duchy.mill_service_address"));

  auto mill_config = [&](const std::string& body) {
    const std::string path = d.dir.Sub("mill.textproto");
    WriteFile(path, absl::StrCat("role: DUCHY_MILL\ndata_dir: \"", d.dir.Sub("mill-data"), "\"\nduchy_mill {\n", body,
                                 "\n}\n"));
    return path;
  };
  // The duchy's own certificate is not a mill's: a mill is duchies/worker1/mills/NAME.
  ProcessResult not_a_mill = Halo({"--config", mill_config(absl::StrCat("duchy_id: \"worker1\" herald_target: "
                                                                         "\"localhost:1\" ",
                                                                         d.Tls("duchies_worker1")))});
  CHECK(not_a_mill.exit_code == 2);
  CHECK_THAT(not_a_mill.err, Catch::Contains("duchy_mill.tls.certificate_file") &&
                                 Catch::Contains("not a mill of duchy worker1"));
  ProcessResult no_herald =
      Halo({"--config", mill_config(absl::StrCat("duchy_id: \"worker1\" ", d.Tls("duchies_worker1")))});
  CHECK(no_herald.exit_code == 2);
  CHECK_THAT(no_herald.err, Catch::Contains("duchy_mill.herald_target"));
  // The duchy's section is not a mill's.
  ProcessResult wrong_section = Halo({"--role=duchy-mill", "--config", d.DuchyConfig(testing::FreeLoopbackPort())});
  CHECK(wrong_section.exit_code == 2);
  CHECK_THAT(wrong_section.err, Catch::Contains("duchy_mill"));
}

TEST_CASE("halo certs refuses a missing CA with a clear message") {
  testing::TempDir dir;
  ProcessResult result = Halo({"certs", "issue", "--ca-dir", dir.Sub("none"), "--subject", "x",
                               "--out", dir.Sub("x")});
  CHECK(result.exit_code == 1);
  CHECK_THAT(result.err, Catch::Contains("cannot read") && Catch::Contains("ca.pem"));
}

TEST_CASE("A kingdom on PostgreSQL whose conninfo file is missing, malformed or names no server exits naming the "
          "setting") {
  Deployment d;
  auto with_database = [&](const std::string& conninfo_file) {
    const std::string path = d.KingdomConfig(testing::FreeLoopbackPort(), testing::FreeLoopbackPort());
    std::string text = *ReadFile(path);
    text.insert(text.rfind('}'), absl::StrCat("  database { postgresql { conninfo_file: \"", conninfo_file, "\" } }\n"));
    WriteFile(path, text);
    return path;
  };
  ProcessResult missing = Halo({"--config", with_database(d.dir.Sub("missing.conninfo"))});
  INFO(missing.err);
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("kingdom.database.postgresql.conninfo_file") &&
                              Catch::Contains("missing.conninfo"));
  WriteFile(d.dir.Sub("typo.conninfo"), "host=localhost dbnmae=halo\n");
  ProcessResult typo = Halo({"--config", with_database(d.dir.Sub("typo.conninfo"))});
  INFO(typo.err);
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("kingdom.database.postgresql.conninfo_file") && Catch::Contains("dbnmae"));
  // No server: perhaps not up yet, so exit 1, which systemd retries.
  WriteFile(d.dir.Sub("nowhere.conninfo"), "host=/nonexistent-halo-socket port=1 dbname=halo connect_timeout=2\n");
  ProcessResult nowhere = Halo({"--config", with_database(d.dir.Sub("nowhere.conninfo"))});
  INFO(nowhere.err);
  CHECK(nowhere.exit_code == 1);
  CHECK_THAT(nowhere.err, Catch::Contains("kingdom.database.postgresql.conninfo_file") &&
                              Catch::Contains("cannot connect to PostgreSQL") &&
                              Catch::Contains("nonexistent-halo-socket"));
}

// A Kingdom config of `d` with a monitoring listener at `address`.
std::string KingdomWithMonitoring(const Deployment& d, const std::string& address) {
  const std::string path = d.KingdomConfig(testing::FreeLoopbackPort(), testing::FreeLoopbackPort());
  WriteFile(path, absl::StrCat("monitoring { http_address: \"", address, "\" }\n", *ReadFile(path)));
  return path;
}

TEST_CASE("A monitoring listener that is malformed or taken stops the role, naming the setting") {
  Deployment d;
  ProcessResult typo = Halo({"--config", KingdomWithMonitoring(d, "localhost:9O90")});
  INFO(typo.err);
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("monitoring.http_address") && Catch::Contains("9O90"));
  // Taken: perhaps by a process on its way out, so exit 1, which systemd
  // retries.
  const std::string address = absl::StrCat("127.0.0.1:", testing::FreeLoopbackPort());
  ChildProcess kingdom({HALO_BINARY, "--config", KingdomWithMonitoring(d, address)});
  REQUIRE(kingdom.WaitForStderr("serving", kTimeout));
  CHECK_THAT(kingdom.err(), Catch::Contains("monitoring on http://" + address));
  Deployment other;
  ProcessResult second = Halo({"--config", KingdomWithMonitoring(other, address)});
  INFO(second.err);
  CHECK(second.exit_code == 1);
  CHECK_THAT(second.err, Catch::Contains("monitoring.http_address") && Catch::Contains("cannot listen"));
}

TEST_CASE("halo admin registers a party, adds a certificate to it and revokes that certificate") {
  Deployment d;
  for (const char* subject : {"admins/operator", "duchies/worker1-renewed"}) {
    const std::string file = absl::StrReplaceAll(subject, {{"/", "_"}});
    REQUIRE(Halo({"certs", "issue", "--ca-dir", d.dir.Sub("ca"), "--subject",
                  std::string(subject) == "admins/operator" ? subject : "duchies/worker1", "--out", d.dir.Sub(file)})
                .exit_code == 0);
  }
  const ProcessResult fingerprint = Halo({"certs", "fingerprint", "--cert", d.dir.Sub("admins_operator.pem")});
  REQUIRE(fingerprint.exit_code == 0);
  const int public_port = testing::FreeLoopbackPort();
  const std::string config = d.KingdomConfig(public_port, testing::FreeLoopbackPort());
  WriteFile(config, absl::StrReplaceAll(*ReadFile(config), {{std::string(64, 'a'),
                                                             std::string(absl::StripAsciiWhitespace(fingerprint.out))}}));
  ChildProcess kingdom({HALO_BINARY, "--config", config});
  REQUIRE(kingdom.WaitForStderr("serving", kTimeout));
  const auto admin = [&](std::vector<std::string> args) {
    std::vector<std::string> argv = {"admin", "--kingdom", absl::StrCat("localhost:", public_port), "--tls-cert",
                                     d.dir.Sub("admins_operator.pem"), "--tls-key", d.dir.Sub("admins_operator.key"),
                                     "--ca", d.dir.Sub("ca/ca.pem")};
    argv.insert(argv.end(), args.begin(), args.end());
    return Halo(argv);
  };
  const ProcessResult created =
      admin({"create-duchy", "--id", "worker1", "--certificate", d.dir.Sub("duchies_worker1.pem"),
             "--signing-certificate", d.dir.Sub("duchies_worker1-signing.pem"), "--root", d.dir.Sub("ca/ca.pem")});
  INFO(created.err);
  REQUIRE(created.exit_code == 0);
  const ProcessResult added = admin({"add-certificate", "--parent", "duchies/worker1", "--certificate",
                                     d.dir.Sub("duchies_worker1-renewed.pem")});
  INFO(added.err);
  REQUIRE(added.exit_code == 0);
  CHECK_THAT(added.out, Catch::StartsWith("registered duchies/worker1/certificates/"));
  const std::string name(absl::StripAsciiWhitespace(absl::StripPrefix(added.out, "registered ")));
  const ProcessResult revoked = admin({"revoke-certificate", name});
  INFO(revoked.err);
  CHECK(revoked.exit_code == 0);
  CHECK(revoked.out == "revoked " + name + "\n");
  const ProcessResult unknown = admin({"revoke-certificate", "duchies/worker1/certificates/none"});
  CHECK(unknown.exit_code == 1);
  CHECK_THAT(unknown.err, Catch::Contains("RevokeCertificate") && Catch::Contains("not found"));
}

TEST_CASE("A kingdom serves until SIGTERM and shuts down cleanly; a duchy finds it") {
  Deployment d;
  const int system_port = testing::FreeLoopbackPort();
  const std::string config = d.KingdomConfig(testing::FreeLoopbackPort(), system_port);
  ChildProcess kingdom({HALO_BINARY, "--config", config, "--log-format=json"});
  REQUIRE(kingdom.WaitForStderr("serving", kTimeout));

  SECTION("a second kingdom on the same data directory is refused") {
    ProcessResult second = Halo({"--config", config});
    CHECK(second.exit_code == 1);
    CHECK_THAT(second.err, Catch::Contains("in use by another halo process"));
  }
  SECTION("a duchy reaches the kingdom over mTLS and stops on SIGINT") {
    ChildProcess duchy({HALO_BINARY, "--role=duchy", "--config", d.DuchyConfig(system_port)});
    CHECK(duchy.WaitForStderr("is reachable", kTimeout));
    duchy.Signal(SIGINT);
    CHECK(duchy.Wait(kTimeout) == 0);
    CHECK_THAT(duchy.err(), Catch::Contains("duchy worker1 stopped"));
  }
  SECTION("a duchy whose signing key is its TLS key is refused, naming the setting") {
    const std::string tls_as_signing =
        absl::StrCat("signing { certificate_file: \"", d.dir.Sub("duchies_worker1.pem"), "\" private_key_file: \"",
                     d.dir.Sub("duchies_worker1.key"), "\" }");
    ProcessResult refused = Halo({"--role=duchy", "--config", d.DuchyConfig(system_port, tls_as_signing)});
    CHECK(refused.exit_code == 2);
    CHECK_THAT(refused.err, Catch::Contains("duchy.signing.certificate_file: not a content-signing certificate"));
  }

  kingdom.Signal(SIGTERM);
  CHECK(kingdom.Wait(kTimeout) == 0);
  CHECK_THAT(kingdom.err(), Catch::Contains("kingdom stopped"));
  // JSON logging: every log line is one JSON object.
  for (absl::string_view line : absl::StrSplit(kingdom.err(), '\n', absl::SkipEmpty())) {
    if (line.find("\"logger\":\"halo\"") == absl::string_view::npos) continue;
    CHECK_THAT(std::string(line), Catch::StartsWith("{\"time\":\"") && Catch::EndsWith("\"}"));
  }
}

TEST_CASE("halo demo measures with every protocol and type and finds each result within 3 standard errors") {
  testing::TempDir dir;
  const ProcessResult demo =
      RunProcess({HALO_BINARY, "demo", "--audience", "4000", "--report", dir.Sub("report.html")}, absl::Minutes(5));
  INFO(demo.out << demo.err);
  CHECK(demo.exit_code == 0);
  for (const char* protocol : {"HONEST_MAJORITY_SHARE_SHUFFLE", "[LIQUID_LEGIONS_V2", "REACH_ONLY_LIQUID_LEGIONS_V2",
                               "DIRECT"}) {
    CHECK_THAT(demo.out, Catch::Contains(protocol));
  }
  CHECK_THAT(demo.out, Catch::Contains("every result lies within 3 standard errors of the truth"));
  // --report: every measurement drawn, each beside its truth.
  const std::string report = *ReadFile(dir.Sub("report.html"));
  int sections = 0, truths = 0;
  for (size_t at = 0; (at = report.find("<section class=\"measurement\"", at)) != std::string::npos; ++at) ++sections;
  for (size_t at = 0; (at = report.find("<line class=\"truth\"", at)) != std::string::npos; ++at) ++truths;
  CHECK(sections == 11);
  CHECK(truths >= 11);
  if (auto drawn = testing::RenderInChromium("file://" + dir.Sub("report.html"))) {
    INFO(absl::StrJoin(drawn->console, "\n"));
    CHECK(drawn->console.empty());
    CHECK_THAT(drawn->dom, Catch::Contains("<svg id=\"reach-comparison\""));
  }
}

TEST_CASE("halo edp generate writes event files and their truth; a bad option is refused by name") {
  testing::TempDir dir;
  const ProcessResult generated =
      Halo({"edp", "generate", "--out", dir.Sub("events"), "--edps", "2", "--audience", "2000", "--csv"});
  INFO(generated.err);
  REQUIRE(generated.exit_code == 0);
  CHECK_THAT(generated.out, Catch::Contains("\"union_reach\""));
  std::ifstream csv(dir.Sub("events/edp1/events-00000.csv"));
  std::string header;
  std::getline(csv, header);
  CHECK(header == "vid,event_group,timestamp,age:int,gender:string,region:string,duration_seconds:int,video_ad.viewed_fraction:double");
  const ProcessResult bad = Halo({"edp", "generate", "--out", dir.Sub("more"), "--audience", "0"});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.err, Catch::Contains("audience_size"));
}

TEST_CASE("halo edp budget prints what is left of an agent's privacy budget, as text and JSON") {
  Deployment d;
  const std::string config = d.dir.Sub("edp.textproto");
  WriteFile(config, absl::StrCat("role: EDP_AGENT\ndata_dir: \"", d.dir.Sub("edp-data"), "\"\n",
                                 "edp_agent {\n  data_provider: \"dataProviders/edp1\"\n"
                                 "  kingdom_public_api_target: \"localhost:1\"\n  ",
                                 d.Tls("kingdom"), "\n  ", d.Signing("dataProviders_edp1"),
                                 "\n  encryption_key_file: \"x\"\n",
                                 "  privacy { budget_epsilon: 1 budget_delta: 1e-9 }\n}\n"));
  const ProcessResult empty = Halo({"edp", "budget", "--config", config});
  INFO(empty.err);
  REQUIRE(empty.exit_code == 0);
  CHECK_THAT(empty.out, Catch::Contains("nothing charged yet"));

  std::filesystem::create_directories(d.dir.Sub("edp-data"));
  {
    auto ledger = edp::PrivacyBudgetLedger::Open(d.dir.Sub("edp-data/privacy_budget.db"), {1, 1e-9});
    REQUIRE(ledger.ok());
    const auto buckets = edp::BucketsOf("measurementConsumers/mc1",
                                        {{"g", 1'767'225'600'000'000, 1'767'225'600'000'001, *edp::EventFilter::Parse("")}},
                                        *sketch::VidSampler::Create(1000, {0.5, 0.1}), {});
    REQUIRE((*ledger)->Charge("dataProviders/edp1/requisitions/r1", *buckets, {0.004, 0}).ok());
  }
  const ProcessResult text = Halo({"edp", "budget", "--config", config});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("measurementConsumers/mc1") && Catch::Contains("2026-01-01") &&
                           Catch::Contains("150-179") && Catch::Contains("55+"));
  const ProcessResult json = Halo({"edp", "budget", "--config", config, "--json"});
  REQUIRE(json.exit_code == 0);
  CHECK_THAT(json.out, Catch::Contains("\"rho\": 0.0040000000000000001") && Catch::Contains("\"first_slice\": 150") &&
                           Catch::Contains("\"rho_left\""));
  const ProcessResult missing = Halo({"edp", "budget", "--config", d.dir.Sub("nope.textproto")});
  CHECK(missing.exit_code != 0);
}

TEST_CASE("halo duchy computations lists, shows, retries and fails a duchy's computations") {
  Deployment d;
  const std::string config = d.DuchyConfig(testing::FreeLoopbackPort());
  ProcessResult none = Halo({"duchy", "computations", "--config", config, "list"});
  CHECK(none.exit_code != 0);
  CHECK_THAT(none.err, Catch::Contains("computations.db does not exist"));
  std::filesystem::create_directories(d.dir.Sub("duchy-data"));
  {
    auto store = duchy::ComputationStore::Open(d.dir.Sub("duchy-data/computations.db"));
    REQUIRE(store.ok());
    duchy::LocalComputation c;
    c.name = "computations/abc";
    c.stage = duchy::v1::EXECUTION_PHASE_ONE;
    c.runnable = true;
    REQUIRE(*(*store)->Create(c));
    auto claimed = (*store)->Claim("duchies/worker1/mill-0", absl::Seconds(30));
    REQUIRE(claimed.ok());
    REQUIRE(claimed->has_value());
    REQUIRE((*store)->Release(**claimed, absl::Hours(1), "the peer was unreachable").ok());
    REQUIRE((*store)->RecordUpload(c.name, {"computations/abc/requisitions/r1", "key", std::string(32, 'x')}).ok());
    REQUIRE((*store)->RecordAttempt(c.name, {.stage = duchy::v1::EXECUTION_PHASE_ONE,
                                             .attempt = 1,
                                             .owner = "duchies/worker1/mill-0",
                                             .started = absl::Now(),
                                             .wall = absl::Milliseconds(1500),
                                             .cpu = absl::Milliseconds(2900),
                                             .bytes_in = 1000,
                                             .bytes_out = 2000,
                                             .peak_rss_bytes = int64_t{300} << 20,
                                             .outcome = "UNAVAILABLE: the peer was unreachable"})
                .ok());
  }
  ProcessResult list = Halo({"duchy", "computations", "--config", config, "list"});
  INFO(list.err);
  REQUIRE(list.exit_code == 0);
  CHECK_THAT(list.out, Catch::Contains("computations/abc") && Catch::Contains("EXECUTION_PHASE_ONE") &&
                           Catch::Contains("the peer was unreachable (again at"));
  ProcessResult json = Halo({"duchy", "computations", "--config", config, "list", "--json"});
  REQUIRE(json.exit_code == 0);
  CHECK_THAT(json.out, Catch::Contains("\"last_error\": \"the peer was unreachable\"") &&
                           Catch::Contains("\"attempts\": 1"));
  ProcessResult show = Halo({"duchy", "computations", "--config", config, "show", "computations/abc"});
  REQUIRE(show.exit_code == 0);
  CHECK_THAT(show.out, Catch::Contains("upload computations/abc/requisitions/r1 sha256 7878787878787878") &&
                           Catch::Contains("EXECUTION_PHASE_ONE #1 by duchies/worker1/mill-0") &&
                           Catch::Contains("1.500 s, 2.900 s CPU, 1000 bytes in, 2000 out, peak 300 MiB: "
                                           "UNAVAILABLE: the peer was unreachable"));
  CHECK(Halo({"duchy", "computations", "--config", config, "show", "computations/none"}).exit_code != 0);
  ProcessResult retry = Halo({"duchy", "computations", "--config", config, "retry", "computations/abc"});
  REQUIRE(retry.exit_code == 0);
  CHECK_THAT(Halo({"duchy", "computations", "--config", config, "list", "--json"}).out,
             Catch::Contains("\"runnable\": true") && !Catch::Contains("next_attempt"));
  // Failing it tells the Kingdom, which is not there: said, and the
  // computation is failed here all the same.
  ProcessResult fail = Halo({"duchy", "computations", "--config", config, "fail", "computations/abc", "--reason",
                             "stuck"});
  CHECK(fail.exit_code != 0);
  CHECK_THAT(fail.err, Catch::Contains("FailComputationParticipant"));
  ProcessResult after = Halo({"duchy", "computations", "--config", config, "list", "--all"});
  CHECK_THAT(after.out, Catch::Contains("FAILED") && Catch::Contains("the operator of duchy worker1 failed it: stuck"));
  CHECK_THAT(Halo({"duchy", "computations", "--config", config, "retry", "computations/abc"}).err,
             Catch::Contains("nothing is left to retry"));
}

TEST_CASE("halo mc create-measurement names a bad flag before it reads its config") {
  testing::TempDir dir;
  const std::string config = dir.Sub("missing.textproto");
  auto create = [&](const std::string& type, const std::string& start) {
    return Halo({"mc", "--config", config, "create-measurement", "--type", type, "--event-group",
                 "dataProviders/edp1/eventGroups/g1", "--start", start, "--end", "2026-02-01T00:00:00Z"});
  };
  const ProcessResult type = create("reach-and-frequencies", "2026-01-01T00:00:00Z");
  CHECK(type.exit_code == 1);
  CHECK_THAT(type.err, Catch::Contains("--type \"reach-and-frequencies\": one of reach, reach-and-frequency"));
  const ProcessResult start = create("reach", "yesterday");
  CHECK(start.exit_code == 1);
  CHECK_THAT(start.err, Catch::Contains("--start \"yesterday\" is neither RFC 3339"));
  // Good flags reach the config, which is missing.
  const ProcessResult good = create("reach", "2026-01-01T00:00:00Z");
  CHECK(good.exit_code == 1);
  CHECK_THAT(good.err, Catch::Contains("missing.textproto"));
  // So does `report`.
  const ProcessResult format = Halo({"mc", "--config", config, "report", "measurementConsumers/mc1/measurements/m",
                                     "--format", "pdf"});
  CHECK(format.exit_code == 1);
  CHECK_THAT(format.err, Catch::Contains("--format \"pdf\": html or csv"));
}

TEST_CASE("halo demo exchange finds the true overlap of two generated panels") {
  const ProcessResult demo = RunProcess({HALO_BINARY, "demo", "exchange", "--keys", "3000", "--overlap", "1000"},
                                        absl::Minutes(3));
  INFO(demo.out << demo.err);
  CHECK(demo.exit_code == 0);
  CHECK_THAT(demo.out, Catch::Contains("found exactly the true overlap"));
}

}  // namespace
}  // namespace halo
