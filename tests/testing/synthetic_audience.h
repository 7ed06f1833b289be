// Synthetic campaign audiences with known truth, for accuracy tests and
// reports: a union of distinct VIDs spread over several EDPs with overlap,
// each reached one or more times.
#ifndef HALO_TESTS_TESTING_SYNTHETIC_AUDIENCE_H_
#define HALO_TESTS_TESTING_SYNTHETIC_AUDIENCE_H_

#include <cstdint>
#include <vector>

#include "halo/crypto/random.h"
#include "halo/sketch/liquid_legions.h"

namespace halo::testing {

struct Audience {
  std::vector<std::vector<sketch::VidEvent>> events_by_edp;
  uint64_t union_reach = 0;
  // union_frequency[k-1]: people reached k times in all (last: max or more).
  std::vector<uint64_t> union_frequency;
};

// `union_reach` random 64-bit VIDs (or, with population_size > 0, distinct
// VIDs below it); each belongs to one EDP chosen at random and to each other
// EDP with probability `overlap`; at each EDP it has 1 + Geometric(1/2)
// events.
Audience MakeAudience(uint64_t union_reach, int edps, double overlap, int max_frequency,
                      crypto::RandomSource& random, uint64_t population_size = 0);

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_SYNTHETIC_AUDIENCE_H_
