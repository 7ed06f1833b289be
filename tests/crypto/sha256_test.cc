#include "halo/crypto/sha256.h"

#include <catch2/catch.hpp>

#include "halo/common/hex.h"

namespace halo::crypto {
namespace {

TEST_CASE("SHA-256 of data in pieces equals that of the whole, and the hasher starts over") {
  // FIPS 180-2, appendix B.1.
  CHECK(HexEncode(Sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  std::string data;
  for (int i = 0; i < 100000; ++i) data += static_cast<char>(i * 7);
  Sha256Hasher hasher;
  for (size_t at = 0; at < data.size(); at += 32768) hasher.Update(absl::string_view(data).substr(at, 32768));
  CHECK(hasher.Finish() == Sha256(data));
  hasher.Update("abc");
  CHECK(hasher.Finish() == Sha256("abc"));
  CHECK(hasher.Finish() == Sha256(""));
}

}  // namespace
}  // namespace halo::crypto
