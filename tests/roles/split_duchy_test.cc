// Each duchy as a `duchy-herald` and two `duchy-mill`s, every one its own
// `halo` process, as an operator runs them on several VMs: measurements
// come out right; a mill killed mid-stage is replaced within one lease; a
// mill frozen past its lease cannot write over its successor's work when it
// wakes; a herald killed and started again resumes its computations.
#include <catch2/catch.hpp>

#include <csignal>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "halo/duchy/computation_store.h"
#include "halo/edp/synthetic_events.h"
#include "testing/process_deployment.h"
#include "testing/temp_dir.h"

namespace halo::testing {
namespace {

constexpr int kLeaseSeconds = 5;

struct Events {
  TempDir dir;
  edp::SyntheticEventsSummary truth;
  Events() {
    auto written = WriteDeploymentEvents(dir.Sub("events"), 200'000, 5'000, /*seed=*/17);
    REQUIRE(written.ok());
    truth = *written;
  }
};

std::unique_ptr<ProcessDeployment> Start(const Events& events, bool hmss) {
  ProcessDeploymentOptions options;
  options.events_dir = events.dir.Sub("events");
  options.prefer_hmss = hmss;
  options.population_size = 200'000;
  options.llv2_sketch_size = 20'000;
  options.replay_seed = "split duchy test";
  options.mills_per_duchy = 2;
  options.mill_lease_seconds = kLeaseSeconds;
  options.mill_parallelism = 1;
  auto started = ProcessDeployment::Start(options);
  INFO(started.status().message());
  REQUIRE(started.ok());
  return *std::move(started);
}

std::string Create(ProcessDeployment& d, mc::McClient& mc) {
  auto created = mc.CreateMeasurement(d.ReachAndFrequencyRequest());
  INFO(created.status().message());
  REQUIRE(created.ok());
  return created->name();
}

// Waits for the measurement and checks its reach against the truth in the
// event files; the noise replays, so a right result passes every run.
void ExpectRight(ProcessDeployment& d, mc::McClient& mc, const std::string& measurement, const Events& events) {
  auto done = mc.AwaitMeasurement(measurement, absl::Minutes(3));
  INFO(done.status().message());
  if (!done.ok() || done->state() != api::v1::Measurement::SUCCEEDED) {
    for (const std::string& role : d.roles()) UNSCOPED_INFO(role << ":\n" << d.Log(role));
  }
  REQUIRE(done.ok());
  INFO(done->failure().message());
  REQUIRE(done->state() == api::v1::Measurement::SUCCEEDED);
  auto result = mc.OpenResult(*done);
  REQUIRE(result.ok());
  const double truth = static_cast<double>(events.truth.union_reach);
  INFO("reach " << result->reach().value() << " +- " << result->reach().standard_error() << ", truth " << truth);
  CHECK(std::abs(static_cast<double>(result->reach().value()) - truth) <= 5 * result->reach().standard_error());
}

// The herald's store of duchy `id`, opened beside the running herald (as
// `halo duchy computations` does).
std::unique_ptr<duchy::ComputationStore> StoreOf(ProcessDeployment& d, const std::string& id) {
  auto store = duchy::ComputationStore::Open(d.DataDir("duchy-" + id) + "/computations.db");
  REQUIRE(store.ok());
  return *std::move(store);
}

// The role of the mill a claim's owner names: duchies/{id}/mills/mill-{i}.
std::string MillRole(const std::string& owner) {
  const std::string id = owner.substr(8, owner.find('/', 8) - 8);
  return absl::StrCat("mill-", id, "-", owner.substr(owner.rfind('-') + 1));
}

struct Frozen {
  std::string duchy;
  std::string role;
  duchy::LocalComputation claim;
};

// Freezes (SIGSTOP) a mill that holds a claim at a stage it runs, and is
// seen still holding it once frozen: so it is certainly mid-stage.
Frozen FreezeMidStage(ProcessDeployment& d) {
  const absl::Time until = absl::Now() + absl::Minutes(2);
  while (absl::Now() < until) {
    for (const char* id : {"worker1", "worker2", "aggregator"}) {
      auto store = StoreOf(d, id);
      auto listed = store->List(false, 100);
      REQUIRE(listed.ok());
      for (const duchy::LocalComputation& c : *listed) {
        if (c.lease_owner.empty() || c.lease_expiry < absl::Now()) continue;
        const std::string role = MillRole(c.lease_owner);
        kill(d.Pid(role), SIGSTOP);
        // A call the mill sent just before it stopped (finishing its
        // stage) still completes at the herald: only a claim unchanged a
        // while after the stop is held by a mill stopped mid-stage.
        absl::SleepFor(absl::Seconds(1));
        auto still = store->Get(c.name);
        REQUIRE(still.ok());
        if (still->version == c.version && still->lease_owner == c.lease_owner) return {id, role, c};
        kill(d.Pid(role), SIGCONT);
      }
    }
    absl::SleepFor(absl::Milliseconds(20));
  }
  FAIL("no mill was seen mid-stage within 2 minutes");
  return {};
}

TEST_CASE("Three duchies each as a herald and two mills, every one its own process: LLv2 and HMSS come out right") {
  Events events;
  for (bool hmss : {false, true}) {
    INFO((hmss ? "HMSS" : "LLv2"));
    auto d = Start(events, hmss);
    auto mc = d->Mc();
    REQUIRE(mc.ok());
    const std::string measurement = Create(*d, **mc);
    ExpectRight(*d, **mc, measurement, events);
    // The stages ran in the mills: every attempt the heralds keep is a
    // mill's, and succeeded.
    for (const char* id : {"worker1", "worker2", "aggregator"}) {
      auto store = StoreOf(*d, id);
      auto computations = store->List(/*include_finished=*/true, 10);
      REQUIRE(computations.ok());
      REQUIRE(computations->size() == 1);
      auto attempts = store->Attempts(computations->front().name);
      REQUIRE(attempts.ok());
      CHECK_FALSE(attempts->empty());
      for (const duchy::StageAttempt& a : *attempts) {
        CHECK(absl::StartsWith(a.owner, absl::StrCat("duchies/", id, "/mills/mill-")));
        CHECK(a.outcome == "succeeded");
      }
    }
  }
}

TEST_CASE("A mill killed mid-stage is replaced within a lease, one frozen past its lease is fenced when it wakes, and "
          "a herald killed resumes") {
  Events events;
  auto d = Start(events, /*hmss=*/false);
  auto mc = d->Mc();
  REQUIRE(mc.ok());

  // Killed: another mill takes the stage over within a lease.
  {
    const std::string measurement = Create(*d, **mc);
    const Frozen frozen = FreezeMidStage(*d);
    INFO(frozen.role << " held " << frozen.claim.name << " at "
                     << duchy::v1::ComputationStage_Name(frozen.claim.stage));
    const absl::Time killed = absl::Now();
    d->Kill(frozen.role);
    ExpectRight(*d, **mc, measurement, events);
    auto attempts = StoreOf(*d, frozen.duchy)->Attempts(frozen.claim.name);
    REQUIRE(attempts.ok());
    bool abandoned = false, taken_over = false;
    for (const duchy::StageAttempt& a : *attempts) {
      if (a.stage != frozen.claim.stage) continue;
      const std::string owner_role = MillRole(a.owner);
      if (owner_role == frozen.role && absl::StrContains(a.outcome, "abandoned")) abandoned = true;
      if (owner_role != frozen.role && a.outcome == "succeeded") {
        taken_over = true;
        CHECK(a.started - killed <= absl::Seconds(kLeaseSeconds + 2));
      }
    }
    CHECK(abandoned);
    CHECK(taken_over);
    REQUIRE(d->Restart(frozen.role).ok());
  }

  // Frozen past its lease: its successor's work stands; woken, it is told.
  {
    const std::string measurement = Create(*d, **mc);
    const Frozen frozen = FreezeMidStage(*d);
    ExpectRight(*d, **mc, measurement, events);
    kill(d->Pid(frozen.role), SIGCONT);
    const absl::Time until = absl::Now() + absl::Seconds(30);
    while (absl::Now() < until && !absl::StrContains(d->Log(frozen.role), "is no longer claimed by")) {
      absl::SleepFor(absl::Milliseconds(100));
    }
    INFO(d->Log(frozen.role));
    CHECK(absl::StrContains(d->Log(frozen.role), "is no longer claimed by"));
    const duchy::LocalComputation now = *StoreOf(*d, frozen.duchy)->Get(frozen.claim.name);
    CHECK(now.stage == duchy::v1::COMPLETE);
  }

  // A herald killed mid-measurement and started again: its computations
  // resume with its mills, which wait for it meanwhile.
  {
    const std::string measurement = Create(*d, **mc);
    const Frozen frozen = FreezeMidStage(*d);
    kill(d->Pid(frozen.role), SIGCONT);
    d->Kill("duchy-" + frozen.duchy);
    absl::SleepFor(absl::Seconds(1));
    REQUIRE(d->Restart("duchy-" + frozen.duchy).ok());
    ExpectRight(*d, **mc, measurement, events);
  }
}

}  // namespace
}  // namespace halo::testing
