// Honest Majority Share Shuffle (HMSS) as pure stage functions: requests in,
// responses out, no I/O. The daemons move the bytes between the parties.
//
//  Setup: each worker draws a seed half; both derive the common seed.
//  Shuffle (each worker): expand and sum its EDP shares, append two noise
//    blocks, apply the common secret permutation, re-mask, send to the
//    aggregator.
//  Aggregation (aggregator): add the two shares, take the histogram of
//    values, remove the noise offsets.
// Every input is checked; a bad one is refused with INVALID_ARGUMENT naming
// it. Randomness for noise comes from the operating system.
#ifndef HALO_PROTOCOL_HMSS_H_
#define HALO_PROTOCOL_HMSS_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/protocol/hmss.pb.h"

namespace halo::protocol::hmss {

// A fresh 32-byte seed half for setup.
std::string GenerateSeedHalf();
// SHA-256 over a label and both halves, FIRST's first. Refuses halves that
// are not 32 bytes.
absl::StatusOr<std::string> DeriveCommonSeed(absl::string_view first_half,
                                             absl::string_view second_half);

// The number of noise slots each worker appends (one block), for parameters.
absl::StatusOr<uint64_t> NoiseBlockSize(const HmssParameters& parameters);

absl::StatusOr<ShufflePhaseResponse> CompleteShufflePhase(const ShufflePhaseRequest& request);
absl::StatusOr<AggregationPhaseResponse> CompleteAggregationPhase(
    const AggregationPhaseRequest& request);

// Byte-level entry points for the mill: parse, refuse another stage's bytes
// (wrong stage marker or unknown fields), run, serialize.
absl::StatusOr<std::string> RunShufflePhase(absl::string_view request_bytes);
absl::StatusOr<std::string> RunAggregationPhase(absl::string_view request_bytes);

}  // namespace halo::protocol::hmss

#endif  // HALO_PROTOCOL_HMSS_H_
