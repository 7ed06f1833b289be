#include "halo/edp/event_filter.h"

#include <catch2/catch.hpp>

namespace halo::edp {
namespace {

// Four people: ages 17, 18, 40, 65; genders F, M, F, M; regions north,
// south, south, north; homes north, north, west, west; viewed fractions
// 0.1, 0.25, 0.5, 1; viewable, not, viewable, not.
EventBatch People(EventSchema& schema) {
  schema = EventSchema({{"age", FieldType::kInt},
                        {"gender", FieldType::kString},
                        {"region", FieldType::kString},
                        {"home", FieldType::kString},
                        {"video_ad.viewed_fraction", FieldType::kDouble},
                        {"banner_ad.viewable", FieldType::kBool},
                        {"person.gender", FieldType::kString}});
  EventBatch batch;
  batch.Clear(7);
  batch.vids = {1, 2, 3, 4};
  batch.timestamps_micros = {0, 0, 0, 0};
  batch.event_groups = {{"g"}, {0, 0, 0, 0}};
  batch.columns[0].ints = {17, 18, 40, 65};
  batch.columns[1].strings = {{"M", "F"}, {1, 0, 1, 0}};
  batch.columns[2].strings = {{"north", "south"}, {0, 1, 1, 0}};
  batch.columns[3].strings = {{"north", "west"}, {0, 0, 1, 1}};
  batch.columns[4].doubles = {0.1, 0.25, 0.5, 1.0};
  batch.columns[5].ints = {1, 0, 1, 0};
  batch.columns[6].strings = {{"M", "F"}, {1, 0, 1, 0}};
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

TEST_CASE("Filters compare doubles, mix them with integers, read dotted names, bools and lists") {
  using V = std::vector<uint8_t>;
  CHECK(Matches("video_ad.viewed_fraction >= 0.25") == V{0, 1, 1, 1});
  CHECK(Matches("video_ad.viewed_fraction < 1") == V{1, 1, 1, 0});
  CHECK(Matches("video_ad.viewed_fraction == 0.5") == V{0, 0, 1, 0});
  CHECK(Matches("video_ad.viewed_fraction != 1e0") == V{1, 1, 1, 0});
  CHECK(Matches("age > 17.5") == V{0, 1, 1, 1});
  CHECK(Matches("age == 18.0 || 65 <= age") == V{0, 1, 0, 1});
}

TEST_CASE("Bool fields are conditions; in matches a list of strings or numbers") {
  using V = std::vector<uint8_t>;
  CHECK(Matches("banner_ad.viewable") == V{1, 0, 1, 0});
  CHECK(Matches("!banner_ad.viewable && age > 17") == V{0, 1, 0, 1});
  CHECK(Matches("banner_ad.viewable == false") == V{0, 1, 0, 1});
  CHECK(Matches("person.gender == \"M\" && banner_ad.viewable != true") == V{0, 1, 0, 1});
  CHECK(Matches("region in [\"north\", \"east\"]") == V{1, 0, 0, 1});
  CHECK(Matches("region in [\"east\"]") == V{0, 0, 0, 0});
  CHECK(Matches("region in []") == V{0, 0, 0, 0});
  CHECK(Matches("!(person.gender in [\"F\"])") == V{0, 1, 0, 1});
  CHECK(Matches("age in [17, 65]") == V{1, 0, 0, 1});
  CHECK(Matches("age in [40.0, 41.5]") == V{0, 0, 1, 0});
  CHECK(Matches("video_ad.viewed_fraction in [0.25, 1]") == V{0, 1, 0, 1});
}

TEST_CASE("A filter nested deeper or longer than its bounds is refused with a message, not a crash") {
  const auto refused = [](const std::string& expression, const std::string& what) {
    auto filter = EventFilter::Parse(expression);
    REQUIRE_FALSE(filter.ok());
    CHECK(filter.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK_THAT(std::string(filter.status().message()), Catch::Contains(what));
    CHECK(filter.status().message().size() < 400);
  };
  refused(std::string(100'000, '(') + "age > 1" + std::string(100'000, ')'), "characters long");
  refused(std::string(100'000, '!') + "banner_ad.viewable", "characters long");
  refused(std::string(65, '(') + "age > 1" + std::string(65, ')'), "deeper than 64");
  refused(std::string(65, '!') + "banner_ad.viewable", "deeper than 64");
  refused(std::string(30, '(') + std::string(35, '!') + "true" + std::string(30, ')'), "deeper than 64");
  CHECK(EventFilter::Parse(std::string(64, '(') + "age > 1" + std::string(64, ')')).ok());
  CHECK(EventFilter::Parse(std::string(64, '!') + "banner_ad.viewable").ok());
  // A long chain is one level, however many terms it has.
  std::string chain = "age > 1";
  while (chain.size() + 12 < kMaxFilterLength) chain += " && age > 1";
  CHECK(Matches(chain) == std::vector<uint8_t>{1, 1, 1, 1});
  refused(chain + " && age > 1 && age > 1", "characters long");
}

TEST_CASE("A filter with a syntax error is refused with its position") {
  for (const auto& [expression, what] : std::vector<std::pair<std::string, std::string>>{
           {"age >= ", "at character 8"},
           {"age >= 18 &&", "found the end"},
           {"(age >= 18", "expected \")\""},
           {"gender == \"F", "no closing quote"},
           {"18", "a value is not a condition"},
           {"gender < \"F\"", "only with == and !="},
           {"true < false", "only with == and !="},
           {"age == \"18\" && 1 == \"x\"", "compares integers with strings"},
           {"age >= 0.5.5", "not a finite decimal"},
           {"person..gender == \"F\"", "must start with a letter"},
           {"region in \"north\"", "expected \"[\""},
           {"region in [\"north\", 3]", "not both"},
           {"region in [gender]", "values, not fields"},
           {"region in [\"north\"", "expected \",\" or \"]\""},
           {"\"north\" in [\"north\"]", "must be a field"},
           {"age >= 18 garbage", "unexpected"},
           {"age >= 99999999999999999999", "not a 64-bit integer"},
           {"age # 3", "unexpected \"#"}}) {
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
  CHECK_THAT(std::string(mistyped.status().message()), Catch::Contains("compares integers with strings"));
  CHECK_THAT(std::string(mistyped.status().message()), Catch::Contains("\"age\""));
  auto ordered = EventFilter::Parse("gender >= region")->Bind(schema);
  CHECK(ordered.status().code() == absl::StatusCode::kFailedPrecondition);
  auto not_condition = EventFilter::Parse("age && banner_ad.viewable")->Bind(schema);
  CHECK(not_condition.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(not_condition.status().message()), Catch::Contains("is not a condition"));
  auto bool_order = EventFilter::Parse("banner_ad.viewable > 0")->Bind(schema);
  CHECK(bool_order.status().code() == absl::StatusCode::kFailedPrecondition);
  auto list_type = EventFilter::Parse("age in [\"x\"]")->Bind(schema);
  CHECK_THAT(std::string(list_type.status().message()), Catch::Contains("in a list of strings"));
}

// Which of the four people a relaxed filter matches.
std::vector<uint8_t> RelaxedMatches(const std::string& expression, const std::vector<std::string>& fields) {
  EventSchema schema;
  const EventBatch batch = People(schema);
  auto filter = EventFilter::Parse(expression);
  REQUIRE(filter.ok());
  auto bound = filter->Relaxed(fields).Bind(schema);
  REQUIRE(bound.ok());
  std::vector<uint8_t> keep;
  bound->Evaluate(batch, keep);
  return keep;
}

TEST_CASE("A relaxed filter takes other fields' comparisons as true, after pushing negations down") {
  using V = std::vector<uint8_t>;
  const std::vector<std::string> demographic = {"age", "gender"};
  CHECK(RelaxedMatches("age >= 18 && region == \"north\"", demographic) == V{0, 1, 1, 1});
  // !(a && b) is !a || !b: with b dropped as true, !b is true too.
  CHECK(RelaxedMatches("!(age >= 18 && region == \"north\")", demographic) == V{1, 1, 1, 1});
  CHECK(RelaxedMatches("!(age >= 18 || region == \"north\")", demographic) == V{1, 0, 0, 0});
  CHECK(RelaxedMatches("!(gender in [\"F\"]) && !banner_ad.viewable", demographic) == V{0, 1, 0, 1});
  CHECK(RelaxedMatches("!!(age < 18)", demographic) == V{1, 0, 0, 0});
  CHECK(RelaxedMatches("!(age != 40) || false", demographic) == V{0, 0, 1, 0});
  CHECK(RelaxedMatches("region == home", demographic) == V{1, 1, 1, 1});
  CHECK(RelaxedMatches("", demographic) == V{1, 1, 1, 1});
  // Every event the filter matches, the relaxed one matches.
  for (const char* f : {"age > 20 && !(region == \"south\" || gender == \"M\")", "!(age in [17, 40]) && home == \"west\"",
                        "!(video_ad.viewed_fraction < 0.3 && gender == \"F\")"}) {
    const V exact = Matches(f), relaxed = RelaxedMatches(f, demographic);
    for (size_t i = 0; i < exact.size(); ++i) CHECK((!exact[i] || relaxed[i]));
  }
}

}  // namespace
}  // namespace halo::edp
