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
// Stages: the EDP's encryption, initialization, setup with register noise,
// and execution phases one, two and three at the non-aggregators and at the
// aggregator.
#ifndef HALO_PROTOCOL_LLV2_H_
#define HALO_PROTOCOL_LLV2_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/crypto/elgamal.h"
#include "halo/protocol/llv2.pb.h"
#include "halo/protocol/register_vector_stream.h"
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
  double global_reach_variance = 0;     // of the reach noise summed over duchies
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
// The same with the register vectors read from `register_vectors` as it
// goes (the request carries none), so no whole upload is held in memory.
absl::StatusOr<SetupPhaseResponse> CompleteSetupPhase(const SetupPhaseRequest& request,
                                                      std::vector<RegisterVectorStream> register_vectors);

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

// The flag-count tuples each non-aggregator adds in phase two (a fixed
// number), the per-bucket noise offset and its variance.
struct FlagCountNoiseBounds {
  int64_t frequency_shift = 0;
  int64_t tuples_per_duchy = 0;
  double bucket_variance = 0;
};
absl::StatusOr<FlagCountNoiseBounds> FlagCountNoise(const FlagCountNoiseParameters& noise);

// Phase two at a non-aggregator: removes its layer from the three flags,
// re-randomises each count under the combined key, adds noise tuples with
// flags under the partial composite key (frequency (0, R, R | f U) for each
// f, destroyed (R, R, R | R), padding (0, 0, R | R) to a fixed number), and
// shuffles.
absl::StatusOr<ExecutionPhaseTwoResponse> CompleteExecutionPhaseTwo(const ExecutionPhaseTwoRequest& request);

// Phase two at the aggregator: decrypts the flags. Reach counts every tuple
// except blinded-histogram noise (flag_a = flag_c = 0), less the fixed
// phase-two noise and the setup reach-noise offsets. Tuples whose keys all
// agreed (flag_a = 0, flag_b and flag_c not) give the same-key-aggregator
// matrix for phase three.
absl::StatusOr<ExecutionPhaseTwoAtAggregatorResponse> CompleteExecutionPhaseTwoAtAggregator(
    const ExecutionPhaseTwoAtAggregatorRequest& request);

// Phase three at a non-aggregator: removes its layer from the matrix.
absl::StatusOr<ExecutionPhaseThreeResponse> CompleteExecutionPhaseThree(const ExecutionPhaseThreeRequest& request);

// Phase three at the aggregator: a row whose entry v decrypts to the identity
// is frequency v, a row with none is maximum_frequency or more; the histogram
// less the frequency-noise offsets.
absl::StatusOr<ExecutionPhaseThreeAtAggregatorResponse> CompleteExecutionPhaseThreeAtAggregator(
    const ExecutionPhaseThreeAtAggregatorRequest& request);

}  // namespace halo::protocol::llv2

#endif  // HALO_PROTOCOL_LLV2_H_
