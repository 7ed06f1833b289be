#include "halo/crypto/random.h"

#include <sodium.h>

#include <cstdlib>

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

}  // namespace halo::crypto
