// One rule for every listing of every service: how a page is asked for and
// where the next one starts.
#ifndef HALO_API_PAGINATION_H_
#define HALO_API_PAGINATION_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo::api {

// page_size 0 means kDefaultPageSize; above kMaxPageSize means
// kMaxPageSize; below 0 is refused.
constexpr int kDefaultPageSize = 50;
constexpr int kMaxPageSize = 1000;
// A page also ends, after at least one item, once its items hold this many
// bytes: a response stays below gRPC's 4 MiB, and no party can pad what it
// creates until another party's listing fails.
constexpr size_t kMaxPageBytes = 2 << 20;

struct PageRequest {
  int size = kDefaultPageSize;
  // The items of the page come after this name (empty: from the first).
  std::string after;
};

// A page token is the name of the last item of the page before, so it must
// name a resource `within` the listing ("dataProviders/edp1/"; empty for
// any). INVALID_ARGUMENT naming page_size or page_token otherwise.
absl::StatusOr<PageRequest> ParsePageRequest(int32_t page_size, const std::string& page_token,
                                             absl::string_view within);

}  // namespace halo::api

#endif  // HALO_API_PAGINATION_H_
