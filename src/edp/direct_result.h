// The result an EDP computes itself for a direct requisition: from the exact
// tally of its sampled VIDs, with DP noise from the spec's privacy params,
// and the standard error the sampling and the noise imply.
#ifndef HALO_SRC_EDP_DIRECT_RESULT_H_
#define HALO_SRC_EDP_DIRECT_RESULT_H_

#include "absl/status/statusor.h"
#include "halo/api/v1/resources.pb.h"
#include "halo/crypto/random.h"
#include "halo/edp/event_selection.h"

namespace halo::edp {

// Reach, reach and frequency, impressions or watch duration. Refuses a
// population measurement and privacy params the mechanism cannot meet
// (INVALID_ARGUMENT naming them).
absl::StatusOr<api::v1::MeasurementResult> ComputeDirectResult(const api::v1::MeasurementSpec& spec,
                                                              api::v1::NoiseMechanism mechanism,
                                                              const VidTally& tally, crypto::RandomSource& random);

}  // namespace halo::edp

#endif  // HALO_SRC_EDP_DIRECT_RESULT_H_
