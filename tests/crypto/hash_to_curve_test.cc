#include "halo/crypto/hash_to_curve.h"

#include <catch2/catch.hpp>

#include "halo/common/hex.h"
#include "testing/testdata.h"

namespace halo::crypto {
namespace {

using ::halo::testing::Field;
using ::halo::testing::HexField;
using ::halo::testing::LoadTestVectors;
using ::halo::testing::StringField;

TEST_CASE("RFC 9380 expand_message_xmd SHA-256 vectors") {
  auto vectors = LoadTestVectors("hash-to-curve/expand_message_xmd_SHA256_38.json");
  if (!vectors) return;
  const std::string dst = StringField(*vectors, "DST");
  int checked = 0;
  for (const auto& test : Field(*vectors, "tests").list_value().values()) {
    const std::string msg = StringField(test, "msg");
    const size_t length = std::stoul(StringField(test, "len_in_bytes"), nullptr, 16);
    INFO("msg \"" << msg.substr(0, 20) << "\" length " << length);
    auto uniform = ExpandMessageXmd(msg, dst, length);
    REQUIRE(uniform.ok());
    CHECK(HexEncode(*uniform) == HexEncode(HexField(test, "uniform_bytes")));
    ++checked;
  }
  CHECK(checked > 0);
}

TEST_CASE("RFC 9380 P256_XMD:SHA-256_SSWU_RO_ vectors") {
  auto vectors = LoadTestVectors("hash-to-curve/P256_XMD_SHA-256_SSWU_RO_.json");
  if (!vectors) return;
  const std::string dst = StringField(*vectors, "dst");
  int checked = 0;
  for (const auto& test : Field(*vectors, "vectors").list_value().values()) {
    const std::string msg = StringField(test, "msg");
    INFO("msg \"" << msg.substr(0, 20) << "\"");
    auto expected = EcPoint::FromAffine(HexField(Field(test, "P"), "x"), HexField(Field(test, "P"), "y"));
    REQUIRE(expected.ok());
    auto point = HashToCurve(msg, dst);
    REQUIRE(point.ok());
    CHECK(*point == *expected);
    ++checked;
  }
  CHECK(checked == 5);
}

TEST_CASE("Hash-to-curve refuses empty and oversized domain separation tags") {
  CHECK_FALSE(HashToCurve("x", "").ok());
  auto refused = HashToCurve("x", std::string(256, 'd'));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("255"));
  CHECK_FALSE(ExpandMessageXmd("x", "dst", 0).ok());
  CHECK_FALSE(ExpandMessageXmd("x", "dst", 256 * 32).ok());
}

TEST_CASE("Hash-to-curve is deterministic and separates inputs and domains") {
  auto a1 = HashToCurve("alice@example.com", "HALO-TEST");
  auto a2 = HashToCurve("alice@example.com", "HALO-TEST");
  auto b = HashToCurve("bob@example.com", "HALO-TEST");
  auto a_other = HashToCurve("alice@example.com", "HALO-OTHER");
  REQUIRE((a1.ok() && a2.ok() && b.ok() && a_other.ok()));
  CHECK(*a1 == *a2);
  CHECK(*a1 != *b);
  CHECK(*a1 != *a_other);
}

}  // namespace
}  // namespace halo::crypto
