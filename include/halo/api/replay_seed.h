// Randomness that a test can replay. Every party draws DP noise (and the
// Kingdom a measurement's sketch fingerprint seed) from the operating system.
// An in-process test or the demo may instead give each party a test seed
// through its C++ options (never through a config file, so no daemon can be
// run this way); the party then draws each measurement's randomness from a
// seed derived from the test seed, the party, the purpose and the
// measurement's deterministic content, so that every statistical result of
// a test is the same on every run.
#ifndef HALO_API_REPLAY_SEED_H_
#define HALO_API_REPLAY_SEED_H_

#include <string>

#include "absl/strings/string_view.h"
#include "halo/api/v1/resources.pb.h"

namespace halo::api {

// Empty when `test_seed` is empty (use the operating system). Otherwise 32
// bytes: HKDF-SHA-256 of the test seed over the party, the purpose, the
// protocol and the measurement spec without its per-measurement random parts
// (its measurement key and nonce hashes).
std::string ReplaySeed(absl::string_view test_seed, absl::string_view party, absl::string_view purpose,
                       const v1::MeasurementSpec& spec, v1::Protocol protocol);

}  // namespace halo::api

#endif  // HALO_API_REPLAY_SEED_H_
