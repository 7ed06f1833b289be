#include "halo/crypto/sha256.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "openssl_util.h"

namespace halo::crypto {

std::string Sha256(absl::string_view data) {
  std::string digest(kSha256Bytes, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(digest.data()));
  return digest;
}

Sha256Hasher::Sha256Hasher() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
    internal::OpenSslFatal("SHA-256 init");
  }
}

void Sha256Hasher::Update(absl::string_view data) {
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) internal::OpenSslFatal("SHA-256 update");
}

std::string Sha256Hasher::Finish() {
  std::string digest(kSha256Bytes, '\0');
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(ctx_.get(), reinterpret_cast<unsigned char*>(digest.data()), &size) != 1 ||
      EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) != 1) {
    internal::OpenSslFatal("SHA-256 final");
  }
  return digest;
}

}  // namespace halo::crypto
