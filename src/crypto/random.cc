#include "halo/crypto/random.h"

#include <sodium.h>

#include <cstdlib>

#include "halo/crypto/seeded_prng.h"
#include "sodium_init.h"

namespace halo::crypto {

std::string SecureRandomBytes(size_t size) {
  internal::EnsureSodiumInitialized();
  std::string out(size, '\0');
  randombytes_buf(out.data(), out.size());
  return out;
}

uint64_t SecureRandomUint64() {
  internal::EnsureSodiumInitialized();
  uint64_t value;
  randombytes_buf(&value, sizeof(value));
  return value;
}

uint64_t RandomSource::UniformBelow(uint64_t bound) {
  // Reject the top partial range so every residue is equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % bound + 1) % bound;
  uint64_t value;
  do {
    value = NextUint64();
  } while (value > limit);
  return value % bound;
}

double RandomSource::UniformDouble() { return (NextUint64() >> 11) * 0x1.0p-53; }

namespace {

class SecureRandomSource : public RandomSource {
 public:
  SecureRandomSource() { Rekey(); }
  uint64_t NextUint64() override {
    if (prng_->BlocksLeft() < 128) Rekey();
    return prng_->NextUint64();
  }

 private:
  void Rekey() { prng_ = std::make_unique<SeededPrng>(*SeededPrng::Create(SeededPrng::GenerateSeed())); }
  std::unique_ptr<SeededPrng> prng_;
};

}  // namespace

std::unique_ptr<RandomSource> NewSecureRandomSource() {
  return std::make_unique<SecureRandomSource>();
}

absl::StatusOr<std::unique_ptr<RandomSource>> NewRandomSource(absl::string_view replay_seed) {
  if (replay_seed.empty()) return NewSecureRandomSource();
  absl::StatusOr<SeededPrng> prng = SeededPrng::Create(replay_seed);
  if (!prng.ok()) return prng.status();
  return std::make_unique<SeededPrng>(*std::move(prng));
}

}  // namespace halo::crypto
