#include "halo/duchy/computation_store.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

#include "halo/common/files.h"

#include "halo/duchy/v1/records.pb.h"
#include "testing/temp_dir.h"
#include "testing/test_databases.h"

namespace halo::duchy {
namespace {

struct FakeClock {
  absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  std::function<absl::Time()> function() {
    return [this] { return now; };
  }
};

LocalComputation Waiting(const std::string& name) {
  LocalComputation c;
  c.name = name;
  c.stage = v1::WAIT_SETUP_PHASE_INPUTS;
  c.details = "details of " + name;
  return c;
}

// A computation a mill may claim, at setup.
LocalComputation Runnable(const std::string& name) {
  LocalComputation c = Waiting(name);
  c.stage = v1::SETUP_PHASE;
  c.runnable = true;
  return c;
}

TEST_CASE("Computations are created once, whatever the herald replays") {
  testing::TempDir dir;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"));
  CHECK(*store->Create(Waiting("computations/1")));
  LocalComputation again = Waiting("computations/1");
  again.details = "something else";
  CHECK_FALSE(*store->Create(again));
  CHECK(store->Get("computations/1")->details == "details of computations/1");
  CHECK(absl::IsNotFound(store->Get("computations/2").status()));
  CHECK(store->HeraldToken()->empty());
  REQUIRE(store->SetHeraldToken("17:computations/1").ok());
  REQUIRE(store->SetHeraldToken("18:computations/1").ok());
  CHECK(*store->HeraldToken() == "18:computations/1");
}

const InputWait kSetupInputs{v1::WAIT_SETUP_PHASE_INPUTS, 2, v1::SETUP_PHASE};
const InputWait kPhaseOneInputs{v1::WAIT_EXECUTION_PHASE_ONE_INPUTS, 1, v1::EXECUTION_PHASE_ONE};

TEST_CASE("Inputs start a stage when all have arrived; a resend is harmless, a different one refused") {
  testing::TempDir dir;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"));
  REQUIRE(*store->Create(Waiting("computations/1")));
  const StageInput a{"edp1", "computations/1/SETUP/edp1", std::string(32, 'a')};
  const StageInput b{"edp2", "computations/1/SETUP/edp2", std::string(32, 'b')};
  REQUIRE(store->RecordInput("computations/1", kSetupInputs, a).ok());
  CHECK_FALSE(store->Get("computations/1")->runnable);
  CHECK(*store->Claim("mill", absl::Minutes(5)) == std::nullopt);
  REQUIRE(store->RecordInput("computations/1", kSetupInputs, a).ok());
  StageInput tampered = a;
  tampered.sha256 = std::string(32, 'x');
  CHECK(absl::IsAlreadyExists(
      store->RecordInput("computations/1", kSetupInputs, tampered)));
  REQUIRE(store->RecordInput("computations/1", kSetupInputs, b).ok());
  const LocalComputation started = *store->Get("computations/1");
  CHECK(started.stage == v1::SETUP_PHASE);
  CHECK(started.runnable);
  CHECK(store->Inputs("computations/1", v1::WAIT_SETUP_PHASE_INPUTS)->size() == 2);
  // A late resend of an input already used is still acknowledged; an input
  // for a stage the computation is not at is refused.
  CHECK(store->RecordInput("computations/1", kSetupInputs, b).ok());
  const absl::Status early = store->RecordInput("computations/1", kPhaseOneInputs, a);
  CHECK(absl::IsFailedPrecondition(early));
  CHECK_THAT(std::string(early.message()), Catch::Contains("SETUP_PHASE"));
}

TEST_CASE("A claim is a lease: a lapsed one passes to another mill, and its holder can no longer write") {
  testing::TempDir dir;
  FakeClock clock;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
  REQUIRE(*store->Create(Runnable("computations/1")));

  const auto first = *store->Claim("mill-a", absl::Minutes(5));
  REQUIRE(first.has_value());
  CHECK(first->lease_owner == "mill-a");
  CHECK(*store->Claim("mill-b", absl::Minutes(5)) == std::nullopt);
  clock.now += absl::Minutes(6);
  const auto second = *store->Claim("mill-b", absl::Minutes(5));
  REQUIRE(second.has_value());
  CHECK(second->version > first->version);
  // The stale holder is fenced off whatever it tries, and told why.
  const absl::Status stale = store->Advance(*first, v1::WAIT_EXECUTION_PHASE_ONE_INPUTS, false, "a's");
  CHECK(absl::IsAborted(stale));
  CHECK_THAT(std::string(stale.message()), Catch::Contains("no longer claimed by mill-a") &&
                                               Catch::Contains("claimed by mill-b"));
  CHECK(absl::IsAborted(store->SaveDetails(*first, "a's")));
  CHECK(absl::IsAborted(store->RenewLease(*first, absl::Minutes(5))));
  CHECK(absl::IsAborted(store->Release(*first, absl::ZeroDuration(), "a's error")));
  REQUIRE(store->Advance(*second, v1::WAIT_EXECUTION_PHASE_ONE_INPUTS, false, "b's").ok());
  const LocalComputation after = *store->Get("computations/1");
  CHECK(after.stage == v1::WAIT_EXECUTION_PHASE_ONE_INPUTS);
  CHECK(after.details == "b's");
  CHECK(after.lease_owner.empty());
}

TEST_CASE("Claimers racing on one store each claim a different computation, and every one is claimed once") {
  testing::TempDir dir;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"));
  constexpr int kComputations = 24;
  for (int i = 0; i < kComputations; ++i) REQUIRE(*store->Create(Runnable(absl::StrCat("computations/", i))));
  // A second handle on the same database, as another process has.
  auto other = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"));
  std::mutex mu;
  std::map<std::string, int> claims;
  std::atomic<int> errors{0};
  std::vector<std::thread> mills;
  for (int m = 0; m < 4; ++m) {
    mills.emplace_back([&, m] {
      ComputationStore& mine = m % 2 == 0 ? *store : *other;
      while (true) {
        auto claimed = mine.Claim(absl::StrCat("mill-", m), absl::Minutes(5));
        if (!claimed.ok()) {
          ++errors;
          return;
        }
        if (!claimed->has_value()) return;
        std::lock_guard<std::mutex> lock(mu);
        ++claims[(*claimed)->name];
      }
    });
  }
  for (std::thread& mill : mills) mill.join();
  CHECK(errors.load() == 0);
  CHECK(claims.size() == kComputations);
  for (const auto& [name, count] : claims) {
    INFO(name);
    CHECK(count == 1);
  }
}

TEST_CASE("A renewed lease keeps a long stage's claim; an unrenewed one lapses within a lease") {
  testing::TempDir dir;
  FakeClock clock;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
  REQUIRE(*store->Create(Runnable("computations/1")));
  const auto claimed = *store->Claim("mill-a", absl::Seconds(30));
  REQUIRE(claimed.has_value());
  // Renewed every 10 s for ten minutes: nobody else gets it.
  for (int i = 0; i < 60; ++i) {
    clock.now += absl::Seconds(10);
    REQUIRE(store->RenewLease(*claimed, absl::Seconds(30)).ok());
    REQUIRE(*store->Claim("mill-b", absl::Seconds(30)) == std::nullopt);
  }
  // Its mill dies: within one lease another takes it, and the first is fenced.
  clock.now += absl::Seconds(31);
  const auto taken = *store->Claim("mill-b", absl::Seconds(30));
  REQUIRE(taken.has_value());
  CHECK(taken->attempts == 2);
  CHECK(absl::IsAborted(store->RenewLease(*claimed, absl::Seconds(30))));
  CHECK(store->RenewLease(*taken, absl::Seconds(30)).ok());
}

TEST_CASE("A released claim is retried after its delay, counting attempts; a failure is final") {
  testing::TempDir dir;
  FakeClock clock;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
  REQUIRE(*store->Create(Runnable("computations/1")));
  auto claimed = *store->Claim("mill", absl::Minutes(5));
  REQUIRE(claimed.has_value());
  CHECK(claimed->attempts == 1);
  REQUIRE(store->Release(*claimed, absl::Seconds(30), "the peer was unreachable").ok());
  CHECK(*store->Claim("mill", absl::Minutes(5)) == std::nullopt);
  clock.now += absl::Seconds(31);
  claimed = *store->Claim("mill", absl::Minutes(5));
  REQUIRE(claimed.has_value());
  CHECK(claimed->attempts == 2);
  CHECK(claimed->last_error == "the peer was unreachable");
  REQUIRE(store->Fail("computations/1", "phase one: a register is off the curve").ok());
  const LocalComputation failed = *store->Get("computations/1");
  CHECK(failed.stage == v1::FAILED);
  CHECK(failed.failure == "phase one: a register is off the curve");
  clock.now += absl::Hours(1);
  CHECK(*store->Claim("mill", absl::Minutes(5)) == std::nullopt);
  // The failed mill's claim is gone with it.
  CHECK(absl::IsAborted(store->Advance(*claimed, v1::COMPLETE, false, "")));
}

TEST_CASE("Attempts are counted when claimed, so a stage whose process crashes each time is counted too") {
  testing::TempDir dir;
  FakeClock clock;
  {
    auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
    REQUIRE(*store->Create(Runnable("computations/1")));
  }
  // Each round: a mill claims the stage and its process dies with the claim
  // held; the duchy restarts and the lease lapses.
  for (int round = 1; round <= 3; ++round) {
    auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
    const auto claimed = *store->Claim("mill", absl::Minutes(5));
    REQUIRE(claimed.has_value());
    CHECK(claimed->attempts == round);
    CHECK(claimed->last_error.empty());
    clock.now += absl::Minutes(6);
  }
  // A duchy that starts again takes back its dead mills' claims at once,
  // their attempts counted.
  {
    auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
    REQUIRE((*store->Claim("mill", absl::Minutes(5))).has_value());
  }
  {
    auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
    CHECK(*store->Claim("mill", absl::Minutes(5)) == std::nullopt);
    REQUIRE(store->ReleaseClaimsOf("mill").ok());
    const auto taken_back = *store->Claim("mill", absl::Minutes(5));
    REQUIRE(taken_back.has_value());
    CHECK(taken_back->attempts == 5);
    clock.now += absl::Minutes(6);
  }
  // Moving to the next stage starts its count afresh.
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
  const auto claimed = *store->Claim("mill", absl::Minutes(5));
  REQUIRE(store->Advance(*claimed, v1::EXECUTION_PHASE_ONE, true, "next").ok());
  CHECK((*store->Claim("mill", absl::Minutes(5)))->attempts == 1);
}

TEST_CASE("A restarted duchy takes back only its own mills' claims; other processes' mills keep theirs") {
  testing::TempDir dir;
  FakeClock clock;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
  REQUIRE(*store->Create(Runnable("computations/1")));
  REQUIRE(*store->Create(Runnable("computations/2")));
  const auto own = *store->Claim("duchies/w1/mill-0", absl::Minutes(5));
  const auto remote = *store->Claim("duchies/w1/mills/a", absl::Minutes(5));
  REQUIRE(own.has_value());
  REQUIRE(remote.has_value());
  REQUIRE(store->ReleaseClaimsOf("duchies/w1/mill-").ok());
  CHECK(absl::IsAborted(store->RenewLease(*own, absl::Minutes(5))));
  CHECK(store->RenewLease(*remote, absl::Minutes(5)).ok());
  const auto again = *store->Claim("duchies/w1/mill-1", absl::Minutes(5));
  REQUIRE(again.has_value());
  CHECK(again->name == own->name);
}

TEST_CASE("Each attempt is on record from its claim: one whose mill died shows as abandoned, a report replaces it") {
  testing::TempDir dir;
  FakeClock clock;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
  REQUIRE(*store->Create(Runnable("computations/1")));
  const auto first = *store->Claim("mills/a", absl::Seconds(30));
  REQUIRE(first.has_value());
  auto attempts = *store->Attempts("computations/1");
  REQUIRE(attempts.size() == 1);
  CHECK(attempts[0].owner == "mills/a");
  CHECK(attempts[0].outcome == "running");
  clock.now += absl::Seconds(31);
  const auto second = *store->Claim("mills/b", absl::Seconds(30));
  REQUIRE(second.has_value());
  attempts = *store->Attempts("computations/1");
  REQUIRE(attempts.size() == 2);
  CHECK_THAT(attempts[0].outcome, Catch::Contains("abandoned") && Catch::Contains("taken over by mills/b"));
  CHECK(attempts[1].attempt == 2);
  CHECK(attempts[1].outcome == "running");
  REQUIRE(store->RecordAttempt("computations/1", {.stage = second->stage, .attempt = 2, .owner = "mills/b",
                                                  .started = clock.now, .wall = absl::Seconds(3),
                                                  .outcome = "succeeded"})
              .ok());
  attempts = *store->Attempts("computations/1");
  REQUIRE(attempts.size() == 2);
  CHECK(attempts[1].outcome == "succeeded");
  CHECK(attempts[1].wall == absl::Seconds(3));
  // A restarted duchy's own mills' running attempts are abandoned too.
  REQUIRE(*store->Create(Runnable("computations/2")));
  REQUIRE(store->Claim("duchies/w1/mill-0", absl::Seconds(30))->has_value());
  REQUIRE(store->ReleaseClaimsOf("duchies/w1/mill-").ok());
  CHECK_THAT((*store->Attempts("computations/2"))[0].outcome, Catch::Contains("its duchy restarted"));
}

TEST_CASE("A mill's prioritised stages are claimed first, then the others, oldest first") {
  testing::TempDir dir;
  FakeClock clock;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
  REQUIRE(*store->Create(Runnable("computations/llv2")));
  clock.now += absl::Seconds(1);
  LocalComputation shuffle = Runnable("computations/hmss");
  shuffle.stage = v1::SHUFFLE_PHASE;
  REQUIRE(*store->Create(shuffle));
  const auto first = *store->Claim("mill", absl::Minutes(5), {v1::SHUFFLE_PHASE, v1::AGGREGATION_PHASE});
  REQUIRE(first.has_value());
  CHECK(first->name == "computations/hmss");
  const auto second = *store->Claim("mill", absl::Minutes(5), {v1::SHUFFLE_PHASE, v1::AGGREGATION_PHASE});
  REQUIRE(second.has_value());
  CHECK(second->name == "computations/llv2");
}

TEST_CASE("A computation that completes or fails keeps no key or seed that could decrypt what it handled") {
  testing::TempDir dir;
  FakeClock clock;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"), clock.function());
  v1::ComputationDetails secrets;
  secrets.mutable_computation()->set_name("computations/kept");
  secrets.set_position(1);
  secrets.set_elgamal_secret_key("elgamal secret");
  secrets.set_elgamal_public_key("elgamal public");
  secrets.set_encryption_secret_key("encryption secret");
  secrets.set_seed_half("seed half");
  for (const std::string name : {"computations/completes", "computations/fails"}) {
    LocalComputation c = Waiting(name);
    c.stage = v1::SETUP_PHASE;
    c.runnable = true;
    c.details = secrets.SerializeAsString();
    REQUIRE(*store->Create(c));
  }
  auto claimed = *store->Claim("mill", absl::Minutes(5));
  REQUIRE(claimed.has_value());
  REQUIRE(store->Advance(*claimed, v1::COMPLETE, false, claimed->details).ok());
  REQUIRE(store->Fail(claimed->name == "computations/fails" ? "computations/completes" : "computations/fails",
                      "the Kingdom cancelled it")
              .ok());
  for (const std::string name : {"computations/completes", "computations/fails"}) {
    INFO(name);
    v1::ComputationDetails kept;
    REQUIRE(kept.ParseFromString(store->Get(name)->details));
    CHECK(kept.elgamal_secret_key().empty());
    CHECK(kept.encryption_secret_key().empty());
    CHECK(kept.seed_half().empty());
    CHECK(kept.elgamal_public_key() == "elgamal public");
    CHECK(kept.computation().name() == "computations/kept");
    CHECK(kept.position() == 1);
  }
  // Nor on disk: the rows that held them were overwritten, not just unlinked.
  store.reset();
  for (const std::string file : {"duchy.db", "duchy.db-wal"}) {
    const std::string bytes = ReadFile(dir.Sub(file)).value_or("");
    INFO(file);
    CHECK(bytes.find("elgamal secret") == std::string::npos);
    CHECK(bytes.find("encryption secret") == std::string::npos);
    CHECK(bytes.find("seed half") == std::string::npos);
  }
}

TEST_CASE("Inputs that arrive before their stage are kept, and the stage starts when the computation gets there") {
  testing::TempDir dir;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"));
  LocalComputation c = Waiting("computations/1");
  c.stage = v1::WAIT_TO_START;
  REQUIRE(*store->Create(c));
  const StageInput a{"worker1", "computations/1/a", std::string(32, 'a')};
  const StageInput b{"worker2", "computations/1/b", std::string(32, 'b')};
  const std::vector<ComputationStage> before = {v1::CONFIRMATION_PHASE, v1::WAIT_TO_START};
  // Not among the stages before: refused, as a stage already passed is.
  CHECK(absl::IsFailedPrecondition(store->RecordInput("computations/1", kSetupInputs, a)));
  REQUIRE(store->RecordInput("computations/1", kSetupInputs, a, before).ok());
  REQUIRE(store->RecordInput("computations/1", kSetupInputs, b, before).ok());
  CHECK(store->Get("computations/1")->stage == v1::WAIT_TO_START);

  // The Kingdom says start: the computation passes its input wait at once.
  CHECK(absl::IsFailedPrecondition(
      store->AdvanceWaiting("computations/1", v1::CONFIRMATION_PHASE, v1::WAIT_SETUP_PHASE_INPUTS, false, kSetupInputs)));
  REQUIRE(store->AdvanceWaiting("computations/1", v1::WAIT_TO_START, v1::WAIT_SETUP_PHASE_INPUTS, false, kSetupInputs)
              .ok());
  const LocalComputation started = *store->Get("computations/1");
  CHECK(started.stage == v1::SETUP_PHASE);
  CHECK(started.runnable);

  // A claimed stage keeps new details without giving up its claim.
  const auto claimed = *store->Claim("mill", absl::Minutes(5));
  REQUIRE(claimed.has_value());
  REQUIRE(store->SaveDetails(*claimed, "with a key").ok());
  CHECK(store->Get("computations/1")->details == "with a key");
  REQUIRE(store->Advance(*claimed, v1::WAIT_EXECUTION_PHASE_ONE_INPUTS, false, "with a key", kPhaseOneInputs).ok());
  CHECK(store->Get("computations/1")->stage == v1::WAIT_EXECUTION_PHASE_ONE_INPUTS);
  CHECK_FALSE(store->Get("computations/1")->runnable);
}

TEST_CASE("Uploads are kept once: a resend is OK, different bytes are refused, none after the end") {
  testing::TempDir dir;
  auto store = *ComputationStore::Open(testing::DatabaseUnderTest(dir, "duchy.db"));
  REQUIRE(*store->Create(Waiting("computations/1")));
  const StageInput upload{"computations/1/requisitions/r1", "computations/1/requisitions/r1", std::string(32, 'u')};
  REQUIRE(store->RecordUpload("computations/1", upload).ok());
  REQUIRE(store->RecordUpload("computations/1", upload).ok());
  StageInput tampered = upload;
  tampered.sha256 = std::string(32, 't');
  CHECK(absl::IsAlreadyExists(store->RecordUpload("computations/1", tampered)));
  CHECK(absl::IsNotFound(store->RecordUpload("computations/2", upload)));
  REQUIRE(store->Uploads("computations/1")->size() == 1);
  CHECK(store->Uploads("computations/1")->front().sha256 == upload.sha256);
  REQUIRE(store->Fail("computations/1", "cancelled").ok());
  const StageInput late{"computations/1/requisitions/r2", "k", std::string(32, 'v')};
  CHECK(absl::IsFailedPrecondition(store->RecordUpload("computations/1", late)));
}

}  // namespace
}  // namespace halo::duchy
