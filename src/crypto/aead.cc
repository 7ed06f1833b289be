#include "halo/crypto/aead.h"

#include <sodium.h>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/random.h"
#include "sodium_init.h"

namespace halo::crypto {
namespace {

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

absl::Status CheckSizes(AeadAlgorithm algorithm, absl::string_view key, absl::string_view nonce) {
  if (key.size() != kAeadKeyBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("AEAD key must be ", kAeadKeyBytes, " bytes, got ", key.size()));
  }
  if (nonce.size() != AeadNonceBytes(algorithm)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "AEAD nonce must be ", AeadNonceBytes(algorithm), " bytes, got ", nonce.size()));
  }
  return absl::OkStatus();
}

}  // namespace

size_t AeadNonceBytes(AeadAlgorithm algorithm) {
  return algorithm == AeadAlgorithm::kChaCha20Poly1305
             ? crypto_aead_chacha20poly1305_ietf_NPUBBYTES
             : crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
}

absl::StatusOr<std::string> AeadSeal(AeadAlgorithm algorithm, absl::string_view key,
                                     absl::string_view nonce, absl::string_view plaintext,
                                     absl::string_view associated_data) {
  internal::EnsureSodiumInitialized();
  RETURN_IF_ERROR(CheckSizes(algorithm, key, nonce));
  std::string out(plaintext.size() + kAeadTagBytes, '\0');
  unsigned long long out_len = 0;
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  const int rc =
      algorithm == AeadAlgorithm::kChaCha20Poly1305
          ? crypto_aead_chacha20poly1305_ietf_encrypt(
                out_bytes, &out_len, Bytes(plaintext), plaintext.size(), Bytes(associated_data),
                associated_data.size(), nullptr, Bytes(nonce), Bytes(key))
          : crypto_aead_xchacha20poly1305_ietf_encrypt(
                out_bytes, &out_len, Bytes(plaintext), plaintext.size(), Bytes(associated_data),
                associated_data.size(), nullptr, Bytes(nonce), Bytes(key));
  if (rc != 0) return absl::InvalidArgumentError("AEAD encryption failed: message too long");
  out.resize(out_len);
  return out;
}

absl::StatusOr<std::string> AeadOpen(AeadAlgorithm algorithm, absl::string_view key,
                                     absl::string_view nonce,
                                     absl::string_view ciphertext_and_tag,
                                     absl::string_view associated_data) {
  internal::EnsureSodiumInitialized();
  RETURN_IF_ERROR(CheckSizes(algorithm, key, nonce));
  if (ciphertext_and_tag.size() < kAeadTagBytes) {
    return absl::InvalidArgumentError(absl::StrCat("AEAD ciphertext is ", ciphertext_and_tag.size(),
                                                   " bytes, shorter than its tag"));
  }
  std::string out(ciphertext_and_tag.size() - kAeadTagBytes, '\0');
  unsigned long long out_len = 0;
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());
  const int rc =
      algorithm == AeadAlgorithm::kChaCha20Poly1305
          ? crypto_aead_chacha20poly1305_ietf_decrypt(
                out_bytes, &out_len, nullptr, Bytes(ciphertext_and_tag), ciphertext_and_tag.size(),
                Bytes(associated_data), associated_data.size(), Bytes(nonce), Bytes(key))
          : crypto_aead_xchacha20poly1305_ietf_decrypt(
                out_bytes, &out_len, nullptr, Bytes(ciphertext_and_tag), ciphertext_and_tag.size(),
                Bytes(associated_data), associated_data.size(), Bytes(nonce), Bytes(key));
  if (rc != 0) {
    return absl::InvalidArgumentError(
        "AEAD authentication failed: ciphertext, tag, nonce or associated data was altered");
  }
  out.resize(out_len);
  return out;
}

absl::StatusOr<std::string> SealBlob(absl::string_view key, absl::string_view plaintext,
                                     absl::string_view associated_data) {
  const std::string nonce =
      SecureRandomBytes(AeadNonceBytes(AeadAlgorithm::kXChaCha20Poly1305));
  ASSIGN_OR_RETURN(std::string sealed, AeadSeal(AeadAlgorithm::kXChaCha20Poly1305, key, nonce,
                                                plaintext, associated_data));
  return nonce + sealed;
}

absl::StatusOr<std::string> OpenBlob(absl::string_view key, absl::string_view sealed,
                                     absl::string_view associated_data) {
  const size_t nonce_size = AeadNonceBytes(AeadAlgorithm::kXChaCha20Poly1305);
  if (sealed.size() < nonce_size + kAeadTagBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("sealed blob is ", sealed.size(), " bytes, shorter than nonce and tag"));
  }
  return AeadOpen(AeadAlgorithm::kXChaCha20Poly1305, key, sealed.substr(0, nonce_size),
                  sealed.substr(nonce_size), associated_data);
}

}  // namespace halo::crypto
