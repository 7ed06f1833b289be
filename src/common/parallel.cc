#include "halo/common/parallel.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace halo {

void ParallelFor(size_t n, int threads,
                 const std::function<void(size_t, size_t)>& body) {
  if (n == 0) return;
  size_t workers = std::clamp<size_t>(threads < 1 ? 1 : threads, 1, n);
  if (workers == 1) {
    body(0, n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(workers - 1);
  size_t chunk = n / workers;
  size_t extra = n % workers;
  size_t begin = 0;
  for (size_t w = 0; w < workers; ++w) {
    size_t end = begin + chunk + (w < extra ? 1 : 0);
    if (w + 1 == workers) {
      body(begin, end);
    } else {
      pool.emplace_back(body, begin, end);
    }
    begin = end;
  }
  for (std::thread& t : pool) t.join();
}

}  // namespace halo
