#include "halo/common/parallel.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace halo {

void ParallelFor(size_t n, int threads, const std::function<void(size_t, size_t)>& body) {
  if (n == 0) return;
  const size_t workers = std::clamp<size_t>(threads < 1 ? 1 : threads, 1, n);
  if (workers == 1) {
    body(0, n);
    return;
  }
  // Threads claim small chunks rather than fixed shares, so that a core
  // slowed by other load (common on VMs) does not hold up the rest.
  const size_t chunk = std::max<size_t>(1, n / (workers * 32));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t begin = next.fetch_add(chunk); begin < n; begin = next.fetch_add(chunk)) {
      body(begin, std::min(n, begin + chunk));
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

absl::StatusOr<int> ThreadsForParallelism(int32_t parallelism) {
  if (parallelism < 0) {
    return absl::InvalidArgumentError(absl::StrCat("parallelism must be >= 0, got ", parallelism));
  }
  return std::max(1, static_cast<int>(parallelism));
}

}  // namespace halo
