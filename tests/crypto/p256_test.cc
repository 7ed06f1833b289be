#include "halo/crypto/p256.h"

#include <catch2/catch.hpp>

#include "halo/common/hex.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/crypto/random.h"
#include "testing/testdata.h"

namespace halo::crypto {
namespace {

using ::halo::testing::HexField;
using ::halo::testing::LoadTestVectors;
using ::halo::testing::StringField;

TEST_CASE("EcPoint round-trips through compressed and uncompressed encodings") {
  const EcPoint p = EcPoint::MulGenerator(Scalar::Random());
  for (PointEncoding encoding : {PointEncoding::kCompressed, PointEncoding::kUncompressed}) {
    auto decoded = EcPoint::Decode(p.Encode(encoding));
    REQUIRE(decoded.ok());
    CHECK(*decoded == p);
  }
  CHECK(p.Encode().size() == kCompressedPointBytes);
  CHECK(p.Encode(PointEncoding::kUncompressed).size() == kUncompressedPointBytes);
}

TEST_CASE("EcPoint::Decode refuses truncated, oversized and empty input") {
  const std::string good = EcPoint::Generator().Encode();
  for (const std::string& bad : {good.substr(0, 32), good + "x", std::string(), std::string(1, '\x02'),
                                 EcPoint::Generator().Encode(PointEncoding::kUncompressed).substr(0, 64)}) {
    auto decoded = EcPoint::Decode(bad);
    REQUIRE_FALSE(decoded.ok());
    CHECK_THAT(std::string(decoded.status().message()), Catch::Contains("bytes, got"));
  }
}

TEST_CASE("EcPoint::Decode refuses a point off the curve") {
  std::string encoded = EcPoint::Generator().Encode(PointEncoding::kUncompressed);
  encoded[64] ^= 1;
  auto decoded = EcPoint::Decode(encoded);
  REQUIRE_FALSE(decoded.ok());
  CHECK_THAT(std::string(decoded.status().message()), Catch::Contains("not on the curve"));
}

TEST_CASE("EcPoint::Decode refuses hybrid and unknown prefixes") {
  std::string encoded = EcPoint::Generator().Encode(PointEncoding::kUncompressed);
  for (char prefix : {'\x06', '\x07', '\x05', '\x02'}) {
    encoded[0] = prefix;
    auto decoded = EcPoint::Decode(encoded);
    REQUIRE_FALSE(decoded.ok());
    CHECK_THAT(std::string(decoded.status().message()), Catch::Contains("prefix byte"));
  }
}

TEST_CASE("EcPoint::Decode refuses random bytes almost always") {
  int accepted = 0;
  for (int i = 0; i < 200; ++i) {
    std::string bytes = SecureRandomBytes(kUncompressedPointBytes);
    bytes[0] = '\x04';
    accepted += EcPoint::Decode(bytes).ok();
  }
  CHECK(accepted == 0);
}

TEST_CASE("The identity decodes only where allowed") {
  const std::string zeros(kCompressedPointBytes, '\0');
  auto refused = EcPoint::Decode(zeros);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("infinity"));
  auto allowed = EcPoint::Decode(zeros, IdentityPolicy::kAllow);
  REQUIRE(allowed.ok());
  CHECK(allowed->IsIdentity());
  CHECK(EcPoint::Identity().Encode() == zeros);
}

TEST_CASE("Scalar::FromBytes refuses wrong lengths and values at or above the order") {
  CHECK_FALSE(Scalar::FromBytes(std::string(31, '\1')).ok());
  CHECK_FALSE(Scalar::FromBytes(std::string(33, '\1')).ok());
  auto order = HexDecode("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
  REQUIRE(order.ok());
  auto refused = Scalar::FromBytes(*order);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("order"));
  const Scalar s = Scalar::Random();
  auto back = Scalar::FromBytes(s.ToBytes());
  REQUIRE(back.ok());
  CHECK(*back == s);
}

TEST_CASE("Group arithmetic is consistent") {
  const Scalar a = Scalar::Random();
  const Scalar b = Scalar::Random();
  const EcPoint g = EcPoint::Generator();
  CHECK(EcPoint::MulGenerator(a.Add(b)) == EcPoint::MulGenerator(a).Add(EcPoint::MulGenerator(b)));
  CHECK(g.Mul(a).Mul(b) == g.Mul(a.Mul(b)));
  CHECK(g.Mul(a).Sub(g.Mul(a)).IsIdentity());
  CHECK(g.MulAddGenerator(a, b) == EcPoint::MulGenerator(a).Add(g.Mul(b)));
  CHECK(a.Mul(*a.Inverse()) == Scalar::FromUint64(1));
  CHECK_FALSE(Scalar::FromUint64(0).Inverse().ok());
}

// Wycheproof's raw-point ECDH cases: every valid point decodes and yields the
// expected shared secret; every invalid one is refused.
TEST_CASE("Wycheproof ECDH secp256r1 ecpoint vectors") {
  auto vectors = LoadTestVectors("wycheproof/ecdh_secp256r1_ecpoint_test.json");
  if (!vectors) return;
  int checked = 0;
  for (const auto& group : halo::testing::Field(*vectors, "testGroups").list_value().values()) {
    for (const auto& test : halo::testing::Field(group, "tests").list_value().values()) {
      const std::string result = StringField(test, "result");
      const std::string private_bytes = HexField(test, "private");
      INFO("tcId " << halo::testing::Field(test, "tcId").number_value() << " "
                   << StringField(test, "comment"));
      auto point = EcPoint::Decode(HexField(test, "public"));
      absl::StatusOr<std::string> shared = absl::InvalidArgumentError("point refused");
      if (point.ok()) {
        shared = EcdhSharedSecret(Scalar::FromBytesReduced(private_bytes), *point);
      }
      if (result == "valid") {
        REQUIRE(shared.ok());
        CHECK(HexEncode(*shared) == HexEncode(HexField(test, "shared")));
      } else if (result == "invalid") {
        CHECK_FALSE(shared.ok());
      }
      ++checked;
    }
  }
  CHECK(checked == 355);
}

}  // namespace
}  // namespace halo::crypto
