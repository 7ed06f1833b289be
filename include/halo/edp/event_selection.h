// Which events a requisition counts, and what they add up to: per event group
// a collection interval and a filter, applied to a stream of event files.
// Everything here streams the files batch by batch; what it keeps grows with
// the people counted, never with the events.
#ifndef HALO_EDP_EVENT_SELECTION_H_
#define HALO_EDP_EVENT_SELECTION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "halo/edp/event_filter.h"
#include "halo/edp/events.h"
#include "halo/sketch/frequency_vector.h"
#include "halo/sketch/liquid_legions.h"
#include "halo/sketch/vid_sampling.h"

namespace halo::edp {

// The events of one event group (by the reference id the files carry) with a
// timestamp in [start_micros, end_micros) that pass the filter.
struct EventGroupSelection {
  std::string reference_id;
  int64_t start_micros = 0;
  int64_t end_micros = 0;
  EventFilter filter;
};

// Calls `visit` with each batch, its file's schema and its rows (ascending)
// that some selection takes; stops at the first error `visit` returns. Refuses, naming file and
// field, a filter over a field that a file lacks (FAILED_PRECONDITION).
absl::Status ScanEvents(absl::Span<const std::string> files, absl::Span<const EventGroupSelection> selections,
                        const std::function<absl::Status(const EventSchema&, const EventBatch&, absl::Span<const uint32_t>)>& visit);

// What one pass over the files left out of a sample: events whose VID is
// not in the population, which no sketch or vector may stand for. The agent
// logs it per requisition.
struct SampleCounts {
  uint64_t outside_population = 0;
};

// A Liquid Legions sketch of the selected events of the VIDs `sampler`
// holds.
absl::StatusOr<sketch::LiquidLegionsSketch> BuildSketch(absl::Span<const std::string> files,
                                                        absl::Span<const EventGroupSelection> selections,
                                                        const sketch::LiquidLegionsParams& params,
                                                        const sketch::VidSampler& sampler, SampleCounts& counts);

// An HMSS frequency vector of the selected events.
absl::StatusOr<sketch::FrequencyVector> BuildFrequencyVector(absl::Span<const std::string> files,
                                                             absl::Span<const EventGroupSelection> selections,
                                                             const sketch::FrequencyVectorSpec& spec,
                                                             SampleCounts& counts);

// Events and watch time per person, over the VIDs a sampler holds: the exact
// figures behind direct measurements, and the ground truth a demo compares
// results with.
class VidTally {
 public:
  explicit VidTally(const sketch::VidSampler& sampler) : sampler_(sampler) {}

  // Adds the selected events of `files`. Watch time is read from an int
  // field "duration_seconds" where a file has one.
  absl::Status Add(absl::Span<const std::string> files, absl::Span<const EventGroupSelection> selections);
  // Adds what `other` tallied (over the same sample), as if its events had
  // been added here: the union of several EDPs from one tally each.
  void Merge(const VidTally& other);

  const sketch::VidSampler& sampler() const { return sampler_; }
  uint64_t Reach() const { return people_.size(); }
  // histogram[k-1]: people with k events, the last bucket k or more.
  std::vector<uint64_t> Histogram(int max_frequency) const;
  // Events, each person's capped at `cap`.
  uint64_t Impressions(uint64_t cap) const;
  // Watch seconds, each person's capped at `cap`; FAILED_PRECONDITION if
  // some selected event came from a file without duration_seconds.
  absl::StatusOr<double> WatchSeconds(double cap) const;
  const SampleCounts& counts() const { return counts_; }

 private:
  struct Person {
    uint64_t events = 0;
    double seconds = 0;
  };
  sketch::VidSampler sampler_;
  absl::flat_hash_map<uint64_t, Person> people_;
  bool lacks_duration_ = false;
  SampleCounts counts_;
};

}  // namespace halo::edp

#endif  // HALO_EDP_EVENT_SELECTION_H_
