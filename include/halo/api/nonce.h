// Requisition nonces: the MC puts a random nonce in each RequisitionSpec and
// its hash in the signed MeasurementSpec; whoever fulfils shows the nonce.
#ifndef HALO_API_NONCE_H_
#define HALO_API_NONCE_H_

#include <cstdint>
#include <string>

#include "halo/crypto/sha256.h"

namespace halo::api {

// SHA-256 of the nonce's 8 bytes, little-endian (as a fixed64 travels).
inline std::string NonceHash(uint64_t nonce) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(nonce >> (8 * i));
  return crypto::Sha256(bytes);
}

}  // namespace halo::api

#endif  // HALO_API_NONCE_H_
