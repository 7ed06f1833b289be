#include "halo/common/parallel.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

namespace halo {
namespace {

TEST_CASE("ParallelFor covers every index exactly once on several threads") {
  for (int threads : {1, 2, 3, 8}) {
    std::vector<int> hits(1001, 0);
    std::mutex mu;
    std::set<std::thread::id> ids;
    ParallelFor(hits.size(), threads, [&](size_t begin, size_t end) {
      for (size_t i = begin; i < end; ++i) ++hits[i];
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
    });
    for (int h : hits) REQUIRE(h == 1);
    CHECK(ids.size() <= static_cast<size_t>(threads));
  }
  ParallelFor(0, 4, [](size_t, size_t) { FAIL("called for an empty range"); });
}

TEST_CASE("ParallelFor shares slow work between threads") {
  std::mutex mu;
  std::set<std::thread::id> ids;
  ParallelFor(64, 2, [&](size_t, size_t) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    std::lock_guard<std::mutex> lock(mu);
    ids.insert(std::this_thread::get_id());
  });
  CHECK(ids.size() == 2);
}

TEST_CASE("ParallelMap keeps input order") {
  std::vector<int> in(500);
  for (int i = 0; i < 500; ++i) in[i] = i;
  std::vector<int> out = ParallelMap<int>(absl::MakeConstSpan(in), 3, [](int x) { return x * x; });
  for (int i = 0; i < 500; ++i) CHECK(out[i] == i * i);
}

}  // namespace
}  // namespace halo

namespace halo {
namespace {

TEST_CASE("A request's parallelism becomes a thread count; negative is refused") {
  CHECK(*ThreadsForParallelism(0) == 1);
  CHECK(*ThreadsForParallelism(3) == 3);
  auto refused = ThreadsForParallelism(-2);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("parallelism"));
}

}  // namespace
}  // namespace halo
