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

#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
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

// A share too large to pass as one message (300M slots at US scale), in
// slot order: each call gives the next piece, nullopt after the last.
using SharePieces = std::function<absl::StatusOr<std::optional<std::string>>()>;
// Takes a stage's output piece by piece, in order.
using ShareSink = std::function<absl::Status(absl::string_view piece)>;

// The shuffle phase as the mill runs it: the shares in `request` (seeds, or
// data in memory) and those `data_shares` yield; the shuffled share goes to
// `output`. Holds two bytes a slot (the working sum, then the shuffled share)
// and a few MiB more. Returns the CPU time in microseconds.
absl::StatusOr<int64_t> StreamShufflePhase(const ShufflePhaseRequest& request,
                                           absl::Span<const SharePieces> data_shares,
                                           const ShareSink& output);
// The aggregation phase over shares read piece by piece; the request's
// first_share and second_share are ignored. Holds a few MiB.
absl::StatusOr<AggregationPhaseResponse> StreamAggregationPhase(const AggregationPhaseRequest& request,
                                                                const SharePieces& first_share,
                                                                const SharePieces& second_share);

// Byte-level entry points for the mill: parse, refuse another stage's bytes
// (wrong stage marker or unknown fields), run, serialize.
absl::StatusOr<std::string> RunShufflePhase(absl::string_view request_bytes);
absl::StatusOr<std::string> RunAggregationPhase(absl::string_view request_bytes);

}  // namespace halo::protocol::hmss

#endif  // HALO_PROTOCOL_HMSS_H_
