// Splits index ranges across threads for the batch APIs of the crypto and
// protocol libraries.
#ifndef HALO_COMMON_PARALLEL_H_
#define HALO_COMMON_PARALLEL_H_

#include <cstddef>
#include <algorithm>
#include <functional>
#include <optional>
#include <utility>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace halo {

// The threads a config's parallelism setting asks for: itself when set,
// otherwise one a core (0 means "one per core" in every config).
inline int ThreadsOrCores(int configured) {
  return configured > 0 ? configured : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

// Calls `body(begin, end)` on disjoint contiguous ranges that cover [0, n),
// using up to `threads` threads (the calling thread is one of them); threads
// take small ranges as they finish, which balances uneven cores. Returns
// after every range is done. `threads` < 1 is treated as 1. `body` must be
// safe to call concurrently on disjoint ranges.
void ParallelFor(size_t n, int threads,
                 const std::function<void(size_t begin, size_t end)>& body);

// The threads a stage request's `parallelism` asks for: 0 means 1; negative
// values are refused, naming the field.
absl::StatusOr<int> ThreadsForParallelism(int32_t parallelism);

// Returns fn(inputs[i]) for every i, in order, computed on up to `threads`
// threads.
template <typename Out, typename In, typename Fn>
std::vector<Out> ParallelMap(absl::Span<const In> inputs, int threads, const Fn& fn) {
  std::vector<std::optional<Out>> slots(inputs.size());
  ParallelFor(inputs.size(), threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) slots[i].emplace(fn(inputs[i]));
  });
  std::vector<Out> out;
  out.reserve(slots.size());
  for (std::optional<Out>& slot : slots) out.push_back(std::move(*slot));
  return out;
}

}  // namespace halo

#endif  // HALO_COMMON_PARALLEL_H_
