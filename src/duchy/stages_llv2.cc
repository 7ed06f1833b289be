#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/protocol/llv2.h"
#include "halo/protocol/reach_only_llv2.h"
#include "stages.h"

namespace halo::duchy {

absl::Status CheckRegisterVectorUpload(const api::v1::Computation& computation, absl::string_view upload) {
  const bool reach_only = computation.protocol_config().protocol() == api::v1::REACH_ONLY_LIQUID_LEGIONS_V2;
  const size_t register_bytes =
      reach_only ? protocol::llv2::kBytesPerRegister : protocol::llv2::kBytesPerFullRegister;
  if (upload.size() % register_bytes != 0) {
    return absl::InvalidArgumentError(absl::StrCat("the register vector is ", upload.size(),
                                                   " bytes, not a whole number of ", register_bytes, "-byte registers"));
  }
  if (upload.size() / register_bytes > static_cast<size_t>(computation.protocol_config().sketch_size())) {
    return absl::InvalidArgumentError(absl::StrCat("the register vector has ", upload.size() / register_bytes,
                                                   " registers, more than the sketch's ",
                                                   computation.protocol_config().sketch_size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RunLlv2Stage(StageRun& run) {
  // The LLv2 mill stages come next; until then a duchy says so plainly
  // rather than computing anything.
  return absl::UnimplementedError(absl::StrCat("duchy ", run.duchy.duchy_id(), " does not yet run ",
                                               api::v1::Protocol_Name(run.known.protocol_config().protocol()),
                                               " stage ", v1::ComputationStage_Name(run.claimed.stage)));
}

}  // namespace halo::duchy
