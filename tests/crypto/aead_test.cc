#include "halo/crypto/aead.h"

#include <catch2/catch.hpp>

#include "halo/common/hex.h"
#include "halo/crypto/random.h"
#include "testing/testdata.h"

namespace halo::crypto {
namespace {

using ::halo::testing::Field;
using ::halo::testing::HexField;
using ::halo::testing::LoadTestVectors;
using ::halo::testing::StringField;

// Valid cases must seal to ct || tag and open back; invalid ones must be
// refused by Open (a modified tag, or a nonce of the wrong size).
void RunWycheproofAead(const std::string& file, AeadAlgorithm algorithm, int expected_count) {
  auto vectors = LoadTestVectors(file);
  if (!vectors) return;
  int checked = 0;
  for (const auto& group : Field(*vectors, "testGroups").list_value().values()) {
    for (const auto& test : Field(group, "tests").list_value().values()) {
      INFO(file << " tcId " << Field(test, "tcId").number_value() << " " << StringField(test, "comment"));
      const std::string key = HexField(test, "key");
      const std::string nonce = HexField(test, "iv");
      const std::string aad = HexField(test, "aad");
      const std::string msg = HexField(test, "msg");
      const std::string sealed = HexField(test, "ct") + HexField(test, "tag");
      auto opened = AeadOpen(algorithm, key, nonce, sealed, aad);
      if (StringField(test, "result") == "valid") {
        REQUIRE(opened.ok());
        CHECK(HexEncode(*opened) == HexEncode(msg));
        auto resealed = AeadSeal(algorithm, key, nonce, msg, aad);
        REQUIRE(resealed.ok());
        CHECK(HexEncode(*resealed) == HexEncode(sealed));
      } else {
        CHECK_FALSE(opened.ok());
      }
      ++checked;
    }
  }
  CHECK(checked == expected_count);
}

TEST_CASE("Wycheproof ChaCha20-Poly1305 vectors") {
  RunWycheproofAead("wycheproof/chacha20_poly1305_test.json", AeadAlgorithm::kChaCha20Poly1305, 325);
}

TEST_CASE("Wycheproof XChaCha20-Poly1305 vectors") {
  RunWycheproofAead("wycheproof/xchacha20_poly1305_test.json", AeadAlgorithm::kXChaCha20Poly1305, 315);
}

TEST_CASE("Sealed blobs open with their key and associated data only") {
  const std::string key = SecureRandomBytes(kAeadKeyBytes);
  auto sealed = SealBlob(key, "sketch bytes", "computations/c1/stage/3");
  REQUIRE(sealed.ok());
  CHECK(*OpenBlob(key, *sealed, "computations/c1/stage/3") == "sketch bytes");
  CHECK_FALSE(OpenBlob(key, *sealed, "computations/c1/stage/4").ok());
  CHECK_FALSE(OpenBlob(SecureRandomBytes(kAeadKeyBytes), *sealed, "computations/c1/stage/3").ok());
  std::string tampered = *sealed;
  tampered[30] ^= 1;
  auto refused = OpenBlob(key, tampered, "computations/c1/stage/3");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("authentication failed"));
  CHECK_FALSE(OpenBlob(key, sealed->substr(0, 20), "computations/c1/stage/3").ok());
  CHECK(*SealBlob(key, "same", "") != *SealBlob(key, "same", ""));
}

TEST_CASE("AEAD refuses keys and nonces of the wrong size") {
  auto bad_key = AeadSeal(AeadAlgorithm::kChaCha20Poly1305, "short", std::string(12, '\0'), "m", "");
  REQUIRE_FALSE(bad_key.ok());
  CHECK_THAT(std::string(bad_key.status().message()), Catch::Contains("key must be 32 bytes"));
  auto bad_nonce = AeadSeal(AeadAlgorithm::kXChaCha20Poly1305, std::string(32, 'k'), std::string(12, '\0'), "m", "");
  REQUIRE_FALSE(bad_nonce.ok());
  CHECK_THAT(std::string(bad_nonce.status().message()), Catch::Contains("nonce must be 24 bytes"));
}

}  // namespace
}  // namespace halo::crypto
