#include "halo/crypto/hybrid_encryption.h"

#include <catch2/catch.hpp>

#include "halo/common/hex.h"
#include "halo/crypto/signing.h"
#include "testing/testdata.h"

namespace halo::crypto {
namespace {

using ::halo::testing::Field;
using ::halo::testing::HexField;
using ::halo::testing::LoadTestVectors;
using ::halo::testing::StringField;

TEST_CASE("Hybrid encryption round-trips for the recipient under the same context") {
  const EncryptionKeyPair recipient = EncryptionKeyPair::Generate();
  auto ciphertext = HybridEncrypt(recipient.public_key, "reach = 1234", "measurements/m1");
  REQUIRE(ciphertext.ok());
  auto plaintext = HybridDecrypt(recipient, *ciphertext, "measurements/m1");
  REQUIRE(plaintext.ok());
  CHECK(*plaintext == "reach = 1234");
  CHECK(*HybridEncrypt(recipient.public_key, "x", "c") != *HybridEncrypt(recipient.public_key, "x", "c"));
}

TEST_CASE("Hybrid decryption refuses another recipient, another context and tampering") {
  const EncryptionKeyPair recipient = EncryptionKeyPair::Generate();
  const std::string ciphertext = *HybridEncrypt(recipient.public_key, "secret", "ctx");
  CHECK_FALSE(HybridDecrypt(EncryptionKeyPair::Generate(), ciphertext, "ctx").ok());
  CHECK_FALSE(HybridDecrypt(recipient, ciphertext, "other").ok());
  std::string tampered = ciphertext;
  tampered.back() ^= 1;
  CHECK_FALSE(HybridDecrypt(recipient, tampered, "ctx").ok());
  std::string bad_version = ciphertext;
  bad_version[0] = 9;
  auto version = HybridDecrypt(recipient, bad_version, "ctx");
  REQUIRE_FALSE(version.ok());
  CHECK_THAT(std::string(version.status().message()), Catch::Contains("version"));
  CHECK_FALSE(HybridDecrypt(recipient, ciphertext.substr(0, 40), "ctx").ok());
  std::string bad_point = ciphertext;
  bad_point[1] = 0x05;
  auto point = HybridDecrypt(recipient, bad_point, "ctx");
  REQUIRE_FALSE(point.ok());
  CHECK_THAT(std::string(point.status().message()), Catch::Contains("ephemeral key"));
}

// Public keys as DER SubjectPublicKeyInfo: valid ones give the expected
// shared secret; invalid ones (wrong curve, bad ASN.1, off-curve points) are
// refused by the parser or by ECDH.
TEST_CASE("Wycheproof ECDH secp256r1 vectors") {
  auto vectors = LoadTestVectors("wycheproof/ecdh_secp256r1_test.json");
  if (!vectors) return;
  int checked = 0;
  for (const auto& group : Field(*vectors, "testGroups").list_value().values()) {
    for (const auto& test : Field(group, "tests").list_value().values()) {
      const std::string result = StringField(test, "result");
      INFO("tcId " << Field(test, "tcId").number_value() << " " << StringField(test, "comment"));
      auto key = VerifyingKey::FromSubjectPublicKeyInfo(HexField(test, "public"));
      absl::StatusOr<std::string> shared = absl::InvalidArgumentError("public key refused");
      if (key.ok()) shared = EcdhSharedSecret(Scalar::FromBytesReduced(HexField(test, "private")), key->point());
      if (result == "valid") {
        REQUIRE(shared.ok());
        CHECK(HexEncode(*shared) == HexEncode(HexField(test, "shared")));
      } else if (result == "invalid") {
        CHECK_FALSE(shared.ok());
      }
      ++checked;
    }
  }
  CHECK(checked == 612);
}

}  // namespace
}  // namespace halo::crypto
