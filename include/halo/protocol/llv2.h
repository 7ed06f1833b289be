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
// So far: the EDP's encryption, initialization, and execution phase one at a
// non-aggregator. Setup noise, phase one at the aggregator and phases two and
// three follow.
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

// Encrypts every active register of a sketch.
absl::StatusOr<std::string> EncryptSketch(const sketch::LiquidLegionsSketch& sketch,
                                          const crypto::ElGamalPublicKey& combined_key, int parallelism);

absl::StatusOr<InitializationPhaseResponse> CompleteInitializationPhase(
    const InitializationPhaseRequest& request);

// At a non-aggregator: removes this duchy's layer from each index and adds a
// fresh Pohlig-Hellman blinding; re-randomises key and count under the
// combined key; shuffles whole registers.
absl::StatusOr<ExecutionPhaseOneResponse> CompleteExecutionPhaseOne(const ExecutionPhaseOneRequest& request);

}  // namespace halo::protocol::llv2

#endif  // HALO_PROTOCOL_LLV2_H_
