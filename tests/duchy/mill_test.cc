#include "mill.h"

#include <catch2/catch.hpp>

namespace halo::duchy {
namespace {

TEST_CASE("A stage claimed more often than its attempts allow is given up, naming how its attempts ended") {
  LocalComputation c;
  c.name = "computations/1";
  c.stage = v1::EXECUTION_PHASE_ONE;
  for (int attempts = 1; attempts <= 3; ++attempts) {
    c.attempts = attempts;
    CHECK_FALSE(OverAttempted(c, 3, "worker1").has_value());
  }
  c.attempts = 4;
  const auto crashed = OverAttempted(c, 3, "worker1");
  REQUIRE(crashed.has_value());
  CHECK_THAT(*crashed, Catch::Contains("worker1") && Catch::Contains("EXECUTION_PHASE_ONE") &&
                           Catch::Contains("after 3 attempt(s)") && Catch::Contains("crashing"));
  c.last_error = "duchy worker2 was unreachable";
  CHECK_THAT(*OverAttempted(c, 3, "worker1"), Catch::Contains("duchy worker2 was unreachable"));
}

}  // namespace
}  // namespace halo::duchy
