#include "halo/api/resource_names.h"

#include <catch2/catch.hpp>

#include <set>

#include "halo/api/pagination.h"

namespace halo::api {
namespace {

TEST_CASE("Ids are lower-case, start with a letter and are at most 63 characters") {
  CHECK(IsValidId("edp1"));
  CHECK(IsValidId("a-b-9"));
  CHECK(IsValidId(std::string(63, 'a')));
  CHECK_FALSE(IsValidId(""));
  CHECK_FALSE(IsValidId("1edp"));
  CHECK_FALSE(IsValidId("Edp"));
  CHECK_FALSE(IsValidId("e/p"));
  CHECK_FALSE(IsValidId("e.p"));
  CHECK_FALSE(IsValidId(std::string(64, 'a')));
  std::set<std::string> made;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewId();
    CHECK(IsValidId(id));
    CHECK(id.size() == 16);
    made.insert(id);
  }
  CHECK(made.size() == 100);
}

TEST_CASE("Names match their forms, yielding their ids; anything else is refused naming the field") {
  CHECK(MatchName("dataProviders/a/requisitions/b", "dataProviders/*/requisitions/*") ==
        std::vector<std::string>{"a", "b"});
  CHECK_FALSE(MatchName("dataProviders/a/requisitions", "dataProviders/*/requisitions/*"));
  CHECK_FALSE(MatchName("dataProviders/a/requisitions/b/c", "dataProviders/*/requisitions/*"));
  CHECK_FALSE(MatchName("dataProviders/A/requisitions/b", "dataProviders/*/requisitions/*"));
  CHECK_FALSE(MatchName("dataProviders//requisitions/b", "dataProviders/*/requisitions/*"));
  CHECK_FALSE(MatchName("measurementConsumers/a/requisitions/b", "dataProviders/*/requisitions/*"));
  auto refused = ParseName("dataProviders/../x", "dataProviders/*", "parent");
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("parent") && Catch::Contains("dataProviders/*"));
  CHECK_THAT(std::string(ParseName("", "dataProviders/*", "parent").status().message()),
             Catch::Contains("parent is missing"));
}

TEST_CASE("A name's parent drops its last collection and id") {
  CHECK(ParentName("dataProviders/a/requisitions/b") == "dataProviders/a");
  CHECK(ParentName("computations/c/requisitions/r") == "computations/c");
  CHECK(ParentName("recurringExchanges/x/exchanges/2026-01-01/steps/1") == "recurringExchanges/x/exchanges/2026-01-01");
  CHECK(ParentName("dataProviders/a").empty());
  CHECK(ParentName("dataProviders").empty());
}

TEST_CASE("A name's top-level resource is its first collection and id") {
  CHECK(TopLevelName("recurringExchanges/x/exchanges/2026-01-01/steps/1") == "recurringExchanges/x");
  CHECK(TopLevelName("recurringExchanges/x") == "recurringExchanges/x");
  CHECK(TopLevelName("recurringExchanges/").empty());
  CHECK(TopLevelName("recurringExchanges").empty());
  CHECK(TopLevelName("/x").empty());
}

TEST_CASE("Every listing pages the same way: 0 means 50, at most 1000, negative refused, tokens from the listing") {
  CHECK(ParsePageRequest(0, "", "dataProviders/a/")->size == 50);
  CHECK(ParsePageRequest(7, "", "dataProviders/a/")->size == 7);
  CHECK(ParsePageRequest(5000, "", "dataProviders/a/")->size == 1000);
  CHECK_THAT(std::string(ParsePageRequest(-1, "", "").status().message()), Catch::Contains("page_size"));
  CHECK(ParsePageRequest(10, "dataProviders/a/requisitions/x", "dataProviders/a/")->after ==
        "dataProviders/a/requisitions/x");
  CHECK_THAT(std::string(ParsePageRequest(10, "dataProviders/b/requisitions/x", "dataProviders/a/").status().message()),
             Catch::Contains("page_token"));
  CHECK(ParsePageRequest(10, "anything", "").ok());
}

}  // namespace
}  // namespace halo::api
