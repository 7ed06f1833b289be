#include "halo/duchy/blob_transfer.h"

#include <catch2/catch.hpp>

#include <deque>

#include "halo/crypto/sha256.h"
#include "testing/temp_dir.h"

namespace halo::duchy {
namespace {

// Chunks as a sender would stream them, replayed to the receiver.
std::function<std::optional<std::string>()> Stream(std::deque<std::string> chunks) {
  auto queue = std::make_shared<std::deque<std::string>>(std::move(chunks));
  return [queue]() -> std::optional<std::string> {
    if (queue->empty()) return std::nullopt;
    std::string chunk = std::move(queue->front());
    queue->pop_front();
    return chunk;
  };
}

std::deque<std::string> Chunked(const std::string& data) {
  std::deque<std::string> chunks;
  SendChunks(data, [&](absl::string_view chunk) {
    chunks.emplace_back(chunk);
    return true;
  });
  return chunks;
}

TEST_CASE("A blob is kept only when its size and digest match its header") {
  testing::TempDir dir;
  auto store = *storage::OpenRocksDbBlobStore(dir.Sub("blobs"));
  std::string data(3 * kChunkBytes + 1000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 13);
  const std::string digest = crypto::Sha256(data);
  const auto chunks = Chunked(data);
  CHECK(chunks.size() == 4);

  auto receive = [&](const std::string& key, std::deque<std::string> stream, int64_t total, const std::string& sha) {
    auto writer = *store->OpenWriter(key);
    return ReceiveChunks(Stream(std::move(stream)), total, sha, *writer);
  };
  REQUIRE(receive("good", chunks, data.size(), digest).ok());
  CHECK(*store->Get("good") == data);

  auto tampered = chunks;
  tampered[1][7] ^= 1;
  const absl::Status bad_digest = receive("tampered", tampered, data.size(), digest);
  CHECK_THAT(std::string(bad_digest.message()), Catch::Contains("SHA-256"));
  auto shorter = chunks;
  shorter.pop_back();
  CHECK_THAT(std::string(receive("short", shorter, data.size(), digest).message()), Catch::Contains("ended after"));
  CHECK_THAT(std::string(receive("long", chunks, data.size() - 1, digest).message()), Catch::Contains("longer"));
  CHECK_THAT(std::string(receive("huge", {std::string(kChunkBytes + 1, 'x')}, kChunkBytes + 1,
                                 crypto::Sha256(std::string(kChunkBytes + 1, 'x')))
                             .message()),
             Catch::Contains("exceeds"));
  CHECK_THAT(std::string(receive("no digest", chunks, data.size(), "short").message()), Catch::Contains("sha256"));
  // Nothing of the refused uploads was kept.
  CHECK(*store->List("") == std::vector<std::string>{"good"});
}

TEST_CASE("Sending a stored blob streams it in chunks and stops when the stream breaks") {
  testing::TempDir dir;
  auto store = *storage::OpenRocksDbBlobStore(dir.Sub("blobs"));
  const std::string data(3 * kChunkBytes + 5, 'z');
  REQUIRE(store->Put("blob", data).ok());
  std::string sent;
  auto reader = *store->OpenReader("blob");
  REQUIRE(SendChunks(*reader, [&](absl::string_view chunk) {
            CHECK(chunk.size() <= kChunkBytes);
            sent.append(chunk.data(), chunk.size());
            return true;
          }).ok());
  CHECK(sent == data);
  auto again = *store->OpenReader("blob");
  CHECK(absl::IsUnavailable(SendChunks(*again, [](absl::string_view) { return false; })));
}

}  // namespace
}  // namespace halo::duchy
