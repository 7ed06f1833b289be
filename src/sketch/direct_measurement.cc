#include "halo/sketch/direct_measurement.h"

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"

namespace halo::sketch {

uint64_t DirectReach(absl::Span<const VidEvent> events, const FrequencyVectorSpec& spec) {
  const SlotMapper slot_of(spec);
  absl::flat_hash_set<uint64_t> seen;
  for (const VidEvent& e : events) {
    if (slot_of(e.vid) < slot_of.slots()) seen.insert(e.vid);
  }
  return seen.size();
}

uint64_t DirectImpressions(absl::Span<const VidEvent> events, const FrequencyVectorSpec& spec,
                           uint64_t frequency_cap) {
  const SlotMapper slot_of(spec);
  absl::flat_hash_map<uint64_t, uint64_t> per_vid;
  for (const VidEvent& e : events) {
    if (slot_of(e.vid) < slot_of.slots()) per_vid[e.vid] += e.count;
  }
  uint64_t total = 0;
  for (const auto& [vid, count] : per_vid) total += std::min(count, frequency_cap);
  return total;
}

double DirectWatchDuration(absl::Span<const DurationEvent> events, const FrequencyVectorSpec& spec,
                           double cap_seconds) {
  const SlotMapper slot_of(spec);
  absl::flat_hash_map<uint64_t, double> per_vid;
  for (const DurationEvent& e : events) {
    if (slot_of(e.vid) < slot_of.slots()) per_vid[e.vid] += std::max(0.0, e.seconds);
  }
  double total = 0;
  for (const auto& [vid, seconds] : per_vid) total += std::min(seconds, cap_seconds);
  return total;
}

}  // namespace halo::sketch
