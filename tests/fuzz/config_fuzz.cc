// A role's config text: an operator's typo must be an error naming the
// field, never a crash.
#include <filesystem>

#include "fuzz_support.h"
#include "halo/common/config.h"
#include "halo/common/files.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool seeded = [] {
    std::vector<std::string> seeds;
    for (const auto& entry : std::filesystem::directory_iterator(HALO_SOURCE_DIR "/config/local")) {
      if (auto text = halo::ReadFile(entry.path().string()); text.ok()) seeds.push_back(*text);
    }
    halo::fuzz::MaybeWriteSeeds(seeds);
    return true;
  }();
  (void)seeded;
  const absl::string_view text(reinterpret_cast<const char*>(data), size);
  (void)halo::ParseConfig(text, "fuzz.textproto", "");
  (void)halo::ParseConfig(text, "fuzz.textproto", "duchy");
  return 0;
}
