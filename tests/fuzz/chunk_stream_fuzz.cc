// A blob streamed to a duchy in chunks (an EDP's upload, a peer's stage
// output) into the real blob store: kept only when its length and SHA-256
// match the header, and then read back whole.
//
// Input: a selector byte (whether the header's total and digest are the
// true ones, or off), then chunks, each a little-endian 16-bit length and
// its bytes.
#include <unistd.h>

#include <filesystem>

#include "fuzz_support.h"
#include "halo/crypto/sha256.h"
#include "halo/duchy/blob_transfer.h"

using namespace halo;

namespace {

std::vector<std::string> Chunks(absl::string_view bytes) {
  std::vector<std::string> chunks;
  while (bytes.size() >= 2) {
    const size_t length = static_cast<uint8_t>(bytes[0]) | static_cast<size_t>(static_cast<uint8_t>(bytes[1])) << 8;
    bytes.remove_prefix(2);
    chunks.emplace_back(bytes.substr(0, length));
    bytes.remove_prefix(std::min(length, bytes.size()));
  }
  return chunks;
}

std::string Encode(const std::vector<std::string>& chunks) {
  std::string out;
  for (const std::string& chunk : chunks) {
    out.push_back(static_cast<char>(chunk.size() & 0xff));
    out.push_back(static_cast<char>(chunk.size() >> 8));
    out += chunk;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static storage::BlobStore* store = [] {
    fuzz::MaybeWriteSeeds({fuzz::WithSelector(0, Encode({"first chunk", "second", std::string(300, 'x')})),
                           fuzz::WithSelector(1, Encode({"short"})), fuzz::WithSelector(2, Encode({"", "a"}))});
    const std::string dir = absl::StrCat("/tmp/halo-chunk-stream-fuzz-", getpid());
    std::filesystem::remove_all(dir);
    auto opened = storage::OpenRocksDbBlobStore(dir);
    if (!opened.ok()) std::abort();
    return opened->release();
  }();
  const auto [selector, rest] = fuzz::Select(data, size);
  const std::vector<std::string> chunks = Chunks(rest);
  std::string whole;
  for (const std::string& chunk : chunks) whole += chunk;
  int64_t total = static_cast<int64_t>(whole.size());
  std::string digest = crypto::Sha256(whole);
  if (selector % 4 == 1) total += (selector >> 2) - 32;
  if (selector % 4 == 2) digest[selector % digest.size()] ^= 1;
  if (selector % 4 == 3) digest.resize(selector % 40);
  auto writer = store->OpenWriter("upload");
  if (!writer.ok()) std::abort();
  size_t next = 0;
  const absl::Status received = duchy::ReceiveChunks(
      [&]() -> std::optional<std::string> {
        if (next >= chunks.size()) return std::nullopt;
        return chunks[next++];
      },
      total, digest, **writer);
  if (received.ok()) {
    // What was committed is exactly what was sent.
    auto reader = store->OpenReader("upload");
    std::string back;
    while (reader.ok()) {
      auto piece = (*reader)->Next();
      if (!piece.ok() || !piece->has_value()) break;
      back += **piece;
    }
    if (back != whole) std::abort();
  }
  return 0;
}
