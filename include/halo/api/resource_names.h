// Resource names ("dataProviders/edp1/requisitions/x1") for every role: ids
// checked, names matched against their forms, parents found, and the ids
// the Kingdom makes. Parsing refuses anything malformed.
#ifndef HALO_API_RESOURCE_NAMES_H_
#define HALO_API_RESOURCE_NAMES_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo::api {

// An id: [a-z][a-z0-9-]{0,62}, which the ids the Kingdom makes are too.
bool IsValidId(absl::string_view id);

// The ids in `name` where `pattern` has "*", e.g.
// MatchName("dataProviders/a/requisitions/b", "dataProviders/*/requisitions/*")
// gives {"a", "b"}; nullopt if it does not match or an id is malformed.
std::optional<std::vector<std::string>> MatchName(absl::string_view name, absl::string_view pattern);

// The same, as INVALID_ARGUMENT naming `field` and the expected form.
absl::StatusOr<std::vector<std::string>> ParseName(absl::string_view name, absl::string_view pattern,
                                                   absl::string_view field);

// The resource `name` is in: "dataProviders/a" for
// "dataProviders/a/requisitions/b"; empty for a top-level one. `name` must
// already have matched its form.
std::string ParentName(absl::string_view name);

// The top-level resource `name` is under: "recurringExchanges/x" for
// "recurringExchanges/x/exchanges/2026-01-01/steps/1", and for itself; empty
// when `name` has no id.
std::string TopLevelName(absl::string_view name);

// A fresh random id (16 lower-case hex digits, first a letter).
std::string NewId();

}  // namespace halo::api

#endif  // HALO_API_RESOURCE_NAMES_H_
