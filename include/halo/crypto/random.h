// Secure random bytes from libsodium (getrandom(2) underneath).
#ifndef HALO_CRYPTO_RANDOM_H_
#define HALO_CRYPTO_RANDOM_H_

#include <cstdint>
#include <string>

namespace halo::crypto {

std::string SecureRandomBytes(size_t size);
uint64_t SecureRandomUint64();

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_RANDOM_H_
