// Resource names and ids: parsing that refuses anything malformed, and the
// ids the Kingdom makes.
#ifndef HALO_SRC_KINGDOM_NAMES_H_
#define HALO_SRC_KINGDOM_NAMES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo::kingdom {

// An id: [a-z][a-z0-9-]{0,62}, or one the Kingdom made.
bool IsValidId(absl::string_view id);

// The ids in `name` where `pattern` has "*", e.g.
// MatchName("dataProviders/a/requisitions/b", "dataProviders/*/requisitions/*")
// gives {"a", "b"}; nullopt if it does not match or an id is malformed.
std::optional<std::vector<std::string>> MatchName(absl::string_view name, absl::string_view pattern);

// The same, as INVALID_ARGUMENT naming `field` and the expected form.
absl::StatusOr<std::vector<std::string>> ParseName(absl::string_view name, absl::string_view pattern,
                                                   absl::string_view field);

// A fresh random id (16 lower-case hex digits, first a letter).
std::string NewId();

}  // namespace halo::kingdom

#endif  // HALO_SRC_KINGDOM_NAMES_H_
