#include "halo/crypto/hkdf.h"

#include <catch2/catch.hpp>

#include "halo/common/hex.h"
#include "testing/testdata.h"

namespace halo::crypto {
namespace {

using ::halo::testing::Field;
using ::halo::testing::HexField;
using ::halo::testing::LoadTestVectors;
using ::halo::testing::StringField;

TEST_CASE("Wycheproof HKDF-SHA-256 vectors") {
  auto vectors = LoadTestVectors("wycheproof/hkdf_sha256_test.json");
  if (!vectors) return;
  int checked = 0;
  for (const auto& group : Field(*vectors, "testGroups").list_value().values()) {
    for (const auto& test : Field(group, "tests").list_value().values()) {
      INFO("tcId " << Field(test, "tcId").number_value() << " " << StringField(test, "comment"));
      const size_t size = static_cast<size_t>(Field(test, "size").number_value());
      auto okm = HkdfSha256(HexField(test, "ikm"), HexField(test, "salt"), HexField(test, "info"), size);
      if (StringField(test, "result") == "valid") {
        REQUIRE(okm.ok());
        CHECK(HexEncode(*okm) == HexEncode(HexField(test, "okm")));
      } else {
        CHECK_FALSE(okm.ok());
      }
      ++checked;
    }
  }
  CHECK(checked == 86);
}

TEST_CASE("HKDF refuses an empty or oversized output") {
  CHECK_FALSE(HkdfSha256("ikm", "", "", 0).ok());
  auto refused = HkdfSha256("ikm", "", "", kHkdfSha256MaxOutputBytes + 1);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("8160"));
}

}  // namespace
}  // namespace halo::crypto
