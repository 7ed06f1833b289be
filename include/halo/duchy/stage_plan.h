// What a duchy does at each stage of a computation, by protocol and by its
// place in the ring: which stages its mill works, which wait for other
// duchies' outputs (and for how many) or for the Kingdom, where each
// output goes. The stage paths of reference/PROTOCOLS.md in one table, so
// the herald, the mill and the ComputationControl server agree.
//
// Reach-only LLv2 has one execution phase; it uses the
// EXECUTION_PHASE_ONE stages.
#ifndef HALO_DUCHY_STAGE_PLAN_H_
#define HALO_DUCHY_STAGE_PLAN_H_

#include <vector>

#include "absl/status/statusor.h"
#include "halo/api/v1/resources.pb.h"
#include "halo/duchy/v1/duchy.pb.h"

namespace halo::duchy {

using v1::ComputationStage;

// A stage that waits for `inputs_needed` inputs, then goes on to `next`.
struct InputWait {
  ComputationStage stage = v1::COMPUTATION_STAGE_UNSPECIFIED;
  int inputs_needed = 0;
  ComputationStage next = v1::COMPUTATION_STAGE_UNSPECIFIED;
};

struct StageStep {
  enum class Advance {
    kMill,     // the mill works this stage, then moves on
    kInputs,   // waits for inputs_needed outputs of other duchies
    kKingdom,  // waits for the herald to see the Kingdom move on
  };
  v1::ComputationStage stage;
  Advance advance;
  int inputs_needed = 0;
  // A mill stage's output: the position of the duchy it goes to and the
  // stage it is an input of there; -1 when it goes to no duchy (the
  // aggregator's last stage sets the result at the Kingdom instead).
  int send_to = -1;
  v1::ComputationStage send_at = v1::COMPUTATION_STAGE_UNSPECIFIED;
  v1::ComputationStage next = v1::COMPLETE;
};

// The steps of the duchy at `position` among `duchy_count` (in ring order,
// the aggregator last; for HMSS worker1, worker2, aggregator), in order.
// INVALID_ARGUMENT for a protocol no duchy runs or a bad position or count.
absl::StatusOr<std::vector<StageStep>> StagePlan(api::v1::Protocol protocol, int position, int duchy_count);

// The step of `stage` in `plan`; nullptr if the plan has no such stage.
const StageStep* FindStep(const std::vector<StageStep>& plan, v1::ComputationStage stage);
// The wait at `stage`, if it is an input wait; a wait of no stage if not.
InputWait WaitAt(const std::vector<StageStep>& plan, v1::ComputationStage stage);
// Whether a mill works `stage`.
bool MillRuns(const std::vector<StageStep>& plan, v1::ComputationStage stage);
// The stages before `stage` in the plan.
std::vector<v1::ComputationStage> StagesBefore(const std::vector<StageStep>& plan, v1::ComputationStage stage);

}  // namespace halo::duchy

#endif  // HALO_DUCHY_STAGE_PLAN_H_
