#include "halo/crypto/commutative_cipher.h"

#include <catch2/catch.hpp>

namespace halo::crypto {
namespace {

TEST_CASE("Commutative encryption commutes: E_a(E_b(x)) == E_b(E_a(x))") {
  const CommutativeCipher a = CommutativeCipher::Generate();
  const CommutativeCipher b = CommutativeCipher::Generate();
  for (const char* join_key : {"alice@example.com", "bob@example.com", ""}) {
    auto ab = b.ReEncrypt(*a.Encrypt(join_key));
    auto ba = a.ReEncrypt(*b.Encrypt(join_key));
    REQUIRE((ab.ok() && ba.ok()));
    CHECK(*ab == *ba);
  }
}

TEST_CASE("Commutative encryption is deterministic per key and separates identifiers") {
  const CommutativeCipher a = CommutativeCipher::Generate();
  const CommutativeCipher b = CommutativeCipher::Generate();
  CHECK(*a.Encrypt("x") == *a.Encrypt("x"));
  CHECK(*a.Encrypt("x") != *a.Encrypt("y"));
  CHECK(*a.Encrypt("x") != *b.Encrypt("x"));
}

TEST_CASE("Decrypting removes one party's layer") {
  const CommutativeCipher a = CommutativeCipher::Generate();
  const CommutativeCipher b = CommutativeCipher::Generate();
  auto double_encrypted = b.ReEncrypt(*a.Encrypt("carol"));
  REQUIRE(double_encrypted.ok());
  CHECK(*a.Decrypt(*double_encrypted) == *b.Encrypt("carol"));
}

TEST_CASE("A cipher restored from its key bytes encrypts identically") {
  const CommutativeCipher a = CommutativeCipher::Generate();
  auto restored = CommutativeCipher::FromKeyBytes(a.KeyBytes());
  REQUIRE(restored.ok());
  CHECK(*restored->Encrypt("dave") == *a.Encrypt("dave"));
}

TEST_CASE("Commutative cipher refuses bad keys and bad points") {
  CHECK_FALSE(CommutativeCipher::FromKeyBytes(std::string(32, '\0')).ok());
  CHECK_FALSE(CommutativeCipher::FromKeyBytes("short").ok());
  const CommutativeCipher a = CommutativeCipher::Generate();
  auto bad = a.ReEncrypt(std::string(33, '\x05'));
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("encrypted join key"));
  CHECK_FALSE(a.Decrypt("").ok());
}

}  // namespace
}  // namespace halo::crypto
