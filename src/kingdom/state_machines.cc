#include "state_machines.h"

#include <initializer_list>
#include <utility>

#include "absl/strings/str_cat.h"

namespace halo::kingdom {
namespace {

using api::v1::Computation;
using api::v1::Requisition;
using State = Computation::State;
using ParticipantState = Computation::Participant::State;

template <typename T>
bool Listed(std::initializer_list<std::pair<T, T>> table, T from, T to) {
  for (const auto& [f, t] : table) {
    if (f == from && t == to) return true;
  }
  return false;
}

}  // namespace

bool IsTerminal(State state) {
  return state == Computation::SUCCEEDED || state == Computation::FAILED || state == Computation::CANCELLED;
}

absl::Status CheckMeasurementTransition(State from, State to) {
  const bool allowed =
      (!IsTerminal(from) && from != Computation::STATE_UNSPECIFIED &&
       (to == Computation::FAILED || to == Computation::CANCELLED)) ||
      Listed<State>({{Computation::PENDING_REQUISITION_PARAMS, Computation::PENDING_REQUISITION_FULFILLMENT},
                     {Computation::PENDING_REQUISITION_FULFILLMENT, Computation::PENDING_PARTICIPANT_CONFIRMATION},
                     {Computation::PENDING_REQUISITION_FULFILLMENT, Computation::PENDING_COMPUTATION},
                     {Computation::PENDING_REQUISITION_FULFILLMENT, Computation::SUCCEEDED},
                     {Computation::PENDING_PARTICIPANT_CONFIRMATION, Computation::PENDING_COMPUTATION},
                     {Computation::PENDING_COMPUTATION, Computation::SUCCEEDED}},
                    from, to);
  if (allowed) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("measurement is ", Computation::State_Name(from),
                                                    " and cannot become ", Computation::State_Name(to)));
}

api::v1::Measurement::State PublicState(State state) {
  switch (state) {
    case Computation::PENDING_REQUISITION_PARAMS:
    case Computation::PENDING_REQUISITION_FULFILLMENT:
      return api::v1::Measurement::AWAITING_REQUISITION_FULFILLMENT;
    case Computation::PENDING_PARTICIPANT_CONFIRMATION:
    case Computation::PENDING_COMPUTATION:
      return api::v1::Measurement::COMPUTING;
    case Computation::SUCCEEDED:
      return api::v1::Measurement::SUCCEEDED;
    case Computation::FAILED:
      return api::v1::Measurement::FAILED;
    case Computation::CANCELLED:
      return api::v1::Measurement::CANCELLED;
    default:
      return api::v1::Measurement::STATE_UNSPECIFIED;
  }
}

absl::Status CheckRequisitionTransition(Requisition::State from, Requisition::State to) {
  if (from == Requisition::UNFULFILLED &&
      (to == Requisition::FULFILLED || to == Requisition::REFUSED || to == Requisition::WITHDRAWN)) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(absl::StrCat("requisition is ", Requisition::State_Name(from),
                                                    " and cannot become ", Requisition::State_Name(to)));
}

absl::Status CheckParticipantTransition(ParticipantState from, ParticipantState to) {
  const bool allowed =
      (to == Computation::Participant::FAILED && from != Computation::Participant::FAILED &&
       from != Computation::Participant::STATE_UNSPECIFIED) ||
      Listed<ParticipantState>(
          {{Computation::Participant::CREATED, Computation::Participant::REQUISITION_PARAMS_SET},
           {Computation::Participant::REQUISITION_PARAMS_SET, Computation::Participant::READY}},
          from, to);
  if (allowed) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("participant is ", Computation::Participant::State_Name(from),
                                                    " and cannot become ",
                                                    Computation::Participant::State_Name(to)));
}

}  // namespace halo::kingdom
