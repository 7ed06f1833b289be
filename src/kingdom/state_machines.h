// The Kingdom's state machines, written out as tables so that every legal
// move is visible in one place. Anything not listed is FAILED_PRECONDITION.
#ifndef HALO_SRC_KINGDOM_STATE_MACHINES_H_
#define HALO_SRC_KINGDOM_STATE_MACHINES_H_

#include "absl/status/status.h"
#include "halo/api/v1/system.pb.h"

namespace halo::kingdom {

// Measurement (internal computation states):
//   PENDING_REQUISITION_PARAMS -> PENDING_REQUISITION_FULFILLMENT (MPC: every duchy set its key)
//   PENDING_REQUISITION_FULFILLMENT -> PENDING_PARTICIPANT_CONFIRMATION (LLv2, all fulfilled)
//                                   -> PENDING_COMPUTATION (HMSS, all fulfilled)
//                                   -> SUCCEEDED (direct, all fulfilled)
//   PENDING_PARTICIPANT_CONFIRMATION -> PENDING_COMPUTATION (every duchy confirmed)
//   PENDING_COMPUTATION -> SUCCEEDED (the aggregator's result)
//   any non-terminal -> FAILED, CANCELLED
absl::Status CheckMeasurementTransition(api::v1::Computation::State from, api::v1::Computation::State to);
bool IsTerminal(api::v1::Computation::State state);
// The public view folds the internal states.
api::v1::Measurement::State PublicState(api::v1::Computation::State state);

// Requisition: UNFULFILLED -> FULFILLED | REFUSED | WITHDRAWN, all terminal.
absl::Status CheckRequisitionTransition(api::v1::Requisition::State from, api::v1::Requisition::State to);

// Participant: CREATED -> REQUISITION_PARAMS_SET -> READY; any but FAILED -> FAILED.
absl::Status CheckParticipantTransition(api::v1::Computation::Participant::State from,
                                        api::v1::Computation::Participant::State to);

}  // namespace halo::kingdom

#endif  // HALO_SRC_KINGDOM_STATE_MACHINES_H_
