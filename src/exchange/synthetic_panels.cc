#include "halo/exchange/synthetic_panels.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace halo::exchange {
namespace {

std::string Key(uint64_t seed, uint64_t id) {
  return absl::StrFormat("person-%016x-%d@example.com", std::hash<uint64_t>{}(seed * 0x9e3779b97f4a7c15ULL + id), id);
}

absl::Status WritePanel(const std::string& path, const std::vector<std::string>& keys, bool payloads) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::trunc);
  for (const std::string& key : keys) out << key << (payloads ? "\t" + SyntheticPayload(key) : "") << "\n";
  if (!out.flush()) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

}  // namespace

std::string SyntheticPayload(const std::string& key) {
  return absl::StrCat("segment=", std::hash<std::string>{}(key) % 97);
}

absl::Status WriteSyntheticPanels(const std::string& data_provider_panel, const std::string& model_provider_panel,
                                  uint64_t keys_each, uint64_t overlap, uint64_t seed) {
  if (overlap > keys_each) {
    return absl::InvalidArgumentError(absl::StrCat("an overlap of ", overlap, " does not fit panels of ", keys_each));
  }
  std::vector<std::string> ours, theirs;
  for (uint64_t i = 0; i < keys_each; ++i) {
    ours.push_back(Key(seed, i));
    theirs.push_back(Key(seed, i < overlap ? i : keys_each + i));
  }
  std::mt19937_64 random(seed);
  std::shuffle(ours.begin(), ours.end(), random);
  std::shuffle(theirs.begin(), theirs.end(), random);
  if (absl::Status s = WritePanel(data_provider_panel, ours, true); !s.ok()) return s;
  return WritePanel(model_provider_panel, theirs, false);
}

}  // namespace halo::exchange
