#include "halo/common/data_directory.h"

#include <catch2/catch.hpp>
#include <filesystem>

#include "testing/temp_dir.h"

namespace halo {
namespace {

TEST_CASE("A data directory is created and held exclusively until released") {
  testing::TempDir dir;
  const std::string path = dir.Sub("kingdom/data");
  {
    auto held = DataDirectory::Acquire(path);
    REQUIRE(held.ok());
    CHECK(std::filesystem::is_directory(path));
    auto second = DataDirectory::Acquire(path);
    REQUIRE_FALSE(second.ok());
    CHECK(second.status().code() == absl::StatusCode::kFailedPrecondition);
    CHECK_THAT(std::string(second.status().message()), Catch::Contains("in use by another halo process (pid "));
  }
  CHECK(DataDirectory::Acquire(path).ok());
}

TEST_CASE("A data directory that cannot be created is reported") {
  auto refused = DataDirectory::Acquire("/proc/halo-cannot-exist/data");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("/proc/halo-cannot-exist/data"));
}

}  // namespace
}  // namespace halo
