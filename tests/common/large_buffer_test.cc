#include "halo/common/large_buffer.h"

#include <catch2/catch.hpp>
#include <utility>

namespace halo {
namespace {

TEST_CASE("A large buffer starts zeroed, moves without copying and frees once") {
  auto buffer = LargeBuffer::Allocate(5 << 20);
  REQUIRE(buffer.ok());
  REQUIRE(buffer->size() == size_t{5} << 20);
  size_t nonzero = 0;
  for (uint8_t b : buffer->span()) nonzero += b != 0;
  CHECK(nonzero == 0);
  (*buffer)[12345] = 7;
  const uint8_t* memory = buffer->data();
  LargeBuffer moved = *std::move(buffer);
  CHECK(moved.data() == memory);
  CHECK(moved[12345] == 7);
  CHECK(moved.view().size() == moved.size());
  LargeBuffer assigned;
  assigned = std::move(moved);
  CHECK(assigned.data() == memory);
  CHECK(moved.size() == 0);
  assigned.Release();
  CHECK(assigned.data() == nullptr);
  CHECK(LargeBuffer::Allocate(0)->size() == 0);
}

TEST_CASE("A buffer larger than the address space is refused, naming its size") {
  auto refused = LargeBuffer::Allocate(size_t{1} << 62);
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.status().code() == absl::StatusCode::kResourceExhausted);
  CHECK_THAT(std::string(refused.status().message()), Catch::Contains("4611686018427387904 bytes"));
}

}  // namespace
}  // namespace halo
