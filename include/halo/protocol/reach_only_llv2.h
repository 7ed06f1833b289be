// Reach-only Liquid Legions v2 as pure stage functions.
//
//  EDP: EncryptReachOnlySketch turns each active register index i into the
//    point H(i) (RFC 9380 hash-to-curve, so no two index points have a known
//    relation) encrypted under the duchies' combined key.
//  Setup (every duchy): concatenate its inputs, add reach-noise registers with
//    fresh random index points and padding registers with one shared padding
//    point (so each duchy adds a fixed number of registers), shuffle. The
//    aggregator's inputs include the other duchies' setup outputs.
//  Execution (non-aggregators, in ring order): remove own ElGamal layer and
//    raise every ciphertext to a fresh secret exponent (Pohlig-Hellman
//    blinding), shuffle.
//  Aggregation (the aggregator, last): decrypt to the fully blinded index
//    points, count the distinct ones, subtract the known noise offsets, and
//    estimate reach with its standard error.
#ifndef HALO_PROTOCOL_REACH_ONLY_LLV2_H_
#define HALO_PROTOCOL_REACH_ONLY_LLV2_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/crypto/elgamal.h"
#include "halo/protocol/reach_only_llv2.pb.h"
#include "halo/protocol/register_vector_stream.h"
#include "halo/sketch/liquid_legions.h"

namespace halo::protocol::llv2 {

inline constexpr size_t kBytesPerRegister = 2 * crypto::kUncompressedPointBytes;

// The point an index stands for.
crypto::EcPoint IndexPoint(uint32_t index);

absl::StatusOr<std::string> EncryptReachOnlySketch(const sketch::LiquidLegionsSketch& sketch,
                                                   const crypto::ElGamalPublicKey& combined_key,
                                                   int parallelism);

// The noise registers each duchy adds in setup (shift + X, padded to
// 2 shift + 1). Refuses parameters that would add more than
// dp::kMaxNoiseRecords.
absl::StatusOr<int64_t> ReachNoiseRegisters(const ReachNoiseParameters& noise);

absl::StatusOr<ReachOnlySetupPhaseResponse> CompleteReachOnlySetupPhase(
    const ReachOnlySetupPhaseRequest& request);
// The same with the register vectors read from `register_vectors` as it
// goes (the request carries none), so no whole upload is held in memory.
absl::StatusOr<ReachOnlySetupPhaseResponse> CompleteReachOnlySetupPhase(
    const ReachOnlySetupPhaseRequest& request, std::vector<RegisterVectorStream> register_vectors);
absl::StatusOr<ReachOnlyExecutionPhaseResponse> CompleteReachOnlyExecutionPhase(
    const ReachOnlyExecutionPhaseRequest& request);
absl::StatusOr<ReachOnlyAggregationResponse> CompleteReachOnlyExecutionPhaseAtAggregator(
    const ReachOnlyAggregationRequest& request);

}  // namespace halo::protocol::llv2

#endif  // HALO_PROTOCOL_REACH_ONLY_LLV2_H_
