#include "halo/crypto/seeded_prng.h"

#include <sodium.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "halo/crypto/random.h"
#include "sodium_init.h"

namespace halo::crypto {
namespace {

constexpr size_t kChaChaBlockBytes = 64;
// The IETF variant's 32-bit block counter bounds one stream to 256 GiB.
constexpr uint64_t kMaxBlocks = uint64_t{1} << 32;

}  // namespace

absl::StatusOr<SeededPrng> SeededPrng::Create(absl::string_view seed) {
  if (seed.size() != kSeedBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("PRNG seed must be ", kSeedBytes, " bytes, got ", seed.size()));
  }
  return SeededPrng(seed);
}

std::string SeededPrng::GenerateSeed() { return SecureRandomBytes(kSeedBytes); }

SeededPrng::SeededPrng(absl::string_view seed) {
  internal::EnsureSodiumInitialized();
  std::memcpy(key_.data(), seed.data(), kSeedBytes);
}

void SeededPrng::Refill() {
  constexpr uint64_t kBlocksPerBuffer = kBufferBytes / kChaChaBlockBytes;
  if (next_block_ + kBlocksPerBuffer > kMaxBlocks) {
    std::fprintf(stderr, "halo: seeded PRNG stream exhausted\n");
    std::abort();
  }
  static constexpr uint8_t kZeroNonce[crypto_stream_chacha20_ietf_NONCEBYTES] = {};
  std::memset(buffer_.data(), 0, buffer_.size());
  crypto_stream_chacha20_ietf_xor_ic(buffer_.data(), buffer_.data(), buffer_.size(), kZeroNonce,
                                     static_cast<uint32_t>(next_block_), key_.data());
  next_block_ += kBlocksPerBuffer;
  buffer_pos_ = 0;
}

void SeededPrng::Fill(absl::Span<uint8_t> out) {
  size_t written = 0;
  while (written < out.size()) {
    if (buffer_pos_ == kBufferBytes) Refill();
    size_t n = std::min(out.size() - written, kBufferBytes - buffer_pos_);
    std::memcpy(out.data() + written, buffer_.data() + buffer_pos_, n);
    buffer_pos_ += n;
    written += n;
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

uint64_t SeededPrng::BlocksLeft() const { return kMaxBlocks - next_block_; }

}  // namespace halo::crypto
