// Measurements an EDP computes itself from its own events (before adding DP
// noise): reach from the exact VID set, impressions with a per-person
// frequency cap, and watch duration with a per-person cap. All respect a VID
// sampling interval over a population, like frequency vectors.
#ifndef HALO_SKETCH_DIRECT_MEASUREMENT_H_
#define HALO_SKETCH_DIRECT_MEASUREMENT_H_

#include <cstdint>

#include "absl/types/span.h"
#include "halo/sketch/frequency_vector.h"
#include "halo/sketch/liquid_legions.h"

namespace halo::sketch {

struct DurationEvent {
  uint64_t vid = 0;
  double seconds = 0;
};

// Distinct VIDs in the interval.
uint64_t DirectReach(absl::Span<const VidEvent> events, const FrequencyVectorSpec& spec);
// Sum over VIDs in the interval of min(events, cap).
uint64_t DirectImpressions(absl::Span<const VidEvent> events, const FrequencyVectorSpec& spec,
                           uint64_t frequency_cap);
// Sum over VIDs in the interval of min(seconds watched, cap); negative
// durations count as zero.
double DirectWatchDuration(absl::Span<const DurationEvent> events, const FrequencyVectorSpec& spec,
                           double cap_seconds);

}  // namespace halo::sketch

#endif  // HALO_SKETCH_DIRECT_MEASUREMENT_H_
