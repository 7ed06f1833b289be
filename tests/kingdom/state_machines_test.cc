#include "state_machines.h"

#include <catch2/catch.hpp>

namespace halo::kingdom {
namespace {

using api::v1::Computation;
using api::v1::Requisition;

TEST_CASE("Only the listed measurement transitions are legal") {
  const Computation::State all[] = {Computation::PENDING_REQUISITION_PARAMS, Computation::PENDING_REQUISITION_FULFILLMENT,
                                    Computation::PENDING_PARTICIPANT_CONFIRMATION, Computation::PENDING_COMPUTATION,
                                    Computation::SUCCEEDED, Computation::FAILED, Computation::CANCELLED};
  int legal = 0;
  for (auto from : all) {
    for (auto to : all) legal += CheckMeasurementTransition(from, to).ok();
  }
  // 6 forward moves, and FAILED or CANCELLED from each of 4 pending states.
  CHECK(legal == 6 + 8);
  CHECK(CheckMeasurementTransition(Computation::PENDING_COMPUTATION, Computation::SUCCEEDED).ok());
  CHECK(absl::IsFailedPrecondition(CheckMeasurementTransition(Computation::SUCCEEDED, Computation::CANCELLED)));
  CHECK(absl::IsFailedPrecondition(
      CheckMeasurementTransition(Computation::PENDING_REQUISITION_PARAMS, Computation::PENDING_COMPUTATION)));
  CHECK(PublicState(Computation::PENDING_PARTICIPANT_CONFIRMATION) == api::v1::Measurement::COMPUTING);
  CHECK(PublicState(Computation::PENDING_REQUISITION_PARAMS) == api::v1::Measurement::AWAITING_REQUISITION_FULFILLMENT);
}

TEST_CASE("Requisitions and participants move only forward") {
  CHECK(CheckRequisitionTransition(Requisition::UNFULFILLED, Requisition::FULFILLED).ok());
  CHECK_FALSE(CheckRequisitionTransition(Requisition::FULFILLED, Requisition::FULFILLED).ok());
  CHECK_FALSE(CheckRequisitionTransition(Requisition::WITHDRAWN, Requisition::REFUSED).ok());
  CHECK(CheckParticipantTransition(Computation::Participant::CREATED, Computation::Participant::REQUISITION_PARAMS_SET).ok());
  CHECK_FALSE(CheckParticipantTransition(Computation::Participant::CREATED, Computation::Participant::READY).ok());
  CHECK(CheckParticipantTransition(Computation::Participant::READY, Computation::Participant::FAILED).ok());
  CHECK_FALSE(CheckParticipantTransition(Computation::Participant::FAILED, Computation::Participant::FAILED).ok());
}

}  // namespace
}  // namespace halo::kingdom
