#include "halo/crypto/signing.h"

#include <catch2/catch.hpp>

#include "halo/common/hex.h"
#include "testing/testdata.h"

namespace halo::crypto {
namespace {

using ::halo::testing::Field;
using ::halo::testing::HexField;
using ::halo::testing::LoadTestVectors;
using ::halo::testing::StringField;

TEST_CASE("A signature verifies under its key only, over its message only") {
  const SigningKey key = SigningKey::Generate();
  const SigningKey other = SigningKey::Generate();
  const std::string signature = key.Sign("MeasurementSpec bytes");
  CHECK(key.verifying_key().Verify("MeasurementSpec bytes", signature).ok());
  CHECK_FALSE(key.verifying_key().Verify("MeasurementSpec byteS", signature).ok());
  CHECK_FALSE(other.verifying_key().Verify("MeasurementSpec bytes", signature).ok());
  std::string tampered = signature;
  tampered[tampered.size() - 1] ^= 1;
  auto refused = key.verifying_key().Verify("MeasurementSpec bytes", tampered);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.message()), Catch::Contains("does not verify"));
}

TEST_CASE("Keys survive PEM and SubjectPublicKeyInfo round trips") {
  const SigningKey key = SigningKey::Generate();
  auto restored = SigningKey::FromPrivateKeyPem(key.ToPrivateKeyPem());
  REQUIRE(restored.ok());
  auto verifying = VerifyingKey::FromSubjectPublicKeyInfo(key.verifying_key().ToSubjectPublicKeyInfo());
  REQUIRE(verifying.ok());
  CHECK(verifying->Verify("m", restored->Sign("m")).ok());
  CHECK_FALSE(SigningKey::FromPrivateKeyPem("-----BEGIN PRIVATE KEY-----\nAAAA\n").ok());
  CHECK_FALSE(VerifyingKey::FromSubjectPublicKeyInfo("garbage").ok());
  CHECK_FALSE(VerifyingKey::FromSubjectPublicKeyInfo(key.verifying_key().ToSubjectPublicKeyInfo() + "x").ok());
}

TEST_CASE("Wycheproof ECDSA P-256 SHA-256 vectors") {
  auto vectors = LoadTestVectors("wycheproof/ecdsa_secp256r1_sha256_test.json");
  if (!vectors) return;
  int checked = 0;
  for (const auto& group : Field(*vectors, "testGroups").list_value().values()) {
    const auto& public_key = Field(group, "publicKey");
    auto point = EcPoint::Decode(HexField(public_key, "uncompressed"));
    REQUIRE(point.ok());
    auto key = VerifyingKey::FromPoint(*point);
    REQUIRE(key.ok());
    auto from_der = VerifyingKey::FromSubjectPublicKeyInfo(HexField(group, "publicKeyDer"));
    REQUIRE(from_der.ok());
    CHECK(from_der->point() == *point);
    for (const auto& test : Field(group, "tests").list_value().values()) {
      const std::string result = StringField(test, "result");
      INFO("tcId " << Field(test, "tcId").number_value() << " " << StringField(test, "comment"));
      const bool verified = key->Verify(HexField(test, "msg"), HexField(test, "sig")).ok();
      if (result == "valid") CHECK(verified);
      if (result == "invalid") CHECK_FALSE(verified);
      ++checked;
    }
  }
  CHECK(checked == 484);
}

}  // namespace
}  // namespace halo::crypto
