#include "halo/edp/event_filter.h"

#include <catch2/catch.hpp>

namespace halo::edp {
namespace {

// Four people: ages 17, 18, 40, 65; genders F, M, F, M; regions north,
// south, south, north; homes north, north, west, west.
EventBatch People(EventSchema& schema) {
  schema = EventSchema({{"age", FieldType::kInt}, {"gender", FieldType::kString}, {"region", FieldType::kString},
                        {"home", FieldType::kString}});
  EventBatch batch;
  batch.Clear(4);
  batch.vids = {1, 2, 3, 4};
  batch.timestamps_micros = {0, 0, 0, 0};
  batch.event_groups = {{"g"}, {0, 0, 0, 0}};
  batch.columns[0].ints = {17, 18, 40, 65};
  batch.columns[1].strings = {{"M", "F"}, {1, 0, 1, 0}};
  batch.columns[2].strings = {{"north", "south"}, {0, 1, 1, 0}};
  batch.columns[3].strings = {{"north", "west"}, {0, 0, 1, 1}};
  return batch;
}

std::vector<uint8_t> Matches(const std::string& expression) {
  EventSchema schema;
  const EventBatch batch = People(schema);
  auto filter = EventFilter::Parse(expression);
  REQUIRE(filter.ok());
  auto bound = filter->Bind(schema);
  INFO(bound.status().message());
  REQUIRE(bound.ok());
  std::vector<uint8_t> keep;
  bound->Evaluate(batch, keep);
  return keep;
}

TEST_CASE("Filters select events by comparisons combined with &&, || and !") {
  using V = std::vector<uint8_t>;
  CHECK(Matches("") == V{1, 1, 1, 1});
  CHECK(Matches("age >= 18 && gender == \"F\"") == V{0, 0, 1, 0});
  CHECK(Matches("age < 18 || age > 60") == V{1, 0, 0, 1});
  CHECK(Matches("!(age < 18) && !(gender != \"M\")") == V{0, 1, 0, 1});
  CHECK(Matches("age >= 18 && gender == \"F\" || region == \"north\"") == V{1, 0, 1, 1});
  CHECK(Matches("age >= 18 && (gender == \"F\" || region == \"north\")") == V{0, 0, 1, 1});
  CHECK(Matches("region == home") == V{1, 0, 0, 0});
  CHECK(Matches("18 <= age && age <= 40") == V{0, 1, 1, 0});
  CHECK(Matches("age == -1 || true") == V{1, 1, 1, 1});
  CHECK(Matches("false") == V{0, 0, 0, 0});
}

TEST_CASE("A filter with a syntax error is refused with its position") {
  for (const auto& [expression, what] : std::vector<std::pair<std::string, std::string>>{
           {"age >= ", "at character 8"},
           {"age >= 18 &&", "found the end"},
           {"(age >= 18", "expected \")\""},
           {"gender == \"F", "no closing quote"},
           {"age", "is not a condition"},
           {"18", "a value is not a condition"},
           {"gender < \"F\"", "only with == and !="},
           {"age == \"18\" && 1 == \"x\"", "compares a string with an integer"},
           {"age >= 18 garbage", "unexpected"},
           {"age >= 99999999999999999999", "not a 64-bit integer"},
           {"age # 3", "is not a condition"}}) {
    auto filter = EventFilter::Parse(expression);
    INFO(expression);
    REQUIRE_FALSE(filter.ok());
    CHECK(filter.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(filter.status().message()), Catch::Contains(what));
  }
}

TEST_CASE("Binding refuses a field the events lack or a comparison of the wrong type") {
  EventSchema schema;
  People(schema);
  auto unknown = EventFilter::Parse("income > 5")->Bind(schema);
  CHECK(unknown.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(unknown.status().message()), Catch::Contains("\"income\""));
  auto mistyped = EventFilter::Parse("age == \"old\"")->Bind(schema);
  CHECK(mistyped.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(mistyped.status().message()), Catch::Contains("holds integers"));
  auto ordered = EventFilter::Parse("gender >= region")->Bind(schema);
  CHECK(ordered.status().code() == absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace halo::edp
