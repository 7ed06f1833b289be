#include "halo/api/resource_names.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "halo/common/hex.h"
#include "halo/crypto/random.h"

namespace halo::api {

bool IsValidId(absl::string_view id) {
  if (id.empty() || id.size() > 63 || id[0] < 'a' || id[0] > 'z') return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

std::optional<std::vector<std::string>> MatchName(absl::string_view name, absl::string_view pattern) {
  const std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  const std::vector<absl::string_view> expected = absl::StrSplit(pattern, '/');
  if (parts.size() != expected.size()) return std::nullopt;
  std::vector<std::string> ids;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (expected[i] == "*") {
      if (!IsValidId(parts[i])) return std::nullopt;
      ids.emplace_back(parts[i]);
    } else if (parts[i] != expected[i]) {
      return std::nullopt;
    }
  }
  return ids;
}

absl::StatusOr<std::vector<std::string>> ParseName(absl::string_view name, absl::string_view pattern,
                                                   absl::string_view field) {
  if (name.empty()) return absl::InvalidArgumentError(absl::StrCat(field, " is missing"));
  auto ids = MatchName(name, pattern);
  if (!ids) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, " \"", name.substr(0, 200), "\" is not a resource name of the form ", pattern));
  }
  return *ids;
}

std::string ParentName(absl::string_view name) {
  // A name alternates collection and id: the parent drops the last pair.
  size_t cut = name.rfind('/');
  if (cut == absl::string_view::npos) return "";
  cut = name.rfind('/', cut - 1);
  return cut == absl::string_view::npos ? "" : std::string(name.substr(0, cut));
}

std::string TopLevelName(absl::string_view name) {
  const size_t collection_end = name.find('/');
  if (collection_end == absl::string_view::npos || collection_end == 0 || collection_end + 1 == name.size()) {
    return "";
  }
  return std::string(name.substr(0, name.find('/', collection_end + 1)));
}

std::string NewId() {
  std::string id = HexEncode(crypto::SecureRandomBytes(8));
  // Hex may start with a digit; ids start with a letter.
  id[0] = static_cast<char>('a' + (id[0] % 6));
  return id;
}

}  // namespace halo::api
