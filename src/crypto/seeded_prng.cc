#include "halo/crypto/seeded_prng.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "halo/crypto/random.h"

namespace halo::crypto {
namespace {

constexpr size_t kChaChaBlockBytes = 64;
// The IETF variant's 32-bit block counter bounds one stream to 256 GiB.
constexpr uint64_t kMaxBytes = (uint64_t{1} << 32) * kChaChaBlockBytes;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "halo: seeded PRNG: %s\n", what);
  std::abort();
}

}  // namespace

void SeededPrng::CipherDeleter::operator()(void* context) const {
  EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(context));
}

absl::StatusOr<SeededPrng> SeededPrng::Create(absl::string_view seed) {
  if (seed.size() != kSeedBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("PRNG seed must be ", kSeedBytes, " bytes, got ", seed.size()));
  }
  return SeededPrng(seed);
}

std::string SeededPrng::GenerateSeed() { return SecureRandomBytes(kSeedBytes); }

SeededPrng::SeededPrng(absl::string_view seed) : cipher_(EVP_CIPHER_CTX_new()) {
  // OpenSSL's ChaCha20 IV is the 32-bit block counter (little-endian), 0
  // here, then the 96-bit nonce, all zero.
  const uint8_t iv[16] = {};
  if (cipher_ == nullptr ||
      EVP_EncryptInit_ex(static_cast<EVP_CIPHER_CTX*>(cipher_.get()), EVP_chacha20(), nullptr,
                         reinterpret_cast<const uint8_t*>(seed.data()), iv) != 1) {
    Die("OpenSSL could not set up ChaCha20");
  }
}

void SeededPrng::Generate(uint8_t* out, size_t size) {
  if (size > kMaxBytes - bytes_generated_) Die("stream exhausted");
  auto* context = static_cast<EVP_CIPHER_CTX*>(cipher_.get());
  // OpenSSL takes an int length; encrypting zeros in place gives the keystream.
  constexpr size_t kStep = size_t{1} << 30;
  for (size_t done = 0; done < size; done += kStep) {
    const size_t n = std::min(kStep, size - done);
    std::memset(out + done, 0, n);
    int written = 0;
    if (EVP_EncryptUpdate(context, out + done, &written, out + done, static_cast<int>(n)) != 1 ||
        written != static_cast<int>(n)) {
      Die("OpenSSL's ChaCha20 failed");
    }
  }
  bytes_generated_ += size;
}

void SeededPrng::Refill() {
  // Unread bytes move to the front so that no keystream byte is skipped.
  const size_t left = kBufferBytes - buffer_pos_;
  std::memmove(buffer_.data(), buffer_.data() + buffer_pos_, left);
  Generate(buffer_.data() + left, kBufferBytes - left);
  buffer_pos_ = 0;
}

void SeededPrng::Fill(absl::Span<uint8_t> out) {
  const size_t buffered = std::min(out.size(), kBufferBytes - buffer_pos_);
  std::memcpy(out.data(), buffer_.data() + buffer_pos_, buffered);
  buffer_pos_ += buffered;
  const size_t rest = out.size() - buffered;
  if (rest >= kBufferBytes) {
    Generate(out.data() + buffered, rest);
  } else if (rest > 0) {
    Refill();
    std::memcpy(out.data() + buffered, buffer_.data(), rest);
    buffer_pos_ = rest;
  }
}

std::string SeededPrng::NextBytes(size_t size) {
  std::string out(size, '\0');
  Fill(absl::MakeSpan(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  return out;
}

uint64_t SeededPrng::NextUint64() {
  uint8_t bytes[8];
  Fill(absl::MakeSpan(bytes));
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

uint64_t SeededPrng::BlocksLeft() const { return (kMaxBytes - bytes_generated_) / kChaChaBlockBytes; }

}  // namespace halo::crypto
