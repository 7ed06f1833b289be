#include "testing/synthetic_audience.h"

#include <algorithm>
#include <numeric>

namespace halo::testing {

Audience MakeAudience(uint64_t union_reach, int edps, double overlap, int max_frequency,
                      crypto::RandomSource& random, uint64_t population_size) {
  Audience audience;
  audience.events_by_edp.resize(edps);
  audience.union_reach = union_reach;
  audience.union_frequency.assign(max_frequency, 0);
  std::vector<uint64_t> vids(union_reach);
  if (population_size > 0) {
    // A random subset of the population, by a partial Fisher-Yates shuffle
    // over a virtual array.
    std::vector<uint64_t> population(population_size);
    std::iota(population.begin(), population.end(), 0);
    for (uint64_t i = 0; i < union_reach; ++i) {
      std::swap(population[i], population[i + random.UniformBelow(population_size - i)]);
      vids[i] = population[i];
    }
  } else {
    for (uint64_t& vid : vids) vid = random.NextUint64();
  }
  const uint64_t overlap_threshold = static_cast<uint64_t>(overlap * 0x1p64);
  for (uint64_t vid : vids) {
    const int primary = static_cast<int>(random.UniformBelow(edps));
    uint64_t total = 0;
    for (int edp = 0; edp < edps; ++edp) {
      if (edp != primary && random.NextUint64() >= overlap_threshold) continue;
      uint32_t count = 1;
      while (random.NextUint64() & 1) ++count;
      audience.events_by_edp[edp].push_back({vid, count});
      total += count;
    }
    ++audience.union_frequency[std::min<uint64_t>(total, max_frequency) - 1];
  }
  return audience;
}

}  // namespace halo::testing
