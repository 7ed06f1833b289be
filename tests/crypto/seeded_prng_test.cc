#include "halo/crypto/seeded_prng.h"

#include <catch2/catch.hpp>
#include <map>

#include "halo/common/hex.h"

namespace halo::crypto {
namespace {

// RFC 8439 appendix A.1, test vectors 1 and 2: the ChaCha20 block function
// for an all-zero key and nonce at block counters 0 and 1.
TEST_CASE("The seeded PRNG is the RFC 8439 ChaCha20 keystream") {
  auto prng = SeededPrng::Create(std::string(32, '\0'));
  REQUIRE(prng.ok());
  CHECK(HexEncode(prng->NextBytes(64)) ==
        "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
        "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
  CHECK(HexEncode(prng->NextBytes(64)) ==
        "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
        "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f");
}

TEST_CASE("Same seed, same stream, across buffer boundaries and read sizes") {
  const std::string seed = SeededPrng::GenerateSeed();
  auto a = SeededPrng::Create(seed);
  auto b = SeededPrng::Create(seed);
  std::string from_a;
  for (int i = 0; i < 1000; ++i) from_a += a->NextBytes(13);
  CHECK(from_a == b->NextBytes(13000));
  auto c = SeededPrng::Create(SeededPrng::GenerateSeed());
  CHECK(c->NextBytes(64) != SeededPrng::Create(seed)->NextBytes(64));
}

TEST_CASE("Large fills, small reads and 32-bit draws read one stream") {
  const std::string seed = SeededPrng::GenerateSeed();
  auto small = SeededPrng::Create(seed);
  std::string by_bytes = small->NextBytes(3);
  for (int i = 0; i < 40; ++i) by_bytes += small->NextBytes(997);
  // A fill that starts mid-buffer and runs past many buffers, then reads
  // that straddle what is left of one.
  auto large = SeededPrng::Create(seed);
  std::string mixed = large->NextBytes(3);
  mixed += large->NextBytes(39000);
  for (int i = 0; i < 220; ++i) {
    const uint32_t v = large->NextUint32();
    for (int b = 0; b < 4; ++b) mixed.push_back(static_cast<char>(v >> (8 * b)));
  }
  mixed += large->NextBytes(by_bytes.size() - mixed.size());
  CHECK(HexEncode(mixed) == HexEncode(by_bytes));
}

TEST_CASE("UniformBelow32 stays in range and covers every value") {
  auto prng = SeededPrng::Create(std::string(32, 'u'));
  for (uint32_t bound : {1u, 2u, 3u, 1000u, 4294967295u}) {
    for (int i = 0; i < 2000; ++i) REQUIRE(prng->UniformBelow32(bound) < bound);
  }
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 127 * 200; ++i) ++counts[prng->UniformBelow32(127)];
  CHECK(counts.size() == 127);
  for (const auto& [value, count] : counts) CHECK(count > 100);
}

TEST_CASE("UniformBelow stays in range and covers every value") {
  auto prng = SeededPrng::Create(SeededPrng::GenerateSeed());
  std::map<uint64_t, int> counts;
  for (int i = 0; i < 127 * 200; ++i) {
    uint64_t v = prng->UniformBelow(127);
    REQUIRE(v < 127);
    ++counts[v];
  }
  CHECK(counts.size() == 127);
  for (const auto& [value, count] : counts) CHECK(count > 100);
}

TEST_CASE("The PRNG refuses seeds of the wrong size") {
  auto refused = SeededPrng::Create("too short");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("32 bytes"));
}

}  // namespace
}  // namespace halo::crypto
