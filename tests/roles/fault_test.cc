// Every role its own `halo` process; in each round one role, or several at
// once, is killed with SIGKILL at a random point of an LLv2 or an HMSS
// measurement and started again after a random while. The measurement must
// still succeed, within a bounded time, with a reach within its error of the
// truth in the event files. HALO_FAULT_ROUNDS sets the rounds (half LLv2,
// half HMSS; default 2); the `long` run takes 20. The random points come
// from a fixed seed, so a failing round replays.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "halo/edp/synthetic_events.h"
#include "testing/process_deployment.h"
#include "testing/temp_dir.h"

namespace halo::testing {
namespace {

constexpr absl::Duration kBound = absl::Minutes(3);

int Rounds() {
  const char* rounds = std::getenv("HALO_FAULT_ROUNDS");
  return rounds == nullptr ? 2 : std::max(2, std::atoi(rounds));
}

struct Events {
  TempDir dir;
  edp::SyntheticEventsSummary truth;
  Events() {
    auto written = WriteDeploymentEvents(dir.Sub("events"), 1'000'000, 40'000, /*seed=*/11);
    REQUIRE(written.ok());
    truth = *written;
  }
};

// Runs `rounds` measurements on one deployment, each with its faults.
void RunRounds(const Events& events, bool hmss, int rounds, std::mt19937_64& random) {
  ProcessDeploymentOptions options;
  options.events_dir = events.dir.Sub("events");
  options.prefer_hmss = hmss;
  options.population_size = 1'000'000;
  options.llv2_sketch_size = 20'000;
  // Every process draws its DP noise from this seed and the measurement's
  // content, so a round's result is the same whichever roles die when.
  options.replay_seed = "fault test";
  auto started = ProcessDeployment::Start(options);
  INFO(started.status().message());
  REQUIRE(started.ok());
  ProcessDeployment& d = **started;
  auto mc = d.Mc();
  REQUIRE(mc.ok());
  for (int round = 0; round < rounds; ++round) {
    // One role, or two or three at once.
    std::vector<std::string> roles = d.roles();
    std::shuffle(roles.begin(), roles.end(), random);
    roles.resize(1 + random() % 3);
    // Anywhere in the measurement: HMSS takes about 3 s here, LLv2 about 45.
    const absl::Duration kill_after = absl::Milliseconds(random() % (hmss ? 3000 : 40000));
    const absl::Duration down_for = absl::Milliseconds(100 + random() % 2000);
    const std::string what = absl::StrCat(hmss ? "HMSS" : "LLv2", " round ", round + 1, ": kill ",
                                          absl::StrJoin(roles, ", "), " after ", absl::FormatDuration(kill_after),
                                          ", down for ", absl::FormatDuration(down_for));
    INFO(what);
    const absl::Time began = absl::Now();
    auto created = (*mc)->CreateMeasurement(d.ReachAndFrequencyRequest());
    REQUIRE(created.ok());
    CHECK(created->protocol_config().protocol() ==
          (hmss ? api::v1::HONEST_MAJORITY_SHARE_SHUFFLE : api::v1::LIQUID_LEGIONS_V2));
    absl::SleepFor(kill_after);
    for (const std::string& role : roles) d.Kill(role);
    absl::SleepFor(down_for);
    for (const std::string& role : roles) {
      const absl::Status restarted = d.Restart(role);
      INFO(restarted.message());
      REQUIRE(restarted.ok());
    }
    // The Kingdom may be coming back: the MC retries what fails meanwhile.
    absl::StatusOr<api::v1::Measurement> done = absl::UnavailableError("not asked yet");
    while (absl::Now() - began < kBound) {
      done = (*mc)->AwaitMeasurement(created->name(), kBound - (absl::Now() - began));
      if (done.ok() || absl::IsDeadlineExceeded(done.status())) break;
      absl::SleepFor(absl::Milliseconds(200));
    }
    INFO(done.status().message());
    REQUIRE(done.ok());
    INFO(done->failure().message());
    for (const std::string& role : d.roles()) {
      if (done->state() != api::v1::Measurement::SUCCEEDED) UNSCOPED_INFO(role << ":\n" << d.Log(role));
    }
    REQUIRE(done->state() == api::v1::Measurement::SUCCEEDED);
    auto result = (*mc)->OpenResult(*done);
    INFO(result.status().message());
    REQUIRE(result.ok());
    const double reach = static_cast<double>(result->reach().value());
    const double truth = static_cast<double>(events.truth.union_reach);
    // The noise replays, so a right result passes every run (it is within
    // a standard error here); a lost or doubled EDP's data fails.
    CHECK(std::abs(reach - truth) <= 5 * result->reach().standard_error());
    std::printf("%s: reach %.0f (truth %.0f, standard error %.0f) in %.1f s\n", what.c_str(), reach, truth,
                result->reach().standard_error(), absl::ToDoubleSeconds(absl::Now() - began));
  }
}

TEST_CASE("Roles killed with SIGKILL mid-measurement and started again: every measurement finishes, and right") {
  Events events;
  std::mt19937_64 random(20261207);
  const int rounds = Rounds();
  RunRounds(events, /*hmss=*/false, rounds / 2, random);
  RunRounds(events, /*hmss=*/true, rounds - rounds / 2, random);
}

}  // namespace
}  // namespace halo::testing
