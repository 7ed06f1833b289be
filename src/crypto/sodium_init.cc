#include "sodium_init.h"

#include <sodium.h>

#include <cstdio>
#include <cstdlib>

namespace halo::crypto::internal {

void EnsureSodiumInitialized() {
  static const bool initialized = [] {
    if (sodium_init() < 0) {
      std::fprintf(stderr, "halo: libsodium failed to initialize\n");
      std::abort();
    }
    return true;
  }();
  (void)initialized;
}

}  // namespace halo::crypto::internal
