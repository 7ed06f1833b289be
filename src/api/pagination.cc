#include "halo/api/pagination.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace halo::api {

absl::StatusOr<PageRequest> ParsePageRequest(int32_t page_size, const std::string& page_token,
                                             absl::string_view within) {
  if (page_size < 0) return absl::InvalidArgumentError(absl::StrCat("page_size: must be >= 0, got ", page_size));
  if (!page_token.empty() && !absl::StartsWith(page_token, within)) {
    return absl::InvalidArgumentError("page_token: is not from this listing");
  }
  return PageRequest{.size = page_size == 0 ? kDefaultPageSize : std::min<int32_t>(page_size, kMaxPageSize),
                     .after = page_token};
}

}  // namespace halo::api
