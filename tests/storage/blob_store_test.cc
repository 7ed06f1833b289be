#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "halo/crypto/random.h"
#include "halo/storage/blob_store.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"

namespace halo::storage {
namespace {

// Every backend keeps the same contract.
absl::StatusOr<std::unique_ptr<BlobStore>> Open(const std::string& backend, const std::string& path) {
  return backend == "files" ? OpenFileSystemBlobStore(path) : OpenRocksDbBlobStore(path);
}

TEST_CASE("Blobs persist across closing and reopening the store") {
  const std::string backend = GENERATE(as<std::string>{}, "rocksdb", "files");
  INFO(backend);
  testing::TempDir dir;
  const std::string big = crypto::SecureRandomBytes(3 * (1 << 20) + 12345);
  {
    auto store = Open(backend, dir.Sub("blobs"));
    REQUIRE(store.ok());
    REQUIRE((*store)->Put("computations/1/setup", "small").ok());
    REQUIRE((*store)->Put("computations/1/phase1", big).ok());
  }
  auto store = Open(backend, dir.Sub("blobs"));
  REQUIRE(store.ok());
  CHECK(*(*store)->Get("computations/1/setup") == "small");
  auto read = (*store)->Get("computations/1/phase1");
  REQUIRE(read.ok());
  CHECK(*read == big);
}

// Data the crash test's writer and checker both derive.
std::string Bytes(size_t size, char seed) {
  std::string out(size, '\0');
  for (size_t i = 0; i < size; ++i) out[i] = static_cast<char>(seed + i * 31 + (i >> 12));
  return out;
}

// Run as its own process by the test below (a forked child would find
// RocksDB's background threads missing): writes blobs and dies at once,
// with no destructor run and the database not closed, so whatever RocksDB
// held only in memory is lost.
TEST_CASE("crash writer", "[.crash-writer]") {
  const char* path = std::getenv("HALO_CRASH_BLOB_STORE");
  const char* backend = std::getenv("HALO_CRASH_BLOB_STORE_BACKEND");
  REQUIRE(path != nullptr);
  REQUIRE(backend != nullptr);
  auto store = Open(backend, path);
  bool ok = store.ok() && (*store)->Put("small", Bytes(5 << 20, 's')).ok() && (*store)->Put("large", "first").ok() &&
            (*store)->Put("large", Bytes(20 << 20, 'l')).ok();
  if (ok) {
    auto abandoned = (*store)->OpenWriter("abandoned");
    ok = abandoned.ok() && (*abandoned)->Append(Bytes(20 << 20, 'a')).ok();
  }
  std::fflush(nullptr);
  _exit(ok ? 0 : 1);
}

TEST_CASE("A committed blob survives the process dying at once, small or past the batched size") {
  const std::string backend = GENERATE(as<std::string>{}, "rocksdb", "files");
  INFO(backend);
  testing::TempDir dir;
  setenv("HALO_CRASH_BLOB_STORE", dir.Sub("blobs").c_str(), 1);
  setenv("HALO_CRASH_BLOB_STORE_BACKEND", backend.c_str(), 1);
  const testing::ProcessResult writer =
      testing::RunProcess({"/proc/self/exe", "[.crash-writer]"}, absl::Seconds(60));
  INFO(writer.out << writer.err);
  REQUIRE(writer.exit_code == 0);
  auto store = Open(backend, dir.Sub("blobs"));
  REQUIRE(store.ok());
  CHECK(*(*store)->Get("small") == Bytes(5 << 20, 's'));
  auto read = (*store)->Get("large");
  REQUIRE(read.ok());
  CHECK(*read == Bytes(20 << 20, 'l'));
  CHECK((*store)->Get("abandoned").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("Large blobs stream in chunks without the whole blob in one piece") {
  const std::string backend = GENERATE(as<std::string>{}, "rocksdb", "files");
  INFO(backend);
  testing::TempDir dir;
  auto store = Open(backend, dir.Sub("blobs"));
  REQUIRE(store.ok());
  auto writer = (*store)->OpenWriter("sketch");
  REQUIRE(writer.ok());
  const std::string piece = crypto::SecureRandomBytes(300000);
  for (int i = 0; i < 10; ++i) REQUIRE((*writer)->Append(piece).ok());
  REQUIRE((*writer)->Commit().ok());
  auto reader = (*store)->OpenReader("sketch");
  REQUIRE(reader.ok());
  CHECK((*reader)->size() == 3000000);
  std::string streamed;
  int pieces = 0;
  while (true) {
    auto chunk = (*reader)->Next();
    REQUIRE(chunk.ok());
    if (!*chunk) break;
    CHECK((*chunk)->size() <= (1 << 20));
    streamed += **chunk;
    ++pieces;
  }
  std::string expected;
  for (int i = 0; i < 10; ++i) expected += piece;
  CHECK(streamed == expected);
  CHECK(pieces == 3);
}

TEST_CASE("An uncommitted blob is invisible and a reader keeps its version") {
  const std::string backend = GENERATE(as<std::string>{}, "rocksdb", "files");
  INFO(backend);
  testing::TempDir dir;
  auto store = Open(backend, dir.Sub("blobs"));
  REQUIRE(store.ok());
  REQUIRE((*store)->Put("k", "version one").ok());
  auto reader = (*store)->OpenReader("k");
  REQUIRE(reader.ok());
  {
    auto writer = (*store)->OpenWriter("k");
    REQUIRE((*writer)->Append("version two").ok());
    CHECK(*(*store)->Get("k") == "version one");
    REQUIRE((*writer)->Commit().ok());
  }
  REQUIRE((*store)->Delete("k").ok());
  auto chunk = (*reader)->Next();
  REQUIRE(chunk.ok());
  CHECK(**chunk == "version one");
  {
    auto abandoned = (*store)->OpenWriter("never");
    REQUIRE((*abandoned)->Append("partial").ok());
  }
  CHECK((*store)->Get("never").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("List returns keys under a prefix in order; delete is idempotent") {
  const std::string backend = GENERATE(as<std::string>{}, "rocksdb", "files");
  INFO(backend);
  testing::TempDir dir;
  auto store = Open(backend, dir.Sub("blobs"));
  REQUIRE(store.ok());
  for (const char* key : {"exchanges/2026-11-02/a", "exchanges/2026-11-01/b", "other/c"}) {
    REQUIRE((*store)->Put(key, key).ok());
  }
  auto keys = (*store)->List("exchanges/");
  REQUIRE(keys.ok());
  CHECK(*keys == std::vector<std::string>{"exchanges/2026-11-01/b", "exchanges/2026-11-02/a"});
  REQUIRE((*store)->Delete("other/c").ok());
  REQUIRE((*store)->Delete("other/c").ok());
  auto missing = (*store)->Get("other/c");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("other/c"));
}

TEST_CASE("Bad keys are refused") {
  const std::string backend = GENERATE(as<std::string>{}, "rocksdb", "files");
  INFO(backend);
  testing::TempDir dir;
  auto store = Open(backend, dir.Sub("blobs"));
  REQUIRE(store.ok());
  CHECK((*store)->Put("", "x").code() == absl::StatusCode::kInvalidArgument);
  CHECK((*store)->Put(std::string("a\0b", 3), "x").code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("A file-system blob store follows no link and leaves no key outside its directory") {
  testing::TempDir dir;
  auto store = OpenFileSystemBlobStore(dir.Sub("blobs"));
  REQUIRE(store.ok());
  CHECK((*store)->Put("../outside", "x").code() == absl::StatusCode::kInvalidArgument);
  CHECK((*store)->Put("/etc/passwd", "x").code() == absl::StatusCode::kInvalidArgument);
  std::filesystem::create_directories(dir.Sub("elsewhere"));
  std::filesystem::create_symlink(dir.Sub("elsewhere"), dir.Sub("blobs/planted"));
  const absl::Status through_link = (*store)->Put("planted/x", "x");
  CHECK(through_link.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(through_link.message()), Catch::Contains("symbolic link"));
  CHECK_FALSE(std::filesystem::exists(dir.Sub("elsewhere/x")));
  REQUIRE(std::ofstream(dir.Sub("elsewhere/y")) << "y");
  CHECK((*store)->List("").value() == std::vector<std::string>{});
  // A writer's temporary file is never listed.
  auto writer = (*store)->OpenWriter("a/b");
  REQUIRE(writer.ok());
  REQUIRE((*writer)->Append("half").ok());
  CHECK((*store)->List("").value() == std::vector<std::string>{});
  REQUIRE((*writer)->Commit().ok());
  CHECK((*store)->List("").value() == std::vector<std::string>{"a/b"});
}

TEST_CASE("A second process cannot open the same RocksDB blob store") {
  testing::TempDir dir;
  auto first = OpenRocksDbBlobStore(dir.Sub("blobs"));
  REQUIRE(first.ok());
  auto second = OpenRocksDbBlobStore(dir.Sub("blobs"));
  REQUIRE_FALSE(second.ok());
  CHECK_THAT(std::string(second.status().message()), Catch::Contains("lock"));
}

}  // namespace
}  // namespace halo::storage
