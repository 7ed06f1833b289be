// Secure random bytes from libsodium (getrandom(2) underneath).
#ifndef HALO_CRYPTO_RANDOM_H_
#define HALO_CRYPTO_RANDOM_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo::crypto {

std::string SecureRandomBytes(size_t size);
uint64_t SecureRandomUint64();

// A source of uniform 64-bit values. Samplers take one so that tests can fix
// the seed (SeededPrng) and production uses SecureRandomSource.
class RandomSource {
 public:
  virtual ~RandomSource() = default;
  virtual uint64_t NextUint64() = 0;
  // Uniform in [0, bound) by rejection; bound must be > 0.
  uint64_t UniformBelow(uint64_t bound);
  // Uniform in [0, 1) with 53 random bits.
  double UniformDouble();
};

// A RandomSource that is secure: the ChaCha20 keystream under a key drawn
// from the operating system, re-keyed before its counter could wrap. Not
// thread-safe; make one per thread.
std::unique_ptr<RandomSource> NewSecureRandomSource();

// NewSecureRandomSource() when `replay_seed` is empty; otherwise the
// deterministic stream of that 32-byte seed, which only tests set so that a
// run replays (see halo/api/replay_seed.h). Refuses a seed of another size.
absl::StatusOr<std::unique_ptr<RandomSource>> NewRandomSource(absl::string_view replay_seed);

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_RANDOM_H_
