#include "refusal.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace halo::edp {
namespace {
constexpr char kPayload[] = "type.halo/edp.refusal";
}  // namespace

absl::Status Refuse(Justification why, absl::string_view message) {
  return RefuseWith(why, absl::FailedPreconditionError(message));
}

absl::Status RefuseWith(Justification why, const absl::Status& status) {
  absl::Status marked = status.ok() ? absl::UnknownError("refused") : status;
  marked.SetPayload(kPayload, absl::Cord(absl::StrCat(static_cast<int>(why))));
  return marked;
}

std::optional<api::v1::Requisition::Refusal> RefusalOf(const absl::Status& status) {
  const auto payload = status.GetPayload(kPayload);
  int why = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &why)) return std::nullopt;
  api::v1::Requisition::Refusal refusal;
  refusal.set_justification(static_cast<Justification>(why));
  refusal.set_message(std::string(status.message()));
  return refusal;
}

}  // namespace halo::edp
