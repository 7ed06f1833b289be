#include "halo/common/files.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "testing/temp_dir.h"

namespace halo {
namespace {

TEST_CASE("A secret file is read only when its group and others cannot read it") {
  testing::TempDir dir;
  const std::string key = dir.Sub("key.pem");
  REQUIRE(WriteFileAtomically(key, "secret", 0600).ok());
  CHECK(*ReadSecretFile(key, "private key file") == "secret");

  for (mode_t mode : {0640, 0604, 0644}) {
    REQUIRE(chmod(key.c_str(), mode) == 0);
    auto refused = ReadSecretFile(key, "private key file");
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.status().code() == absl::StatusCode::kPermissionDenied);
    CHECK_THAT(std::string(refused.status().message()), Catch::Contains("private key file " + key));
    CHECK_THAT(std::string(refused.status().message()), Catch::Contains("chmod 600"));
  }
  REQUIRE(chmod(key.c_str(), 0400) == 0);
  CHECK(ReadSecretFile(key, "private key file").ok());
  auto missing = ReadSecretFile(dir.Sub("nope"), "encryption key file");
  CHECK(missing.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("encryption key file"));
}

}  // namespace
}  // namespace halo
