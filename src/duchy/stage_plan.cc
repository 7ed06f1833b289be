#include "halo/duchy/stage_plan.h"

#include "absl/strings/str_cat.h"

namespace halo::duchy {
namespace {

using Advance = StageStep::Advance;
using namespace v1;

StageStep Mill(ComputationStage stage, ComputationStage next, int send_to = -1,
               ComputationStage send_at = COMPUTATION_STAGE_UNSPECIFIED) {
  return {stage, Advance::kMill, 0, send_to, send_at, next};
}
StageStep Inputs(ComputationStage stage, int needed, ComputationStage next) {
  return {stage, Advance::kInputs, needed, -1, COMPUTATION_STAGE_UNSPECIFIED, next};
}
StageStep Kingdom(ComputationStage stage, ComputationStage next) {
  return {stage, Advance::kKingdom, 0, -1, COMPUTATION_STAGE_UNSPECIFIED, next};
}

// Full and reach-only LLv2: a key each, confirmation, setup at every duchy
// gathered by the aggregator, then each execution phase around the ring
// from the first duchy to the aggregator.
std::vector<StageStep> Llv2Plan(int position, int k, int execution_phases) {
  const int aggregator = k - 1;
  const bool is_aggregator = position == aggregator;
  const int next_in_ring = is_aggregator ? 0 : position + 1;
  std::vector<StageStep> plan = {
      Mill(INITIALIZATION_PHASE, WAIT_REQUISITIONS_AND_KEY_SET),
      Kingdom(WAIT_REQUISITIONS_AND_KEY_SET, CONFIRMATION_PHASE),
      Mill(CONFIRMATION_PHASE, WAIT_TO_START),
  };
  const ComputationStage waits[] = {WAIT_EXECUTION_PHASE_ONE_INPUTS, WAIT_EXECUTION_PHASE_TWO_INPUTS,
                                    WAIT_EXECUTION_PHASE_THREE_INPUTS};
  const ComputationStage phases[] = {EXECUTION_PHASE_ONE, EXECUTION_PHASE_TWO, EXECUTION_PHASE_THREE};
  if (is_aggregator) {
    plan.push_back(Kingdom(WAIT_TO_START, WAIT_SETUP_PHASE_INPUTS));
    plan.push_back(Inputs(WAIT_SETUP_PHASE_INPUTS, k - 1, SETUP_PHASE));
    plan.push_back(Mill(SETUP_PHASE, waits[0], 0, waits[0]));
  } else {
    plan.push_back(Kingdom(WAIT_TO_START, SETUP_PHASE));
    plan.push_back(Mill(SETUP_PHASE, waits[0], aggregator, WAIT_SETUP_PHASE_INPUTS));
  }
  for (int phase = 0; phase < execution_phases; ++phase) {
    const bool last = phase + 1 == execution_phases;
    plan.push_back(Inputs(waits[phase], 1, phases[phase]));
    const ComputationStage after = last ? COMPLETE : waits[phase + 1];
    if (!is_aggregator) {
      plan.push_back(Mill(phases[phase], after, next_in_ring, waits[phase]));
    } else if (!last) {
      // The aggregator starts the next phase's round at the first duchy.
      plan.push_back(Mill(phases[phase], after, 0, waits[phase + 1]));
    } else {
      plan.push_back(Mill(phases[phase], COMPLETE));
    }
  }
  return plan;
}

// HMSS: worker1 and worker2 exchange seeds in setup, each shuffles and
// sends its share to the aggregator, which aggregates.
std::vector<StageStep> HmssPlan(int position) {
  switch (position) {
    case 0:
      return {Mill(INITIALIZED, WAIT_TO_START), Kingdom(WAIT_TO_START, SETUP_PHASE),
              Mill(SETUP_PHASE, WAIT_ON_SHUFFLE_INPUT_PHASE_TWO, 1, WAIT_ON_SHUFFLE_INPUT_PHASE_ONE),
              Inputs(WAIT_ON_SHUFFLE_INPUT_PHASE_TWO, 1, SHUFFLE_PHASE),
              Mill(SHUFFLE_PHASE, COMPLETE, 2, WAIT_ON_AGGREGATION_INPUT)};
    case 1:
      return {Mill(INITIALIZED, WAIT_ON_SHUFFLE_INPUT_PHASE_ONE),
              Inputs(WAIT_ON_SHUFFLE_INPUT_PHASE_ONE, 1, SETUP_PHASE),
              Mill(SETUP_PHASE, SHUFFLE_PHASE, 0, WAIT_ON_SHUFFLE_INPUT_PHASE_TWO),
              Mill(SHUFFLE_PHASE, COMPLETE, 2, WAIT_ON_AGGREGATION_INPUT)};
    default:
      return {Mill(INITIALIZED, WAIT_ON_AGGREGATION_INPUT), Inputs(WAIT_ON_AGGREGATION_INPUT, 2, AGGREGATION_PHASE),
              Mill(AGGREGATION_PHASE, COMPLETE)};
  }
}

}  // namespace

absl::StatusOr<std::vector<StageStep>> StagePlan(api::v1::Protocol protocol, int position, int duchy_count) {
  const bool hmss = protocol == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE;
  if (hmss ? duchy_count != 3 : duchy_count < 3) {
    return absl::InvalidArgumentError(absl::StrCat(api::v1::Protocol_Name(protocol), " cannot run on ", duchy_count,
                                                   " duchies"));
  }
  if (position < 0 || position >= duchy_count) {
    return absl::InvalidArgumentError(absl::StrCat("position ", position, " is outside ", duchy_count, " duchies"));
  }
  switch (protocol) {
    case api::v1::LIQUID_LEGIONS_V2:
      return Llv2Plan(position, duchy_count, 3);
    case api::v1::REACH_ONLY_LIQUID_LEGIONS_V2:
      return Llv2Plan(position, duchy_count, 1);
    case api::v1::HONEST_MAJORITY_SHARE_SHUFFLE:
      return HmssPlan(position);
    default:
      return absl::InvalidArgumentError(absl::StrCat("duchies do not compute ", api::v1::Protocol_Name(protocol)));
  }
}

const StageStep* FindStep(const std::vector<StageStep>& plan, v1::ComputationStage stage) {
  for (const StageStep& step : plan) {
    if (step.stage == stage) return &step;
  }
  return nullptr;
}

InputWait WaitAt(const std::vector<StageStep>& plan, v1::ComputationStage stage) {
  const StageStep* step = FindStep(plan, stage);
  if (step == nullptr || step->advance != StageStep::Advance::kInputs) return {};
  return {step->stage, step->inputs_needed, step->next};
}

bool MillRuns(const std::vector<StageStep>& plan, v1::ComputationStage stage) {
  const StageStep* step = FindStep(plan, stage);
  return step != nullptr && step->advance == StageStep::Advance::kMill;
}

std::vector<v1::ComputationStage> StagesBefore(const std::vector<StageStep>& plan, v1::ComputationStage stage) {
  std::vector<v1::ComputationStage> before;
  for (const StageStep& step : plan) {
    if (step.stage == stage) return before;
    before.push_back(step.stage);
  }
  return {};
}

}  // namespace halo::duchy
