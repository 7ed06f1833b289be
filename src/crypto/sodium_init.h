// libsodium must be initialised once before use; every wrapper calls this.
#ifndef HALO_CRYPTO_SODIUM_INIT_H_
#define HALO_CRYPTO_SODIUM_INIT_H_

namespace halo::crypto::internal {

void EnsureSodiumInitialized();

}  // namespace halo::crypto::internal

#endif  // HALO_CRYPTO_SODIUM_INIT_H_
