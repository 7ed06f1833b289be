#include "halo/exchange/workflow.h"

#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "google/protobuf/text_format.h"
#include "google/protobuf/util/message_differencer.h"
#include "halo/common/config.h"
#include "halo/exchange/example_workflows.h"

namespace halo::exchange {
namespace {

using Workflow = api::v1::ExchangeWorkflow;

std::string Refusal(const Workflow& workflow) {
  const absl::Status status = ValidateWorkflow(workflow);
  REQUIRE_FALSE(status.ok());
  CHECK(status.code() == absl::StatusCode::kInvalidArgument);
  return std::string(status.message());
}

Workflow::Step* Find(Workflow& workflow, const std::string& id) {
  for (auto& step : *workflow.mutable_steps()) {
    if (step.step_id() == id) return &step;
  }
  FAIL("no step " << id);
  return nullptr;
}

TEST_CASE("The example workflows are valid and their steps wait for the steps that write their inputs") {
  for (const Workflow& workflow : {MiniExchangeWorkflow(), FullExchangeWorkflow()}) {
    REQUIRE(ValidateWorkflow(workflow).ok());
    const auto prerequisites = Prerequisites(workflow);
    for (int i = 0; i < workflow.steps_size(); ++i) {
      if (workflow.steps(i).has_input() || workflow.steps(i).has_generate_commutative_key()) {
        CHECK(prerequisites[i].empty());
      } else {
        CHECK_FALSE(prerequisites[i].empty());
      }
    }
  }
}

TEST_CASE("The example workflow files in config/exchange are the built-in ones") {
  for (const auto& [file, workflow] : {std::pair{"mini-exchange.textproto", MiniExchangeWorkflow()},
                                       std::pair{"full-exchange.textproto", FullExchangeWorkflow()}}) {
    std::ifstream in(std::string(HALO_SOURCE_DIR) + "/config/exchange/" + file);
    REQUIRE(in);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseWorkflow(text.str(), file);
    INFO(parsed.status().message());
    REQUIRE(parsed.ok());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(*parsed, workflow));
  }
}

TEST_CASE("A malformed workflow is refused with the step and the label named") {
  SECTION("an input no step writes") {
    Workflow w = MiniExchangeWorkflow();
    (*Find(w, "dp-encrypt")->mutable_inputs())["key"].set_label("dp-missing-key");
    CHECK_THAT(Refusal(w), Catch::Contains("step \"dp-encrypt\"") && Catch::Contains("\"dp-missing-key\"") &&
                               Catch::Contains("written by no step"));
  }
  SECTION("an input only the other party's private storage holds") {
    Workflow w = MiniExchangeWorkflow();
    (*Find(w, "mp-encrypt")->mutable_inputs())["key"].set_label("dp-key");
    CHECK_THAT(Refusal(w), Catch::Contains("\"mp-encrypt\"") && Catch::Contains("other party's private storage"));
  }
  SECTION("a cycle") {
    Workflow w = MiniExchangeWorkflow();
    // The key now comes from a step that waits for the encryption.
    auto* key = Find(w, "dp-generate-key");
    key->clear_generate_commutative_key();
    key->mutable_commutative_decrypt()->set_maximum_keys(1000);
    (*key->mutable_inputs())["encrypted"].set_label("dp-single");
    (*key->mutable_inputs())["encrypted"].set_storage(Workflow::PRIVATE);
    (*key->mutable_inputs())["key"].set_label("dp-key");
    (*key->mutable_inputs())["key"].set_storage(Workflow::PRIVATE);
    key->mutable_outputs()->clear();
    (*key->mutable_outputs())["decrypted"].set_label("dp-key");
    (*key->mutable_outputs())["decrypted"].set_storage(Workflow::PRIVATE);
    CHECK_THAT(Refusal(w), Catch::Contains("cycle") && Catch::Contains("\"dp-encrypt\""));
  }
  SECTION("a storage kind that is not known, or the wrong one for the step") {
    Workflow w = MiniExchangeWorkflow();
    (*Find(w, "dp-encrypt")->mutable_outputs())["order"].set_storage(Workflow::STORAGE_UNSPECIFIED);
    CHECK_THAT(Refusal(w), Catch::Contains("\"dp-encrypt\"") && Catch::Contains("no known storage"));
    Workflow shared = MiniExchangeWorkflow();
    (*Find(shared, "dp-share-single")->mutable_outputs())["blob"].set_storage(Workflow::PRIVATE);
    CHECK_THAT(Refusal(shared), Catch::Contains("\"dp-share-single\"") && Catch::Contains("must be in shared"));
  }
  SECTION("a blob two steps write, a step of no party, an argument its kind does not take, a repeated id") {
    Workflow twice = MiniExchangeWorkflow();
    (*Find(twice, "dp-generate-key")->mutable_outputs())["key"].set_label("dp-keys");
    CHECK_THAT(Refusal(twice), Catch::Contains("\"dp-keys\"") && Catch::Contains("too"));
    Workflow partyless = MiniExchangeWorkflow();
    Find(partyless, "mp-intersect")->set_party(Workflow::PARTY_UNSPECIFIED);
    CHECK_THAT(Refusal(partyless), Catch::Contains("\"mp-intersect\"") && Catch::Contains("no party"));
    Workflow extra = MiniExchangeWorkflow();
    (*Find(extra, "dp-input")->mutable_inputs())["salt"].set_label("x");
    CHECK_THAT(Refusal(extra), Catch::Contains("takes no input \"salt\""));
    Workflow repeated = MiniExchangeWorkflow();
    Find(repeated, "mp-output")->set_step_id("dp-output");
    CHECK_THAT(Refusal(repeated), Catch::Contains("\"dp-output\"") && Catch::Contains("used twice"));
  }
  SECTION("a sharing step signing with a certificate no step of its party minted") {
    Workflow w = MiniExchangeWorkflow();
    auto& certificate = (*Find(w, "dp-share-single")->mutable_inputs())["certificate"];
    certificate.set_label("dp-certificate");
    certificate.set_storage(Workflow::PRIVATE);
    CHECK_THAT(Refusal(w), Catch::Contains("\"dp-share-single\"") && Catch::Contains("\"dp-certificate\"") &&
                               Catch::Contains("written by no step"));
    // Minted first, it is valid.
    Workflow minted;
    auto& generate = *minted.add_steps();
    generate.set_step_id("dp-generate-certificate");
    generate.set_party(Workflow::DATA_PROVIDER);
    generate.mutable_generate_certificate();
    (*generate.mutable_outputs())["certificate"].set_label("dp-certificate");
    (*generate.mutable_outputs())["certificate"].set_storage(Workflow::PRIVATE);
    for (const auto& step : w.steps()) *minted.add_steps() = step;
    CHECK(ValidateWorkflow(minted).ok());
  }
  SECTION("text that does not parse names its line") {
    auto parsed = ParseWorkflow("steps { step_id: \"a\"\n  party: DATA_PROVIDR }", "bad.textproto");
    REQUIRE_FALSE(parsed.ok());
    CHECK_THAT(std::string(parsed.status().message()), Catch::Contains("bad.textproto:2:"));
  }
}

}  // namespace
TEST_CASE("A party refuses a workflow that would run outside its directories or leak a secret") {
  SECTION("a file path that leaves the input or output directory") {
    for (const char* path : {"/etc/passwd", "../panel.txt", "in/../../panel.txt", "", "a//b", "./panel.txt"}) {
      Workflow input = MiniExchangeWorkflow();
      Find(input, "dp-input")->mutable_input()->set_path(path);
      CHECK_THAT(Refusal(input), Catch::Contains("\"dp-input\"") && Catch::Contains("input.path"));
      Workflow output = MiniExchangeWorkflow();
      Find(output, "mp-output")->mutable_write_output()->set_path(path);
      CHECK_THAT(Refusal(output), Catch::Contains("\"mp-output\"") && Catch::Contains("write_output.path"));
    }
    Workflow nested = MiniExchangeWorkflow();
    Find(nested, "dp-input")->mutable_input()->set_path("2026/panel.txt");
    CHECK(ValidateWorkflow(nested).ok());
  }
  SECTION("a blob label that leaves storage or names a daemon's own blob") {
    Workflow up = MiniExchangeWorkflow();
    (*Find(up, "dp-generate-key")->mutable_outputs())["key"].set_label("../../dp-key");
    (*Find(up, "dp-encrypt")->mutable_inputs())["key"].set_label("../../dp-key");
    (*Find(up, "dp-reencrypt-mp")->mutable_inputs())["key"].set_label("../../dp-key");
    CHECK_THAT(Refusal(up), Catch::Contains("\"dp-generate-key\"") && Catch::Contains("\"..\""));
    for (const char* label : {"dp-certificate.signing-key", "dp-single.signature"}) {
      Workflow reserved = MiniExchangeWorkflow();
      (*Find(reserved, "dp-encrypt")->mutable_outputs())["order"].set_label(label);
      (*Find(reserved, "dp-intersect")->mutable_inputs())["order"].set_label(label);
      CHECK_THAT(Refusal(reserved), Catch::Contains("\"dp-encrypt\"") && Catch::Contains(label) &&
                                        Catch::Contains("for its own blobs"));
    }
  }
  SECTION("a copy to shared storage of a key, join keys, an order or the matches") {
    for (const auto& [label, writer] : {std::pair{"dp-key", "dp-generate-key"}, {"dp-keys", "dp-input"},
                                        {"dp-order", "dp-encrypt"}, {"dp-matched", "dp-intersect"}}) {
      Workflow w = MiniExchangeWorkflow();
      (*Find(w, "dp-share-single")->mutable_inputs())["blob"].set_label(label);
      CHECK_THAT(Refusal(w), Catch::Contains("\"dp-share-single\"") && Catch::Contains(label) &&
                                 Catch::Contains(writer) && Catch::Contains("never see"));
    }
    Workflow payloads = FullExchangeWorkflow();
    (*Find(payloads, "dp-share-payloads")->mutable_inputs())["blob"].set_label("dp-keys");
    CHECK_THAT(Refusal(payloads), Catch::Contains("\"dp-share-payloads\"") && Catch::Contains("never see"));
  }
  SECTION("re-encryption or decryption of the other party's points without an agreed bound") {
    Workflow w = MiniExchangeWorkflow();
    Find(w, "mp-reencrypt-dp")->mutable_commutative_reencrypt()->clear_maximum_keys();
    CHECK_THAT(Refusal(w), Catch::Contains("\"mp-reencrypt-dp\"") && Catch::Contains("maximum_keys"));
  }
}

