// What the fuzz targets share: a seed corpus a target can write for itself
// (valid inputs are easier to build in code than by hand), and the split of
// an input into a selector byte and the bytes another party would send.
#ifndef HALO_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define HALO_TESTS_FUZZ_FUZZ_SUPPORT_H_

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "halo/crypto/sha256.h"
#include "halo/common/hex.h"

namespace halo::fuzz {

// With HALO_FUZZ_WRITE_SEEDS=DIR in the environment, writes each seed to
// DIR (named by its SHA-256, as libFuzzer names corpus files) and exits:
// scripts/fuzz --seed TARGET fills tests/fuzz/corpus/TARGET this way.
inline void MaybeWriteSeeds(const std::vector<std::string>& seeds) {
  const char* dir = std::getenv("HALO_FUZZ_WRITE_SEEDS");
  if (dir == nullptr) return;
  for (const std::string& seed : seeds) {
    std::ofstream(absl::StrCat(dir, "/", HexEncode(crypto::Sha256(seed)).substr(0, 40)), std::ios::binary) << seed;
  }
  std::_Exit(0);  // not exit(): libFuzzer takes that for a crash
}

struct Selected {
  uint8_t selector = 0;
  absl::string_view rest;
};

inline Selected Select(const uint8_t* data, size_t size) {
  if (size == 0) return {};
  return {data[0], absl::string_view(reinterpret_cast<const char*>(data) + 1, size - 1)};
}

inline std::string WithSelector(uint8_t selector, absl::string_view rest) {
  return absl::StrCat(std::string(1, static_cast<char>(selector)), rest);
}

}  // namespace halo::fuzz

#endif  // HALO_TESTS_FUZZ_FUZZ_SUPPORT_H_
