// Synthetic event data for demos, tests and benchmarks (`halo edp
// generate`): a campaign audience drawn from a population of VIDs, reached
// by several EDPs with overlap, each reached person seen a random number of
// times, with demographics that filters can select on.
//
// Model: the audience is `audience_size` VIDs spread over [0,
// population_size) by a fixed permutation. EDP e reaches each audience
// member independently with probability reach_probability, so two EDPs
// overlap by about the product of their probabilities. A reached person has
// 1 + Geometric events, each at a uniform time in the campaign window, in one
// of the EDP's event groups, with a watch time of 1 to 60 seconds and a
// viewed fraction. As in a real VID model, VID ranges correlate with
// people: with p = vid /
// population_size, the age is 13 + floor(62 p), the gender "F" or "M" by
// alternate sixteenths of p, and the mean number of events 1 + 2 (m - 1)
// (1 - p) for mean_frequency m (so m on average, more for the young). The
// region ("north", "south", "east", "west") is random per person. A person
// is the same at every EDP. Everything follows from `seed`.
#ifndef HALO_EDP_SYNTHETIC_EVENTS_H_
#define HALO_EDP_SYNTHETIC_EVENTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/edp/events.h"

namespace halo::edp {

struct SyntheticEdp {
  std::string name;  // its files go to {out_dir}/{name}/
  double reach_probability = 0.5;
  std::vector<std::string> event_groups;  // reference ids, at least one
};

struct SyntheticEventsOptions {
  uint64_t population_size = 1'000'000;
  uint64_t audience_size = 100'000;
  std::vector<SyntheticEdp> edps;
  double mean_frequency = 3;
  int64_t start_micros = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z
  int days = 28;
  bool columnar = true;  // .hev, else .csv
  uint64_t rows_per_file = 1'000'000;
  uint64_t seed = 1;
};

struct SyntheticEventsSummary {
  struct Edp {
    std::string name;
    uint64_t reach = 0;
    uint64_t events = 0;
    std::vector<std::string> files;
  };
  std::vector<Edp> edps;
  uint64_t union_reach = 0;    // people reached by any EDP
  uint64_t overlap_reach = 0;  // people reached by two or more
  uint64_t events = 0;
  // histogram[k-1]: people with k events over all EDPs (10 or more last).
  std::vector<uint64_t> histogram;

  std::string ToJson() const;
};

// The schema of generated events: age:int, gender:string, region:string,
// duration_seconds:int, video_ad.viewed_fraction:double (0 to 1 in
// hundredths, uniform).
const EventSchema& SyntheticEventSchema();

// Writes every EDP's files under `out_dir` and `out_dir`/truth.json, the
// summary. Refuses options out of range, naming the option.
absl::StatusOr<SyntheticEventsSummary> WriteSyntheticEvents(const SyntheticEventsOptions& options,
                                                            const std::string& out_dir);

}  // namespace halo::edp

#endif  // HALO_EDP_SYNTHETIC_EVENTS_H_
