#include "halo/duchy/stage_plan.h"

#include <catch2/catch.hpp>

#include <map>

namespace halo::duchy {
namespace {

using namespace v1;
using api::v1::Protocol;

std::vector<ComputationStage> Stages(const std::vector<StageStep>& plan) {
  std::vector<ComputationStage> out;
  for (const auto& s : plan) out.push_back(s.stage);
  return out;
}

TEST_CASE("Stage paths follow the reference") {
  CHECK(Stages(*StagePlan(api::v1::LIQUID_LEGIONS_V2, 2, 3)) ==
        std::vector<ComputationStage>{INITIALIZATION_PHASE, WAIT_REQUISITIONS_AND_KEY_SET, CONFIRMATION_PHASE,
                                      WAIT_TO_START, WAIT_SETUP_PHASE_INPUTS, SETUP_PHASE,
                                      WAIT_EXECUTION_PHASE_ONE_INPUTS, EXECUTION_PHASE_ONE,
                                      WAIT_EXECUTION_PHASE_TWO_INPUTS, EXECUTION_PHASE_TWO,
                                      WAIT_EXECUTION_PHASE_THREE_INPUTS, EXECUTION_PHASE_THREE});
  CHECK(Stages(*StagePlan(api::v1::HONEST_MAJORITY_SHARE_SHUFFLE, 0, 3)) ==
        std::vector<ComputationStage>{INITIALIZED, WAIT_TO_START, SETUP_PHASE, WAIT_ON_SHUFFLE_INPUT_PHASE_TWO,
                                      SHUFFLE_PHASE});
  CHECK(Stages(*StagePlan(api::v1::HONEST_MAJORITY_SHARE_SHUFFLE, 1, 3)) ==
        std::vector<ComputationStage>{INITIALIZED, WAIT_ON_SHUFFLE_INPUT_PHASE_ONE, SETUP_PHASE, SHUFFLE_PHASE});
  CHECK(Stages(*StagePlan(api::v1::HONEST_MAJORITY_SHARE_SHUFFLE, 2, 3)) ==
        std::vector<ComputationStage>{INITIALIZED, WAIT_ON_AGGREGATION_INPUT, AGGREGATION_PHASE});
  const auto reach_only = *StagePlan(api::v1::REACH_ONLY_LIQUID_LEGIONS_V2, 0, 4);
  CHECK(reach_only.back().stage == EXECUTION_PHASE_ONE);
  CHECK(reach_only.back().send_to == 1);
}

TEST_CASE("Plans refuse what no duchy runs") {
  CHECK(absl::IsInvalidArgument(StagePlan(api::v1::DIRECT, 0, 3).status()));
  CHECK(absl::IsInvalidArgument(StagePlan(api::v1::HONEST_MAJORITY_SHARE_SHUFFLE, 0, 4).status()));
  CHECK(absl::IsInvalidArgument(StagePlan(api::v1::LIQUID_LEGIONS_V2, 0, 2).status()));
  CHECK(absl::IsInvalidArgument(StagePlan(api::v1::LIQUID_LEGIONS_V2, 3, 3).status()));
}

TEST_CASE("Every output goes to a stage that waits for it, and every wait is for exactly what is sent") {
  for (Protocol protocol : {api::v1::LIQUID_LEGIONS_V2, api::v1::REACH_ONLY_LIQUID_LEGIONS_V2,
                            api::v1::HONEST_MAJORITY_SHARE_SHUFFLE}) {
    for (int k : {3, 4, 5}) {
      if (protocol == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE && k != 3) continue;
      INFO(api::v1::Protocol_Name(protocol) << " on " << k << " duchies");
      std::vector<std::vector<StageStep>> plans;
      for (int p = 0; p < k; ++p) plans.push_back(*StagePlan(protocol, p, k));
      std::map<std::pair<int, ComputationStage>, int> sent;
      for (int p = 0; p < k; ++p) {
        const auto& plan = plans[p];
        for (size_t i = 0; i < plan.size(); ++i) {
          const StageStep& step = plan[i];
          INFO("duchy " << p << " at " << ComputationStage_Name(step.stage));
          // Each step's next is the following step, or COMPLETE at the end.
          CHECK(step.next == (i + 1 < plan.size() ? plan[i + 1].stage : COMPLETE));
          if (step.send_to >= 0) {
            REQUIRE(step.send_to < k);
            CHECK(step.send_to != p);
            CHECK(step.advance == StageStep::Advance::kMill);
            ++sent[{step.send_to, step.send_at}];
          }
        }
        // Only the aggregator ends without sending on: it sets the result.
        CHECK((plan.back().send_to < 0) == (p == k - 1));
      }
      for (int p = 0; p < k; ++p) {
        for (const StageStep& step : plans[p]) {
          INFO("duchy " << p << " at " << ComputationStage_Name(step.stage));
          const int expected = sent[{p, step.stage}];
          if (step.advance == StageStep::Advance::kInputs) {
            CHECK(step.inputs_needed == expected);
          } else {
            CHECK(expected == 0);
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace halo::duchy