TEST_CASE("The local deployment's exchange daemon pins exactly the example workflows") {
  std::ifstream in(std::string(HALO_SOURCE_DIR) + "/config/local/exchange-mp1.textproto");
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseConfig(text.str(), "exchange-mp1.textproto", "");
  INFO(config.status().message());
  REQUIRE(config.ok());
  const auto& pinned = config->exchange_daemon().accepted_workflow_sha256();
  CHECK(std::set<std::string>(pinned.begin(), pinned.end()) ==
        std::set<std::string>{WorkflowSha256(MiniExchangeWorkflow()), WorkflowSha256(FullExchangeWorkflow())});
}

TEST_CASE("A workflow's SHA-256 is stable and changes with any step") {
  const std::string mini = WorkflowSha256(MiniExchangeWorkflow());
  CHECK(mini.size() == 64);
  CHECK(mini == WorkflowSha256(MiniExchangeWorkflow()));
  CHECK(mini != WorkflowSha256(FullExchangeWorkflow()));
  Workflow looser = MiniExchangeWorkflow();
  Find(looser, "mp-reencrypt-dp")->mutable_commutative_reencrypt()->set_maximum_keys(1'000'000'000);
  CHECK(mini != WorkflowSha256(looser));
  // Parsed from its text, it is the same workflow.
  std::ifstream in(std::string(HALO_SOURCE_DIR) + "/config/exchange/mini-exchange.textproto");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = ParseWorkflow(text.str(), "mini-exchange.textproto");
  REQUIRE(parsed.ok());
  CHECK(WorkflowSha256(*parsed) == mini);
}

}  // namespace halo::exchange
