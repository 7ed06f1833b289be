// A deterministic stream of pseudorandom bytes from a 32-byte seed: the
// ChaCha20 keystream (RFC 8439) with the seed as key, an all-zero nonce and
// the block counter starting at 0. Two parties holding one seed expand the
// same secret share or permutation from it. Not thread-safe; cheap to create.
#ifndef HALO_CRYPTO_SEEDED_PRNG_H_
#define HALO_CRYPTO_SEEDED_PRNG_H_

#include <array>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "halo/crypto/random.h"

namespace halo::crypto {

class SeededPrng : public RandomSource {
 public:
  static constexpr size_t kSeedBytes = 32;

  // Refuses seeds that are not exactly 32 bytes.
  static absl::StatusOr<SeededPrng> Create(absl::string_view seed);
  static std::string GenerateSeed();

  // The next bytes of the keystream.
  void Fill(absl::Span<uint8_t> out);
  std::string NextBytes(size_t size);
  uint64_t NextUint64() override;
  // Blocks left before the 32-bit block counter would wrap.
  uint64_t BlocksLeft() const;

 private:
  explicit SeededPrng(absl::string_view seed);
  void Refill();

  static constexpr size_t kBufferBytes = 4096;
  std::array<uint8_t, kSeedBytes> key_;
  uint64_t next_block_ = 0;
  std::array<uint8_t, kBufferBytes> buffer_;
  size_t buffer_pos_ = kBufferBytes;
};

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_SEEDED_PRNG_H_
