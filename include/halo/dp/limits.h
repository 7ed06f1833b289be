// Bounds on what a measurement may ask, so that no allocation a party makes
// from another party's request is unbounded. The Kingdom refuses a
// measurement beyond them at creation; each duchy and EDP checks them again
// before it allocates, since a request may not come from an honest Kingdom.
#ifndef HALO_DP_LIMITS_H_
#define HALO_DP_LIMITS_H_

#include <cstdint>

namespace halo::dp {

// A reach-and-frequency measurement's maximum_frequency.
inline constexpr int kMaxFrequency = 100;
// Noise records (registers or tuples) one duchy adds in one stage: 2^22,
// about 1.6 GB of LLv2 registers.
inline constexpr int64_t kMaxNoiseRecords = int64_t{1} << 22;
// The sigma or scale of any noise: beyond it the padding alone would pass
// kMaxNoiseRecords.
inline constexpr double kMaxNoiseParameter = 1 << 20;
// Data providers in one measurement.
inline constexpr int kMaxDataProviders = 64;

}  // namespace halo::dp

#endif  // HALO_DP_LIMITS_H_
