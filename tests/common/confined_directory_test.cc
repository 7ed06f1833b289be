#include "halo/common/confined_directory.h"

#include <catch2/catch.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "halo/common/files.h"
#include "testing/temp_dir.h"

namespace halo {
namespace {

namespace fs = std::filesystem;

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST_CASE("A confined directory reads and writes beneath its root, creating directories on the way") {
  testing::TempDir dir;
  auto root = ConfinedDirectory::Open(dir.Sub("root"));
  REQUIRE(root.ok());
  REQUIRE((*root)->Write("2026-12-07/blob", "bytes").ok());
  CHECK(*(*root)->Read("2026-12-07/blob", 100) == "bytes");
  REQUIRE((*root)->Write("2026-12-07/blob", "newer").ok());
  CHECK(*(*root)->Read("2026-12-07/blob", 100) == "newer");
  CHECK(*ReadFile(dir.Sub("root/2026-12-07/blob")) == "newer");
  // No temporary file is left beside it.
  int files = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir.Sub("root/2026-12-07"))) ++files;
  CHECK(files == 1);
  CHECK(absl::IsNotFound((*root)->Read("2026-12-07/other", 100).status()));
  CHECK(absl::IsNotFound((*root)->Read("nowhere/blob", 100).status()));
}

TEST_CASE("A confined directory refuses names that leave it") {
  testing::TempDir dir;
  auto root = ConfinedDirectory::Open(dir.Sub("root"));
  REQUIRE(root.ok());
  REQUIRE(WriteFileAtomically(dir.Sub("secret"), "secret").ok());
  for (const char* name : {"../secret", "/etc/passwd", "a/../../secret", "", "a//b", "./a", "a/."}) {
    INFO(name);
    const auto read = (*root)->Read(name, 100);
    CHECK(read.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(absl::IsInvalidArgument((*root)->Write(name, "x")));
  }
  CHECK_THAT(Message(CheckConfinedPath("../x", "input.path")), Catch::Contains("input.path") && Catch::Contains(".."));
  CHECK(absl::IsInvalidArgument(CheckConfinedPath(std::string(1025, 'a'), "label")));
  CHECK(CheckConfinedPath("a/b.c/d", "label").ok());
  CHECK(*ReadFile(dir.Sub("secret")) == "secret");
}

TEST_CASE("A symbolic link a partner plants is never followed, on the way or at the end") {
  testing::TempDir dir;
  fs::create_directories(dir.Sub("outside"));
  REQUIRE(WriteFileAtomically(dir.Sub("outside/secret"), "secret").ok());
  auto root = ConfinedDirectory::Open(dir.Sub("shared"));
  REQUIRE(root.ok());
  fs::create_directories(dir.Sub("shared/day"));
  fs::create_symlink(dir.Sub("outside"), dir.Sub("shared/linked-day"));
  fs::create_symlink(dir.Sub("outside/secret"), dir.Sub("shared/day/blob"));

  SECTION("reading through a linked directory or a linked file") {
    const auto through_dir = (*root)->Read("linked-day/secret", 100);
    CHECK(through_dir.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(Message(through_dir.status()), Catch::Contains("symbolic link"));
    const auto linked_file = (*root)->Read("day/blob", 100);
    CHECK(linked_file.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(Message(linked_file.status()), Catch::Contains("symbolic link"));
  }
  SECTION("writing through a linked directory is refused; over a linked file replaces the link") {
    CHECK_THAT(Message((*root)->Write("linked-day/secret", "overwritten")), Catch::Contains("symbolic link"));
    REQUIRE((*root)->Write("day/blob", "ours").ok());
    CHECK_FALSE(fs::is_symlink(dir.Sub("shared/day/blob")));
    CHECK(*(*root)->Read("day/blob", 100) == "ours");
  }
  // Whatever happened, the file outside is untouched.
  CHECK(*ReadFile(dir.Sub("outside/secret")) == "secret");
}

TEST_CASE("A confined directory refuses a FIFO or directory under a blob's name, and a file over the bound") {
  testing::TempDir dir;
  auto root = ConfinedDirectory::Open(dir.Sub("root"));
  REQUIRE(root.ok());
  REQUIRE(::mkfifo(dir.Sub("root/fifo").c_str(), 0600) == 0);
  const auto fifo = (*root)->Read("fifo", 100);  // would block forever if opened for a plain read
  CHECK(fifo.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(Message(fifo.status()), Catch::Contains("not a regular file"));
  fs::create_directories(dir.Sub("root/dir"));
  CHECK(absl::IsInvalidArgument((*root)->Read("dir", 100).status()));
  REQUIRE((*root)->Write("big", std::string(101, 'x')).ok());
  const auto big = (*root)->Read("big", 100);
  CHECK(big.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(Message(big.status()), Catch::Contains("101 bytes") && Catch::Contains("100"));
  CHECK((*root)->Read("big", 101).ok());
}

}  // namespace
}  // namespace halo
