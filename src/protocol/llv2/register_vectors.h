// Register vectors as the LLv2 stages carry them: records of one or more
// ElGamal ciphertexts, each 130 bytes uncompressed (no square roots to
// decode). Stages stream records through a transform into their (shuffled)
// places, holding only the bytes in and out.
#ifndef HALO_SRC_PROTOCOL_LLV2_REGISTER_VECTORS_H_
#define HALO_SRC_PROTOCOL_LLV2_REGISTER_VECTORS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "halo/crypto/elgamal.h"
#include "halo/crypto/random.h"
#include "halo/protocol/reach_only_llv2.pb.h"
#include "halo/protocol/register_vector_stream.h"

namespace halo::protocol::llv2::internal {

inline constexpr size_t kBytesPerCiphertext = 2 * crypto::kUncompressedPointBytes;

// Refuses a request meant for another stage, naming both.
absl::Status CheckStage(Stage actual, Stage expected);

// Refuses a vector that is not a whole number of `record_bytes` records.
absl::Status CheckWholeRecords(absl::string_view bytes, size_t record_bytes, absl::string_view what);

// A uniformly random permutation of [0, n) from the operating system's
// randomness: where each input record goes in the output.
std::vector<uint32_t> SecurePermutation(size_t n);

// Where a stage's DP noise comes from: the operating system, or a test's
// replay seed; refuses a replay seed that is not 32 bytes, naming it.
absl::StatusOr<std::unique_ptr<crypto::RandomSource>> NoiseSource(absl::string_view replay_seed);

// Record i of `input` (`ciphertexts_per_record` ciphertexts) is decoded,
// passed with i to `transform`, and the `output_record_bytes` it returns are
// written at record destination[i] of `output` (nothing, for 0 bytes). Refuses the first record (lowest
// index) holding a ciphertext that does not decode, naming record and
// ciphertext.
using RecordTransform =
    std::function<std::string(size_t index, absl::Span<const crypto::ElGamalCiphertext> record)>;
// `first_index` is the index of input's first record in a longer vector
// (the transform sees it, and a refusal names it).
absl::Status TransformRecords(absl::string_view input, size_t ciphertexts_per_record,
                              absl::string_view what, absl::Span<const uint32_t> destination,
                              std::string& output, size_t output_record_bytes, int threads,
                              const RecordTransform& transform, size_t first_index = 0);

// The records of all `streams`, refused before any work unless each is a
// whole number of `record_bytes` records ("register_vectors[v]").
absl::StatusOr<size_t> CountStreamedRecords(const std::vector<RegisterVectorStream>& streams, size_t record_bytes);

// TransformRecords over `streams` one after another (record k of them all
// goes to destination[k]), holding at most a few MiB of input at a time.
// Refuses a stream that yields more or fewer bytes than its size.
absl::Status TransformStreamedRecords(std::vector<RegisterVectorStream>& streams, size_t ciphertexts_per_record,
                                      absl::Span<const uint32_t> destination, std::string& output,
                                      size_t output_record_bytes, int threads, const RecordTransform& transform);

// A duchy's key pair from a request's 32-byte secret_key, and a public key
// from its bytes; refusals name the field.
absl::StatusOr<crypto::ElGamalKeyPair> DecodeSecretKey(absl::string_view bytes);
absl::StatusOr<crypto::ElGamalPublicKey> DecodePublicKey(absl::string_view bytes, absl::string_view field);

// Uncompressed encodings of ciphertexts, back to back.
std::string EncodeRecord(absl::Span<const crypto::ElGamalCiphertext> ciphertexts);

// The uncompressed encoding of `c` with `key`'s layer removed, given the
// `encoded` bytes it was decoded from: u is unchanged, so its bytes are
// copied rather than re-encoded (an encoding costs a field inversion).
std::string RemoveLayerEncoded(const crypto::ElGamalKeyPair& key, const crypto::ElGamalCiphertext& c,
                               absl::string_view encoded);

}  // namespace halo::protocol::llv2::internal

#endif  // HALO_SRC_PROTOCOL_LLV2_REGISTER_VECTORS_H_
