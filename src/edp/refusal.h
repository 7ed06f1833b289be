// A refusal travels as an error status carrying its justification, so that
// every check can return StatusOr and the agent decides at one place whether
// to refuse the requisition (a status with a justification) or try it again
// later (any other error: the Kingdom or a duchy could not be reached).
#ifndef HALO_SRC_EDP_REFUSAL_H_
#define HALO_SRC_EDP_REFUSAL_H_

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "halo/api/v1/resources.pb.h"

namespace halo::edp {

using Justification = api::v1::Requisition::Refusal::Justification;

// FAILED_PRECONDITION with `message`, marked to be refused with `why`.
absl::Status Refuse(Justification why, absl::string_view message);
// `status` marked to be refused with `why`, its message kept.
absl::Status RefuseWith(Justification why, const absl::Status& status);
// The refusal a status carries, if any.
std::optional<api::v1::Requisition::Refusal> RefusalOf(const absl::Status& status);

}  // namespace halo::edp

#endif  // HALO_SRC_EDP_REFUSAL_H_
