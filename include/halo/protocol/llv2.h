// Liquid Legions v2 (reach and frequency) stage functions. A register is
// three ElGamal ciphertexts under the duchies' combined key:
//   index: H(i), the register index hashed to the curve (IndexPoint);
//   key:   H(fingerprint), so equal keys give equal points and nothing else
//          relates two keys;
//   count: count * U, with U a point hashed to the curve, whose discrete log
//          nobody knows.
// A register the EDP's own sketch destroyed (two of its VIDs in it) carries
// the constant DestroyedKey() as key and count, which same-key aggregation
// recognises.
// So far: the EDP's encryption, initialization, setup with register noise,
// and execution phase one at the non-aggregators and at the aggregator.
// Phases two and three follow.
#ifndef HALO_PROTOCOL_LLV2_H_
#define HALO_PROTOCOL_LLV2_H_

#include <string>

#include "absl/status/statusor.h"
#include "halo/crypto/elgamal.h"
#include "halo/protocol/llv2.pb.h"
#include "halo/sketch/liquid_legions.h"

namespace halo::protocol::llv2 {

inline constexpr size_t kCiphertextsPerRegister = 3;
inline constexpr size_t kBytesPerFullRegister = kCiphertextsPerRegister * 2 * crypto::kUncompressedPointBytes;

crypto::EcPoint KeyPoint(uint64_t fingerprint);
const crypto::EcPoint& CountUnit();
const crypto::EcPoint& DestroyedKey();
// The key of blinded-histogram noise registers.
const crypto::EcPoint& BlindedHistogramKey();

inline constexpr size_t kBytesPerFlagCountTuple = 4 * 2 * crypto::kUncompressedPointBytes;

// Encrypts every active register of a sketch.
absl::StatusOr<std::string> EncryptSketch(const sketch::LiquidLegionsSketch& sketch,
                                          const crypto::ElGamalPublicKey& combined_key, int parallelism);

// The constant indexes of publisher-noise and padding registers.
const crypto::EcPoint& PublisherNoiseIndex();
const crypto::EcPoint& PaddingIndex();

// How many registers each kind of setup noise adds at one duchy, at most,
// and the fixed total it pads to.
struct SetupNoiseBounds {
  int64_t blinded_histogram_shift = 0;  // per group size k: shift + X groups of k registers
  int64_t publisher_shift = 0;
  int64_t global_reach_shift = 0;
  int64_t total_registers = 0;          // what every duchy adds, padding included
};
absl::StatusOr<SetupNoiseBounds> SetupNoise(const RegisterNoiseParameters& noise);

// Every duchy: passes its input registers through and adds, shuffled with
// them, encrypted under the combined key:
//  - blinded-histogram noise: for each k in 1..total_sketches_count,
//    shift + X fresh indexes with k registers each, keyed BlindedHistogramKey();
//  - publisher noise: shift + X registers at PublisherNoiseIndex(), random keys;
//  - global reach noise: shift + X fresh indexes keyed DestroyedKey();
//  - padding at PaddingIndex(), random keys, up to a fixed total, so the
//    number added reveals none of the noise.
// Mechanism NONE adds nothing (tests only).
absl::StatusOr<SetupPhaseResponse> CompleteSetupPhase(const SetupPhaseRequest& request);

absl::StatusOr<InitializationPhaseResponse> CompleteInitializationPhase(
    const InitializationPhaseRequest& request);

// At a non-aggregator: removes this duchy's layer from each index and adds a
// fresh Pohlig-Hellman blinding; re-randomises key and count under the
// combined key; shuffles whole registers.
absl::StatusOr<ExecutionPhaseOneResponse> CompleteExecutionPhaseOne(const ExecutionPhaseOneRequest& request);

// At the aggregator: decrypts the blinded indexes, groups registers by them,
// and turns each group of at most total_sketches_count registers into a
// (flag_a, flag_b, flag_c, count) tuple under the combined key (same-key
// aggregation):
//   flag_a = sum_i r_i (K_i - K_0)          identity iff every key is equal
//   count  = sum_i C_i + r flag_a           the group's count iff flag_a is
//   flag_b = r' (D + flag_a - K_0)          identity iff the keys are all D
//   flag_c = r'' (B + flag_a - K_0)         identity iff the keys are all B
// with D = DestroyedKey(), B = BlindedHistogramKey() and fresh r's a group.
absl::StatusOr<ExecutionPhaseOneAtAggregatorResponse> CompleteExecutionPhaseOneAtAggregator(
    const ExecutionPhaseOneAtAggregatorRequest& request);

}  // namespace halo::protocol::llv2

#endif  // HALO_PROTOCOL_LLV2_H_
