// SHA-256, for fingerprints, nonce hashes and the digests of blobs that
// arrive in chunks.
#ifndef HALO_CRYPTO_SHA256_H_
#define HALO_CRYPTO_SHA256_H_

#include <memory>
#include <string>

#include "absl/strings/string_view.h"

struct evp_md_ctx_st;

namespace halo::crypto {

inline constexpr size_t kSha256Bytes = 32;

// The 32-byte digest.
std::string Sha256(absl::string_view data);

// The digest of data given piece by piece.
class Sha256Hasher {
 public:
  Sha256Hasher();
  void Update(absl::string_view data);
  // The 32-byte digest of everything given; the hasher starts over.
  std::string Finish();

 private:
  std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_SHA256_H_
