#include "halo/sketch/frequency_vector.h"

#include <catch2/catch.hpp>

#include "halo/sketch/direct_measurement.h"

namespace halo::sketch {
namespace {

FrequencyVectorSpec Spec(uint64_t population, double start, double width, uint32_t max_frequency = 5) {
  return *FrequencyVectorSpec::Create(population, {start, width}, max_frequency, 127);
}

TEST_CASE("The sampling interval selects its slice of VIDs, wrapping past 1") {
  const FrequencyVectorSpec plain = Spec(1000, 0.25, 0.1);
  CHECK(plain.FirstVid() == 250);
  CHECK(plain.SlotCount() == 100);
  const SlotMapper slot_of(plain);
  CHECK(slot_of(250) == 0);
  CHECK(slot_of(349) == 99);
  CHECK(slot_of(350) == 100);
  CHECK(slot_of(249) == 100);
  CHECK(slot_of(5000) == 100);

  const SlotMapper wrapped(Spec(1000, 0.95, 0.1));
  CHECK(wrapped(950) == 0);
  CHECK(wrapped(999) == 49);
  CHECK(wrapped(0) == 50);
  CHECK(wrapped(49) == 99);
  CHECK(wrapped(50) == 100);
}

TEST_CASE("Slots count events capped at max frequency") {
  FrequencyVector vector(Spec(100, 0, 0.5, 3));
  vector.AddEvents({{1, 1}, {1, 1}, {2, 5}, {60, 1}, {7, 200}, {100, 1}});
  CHECK(vector.values()[1] == 2);
  CHECK(vector.values()[2] == 3);
  CHECK(vector.values()[7] == 3);
  CHECK(vector.values()[0] == 0);
  CHECK(vector.values().size() == 50);
}

TEST_CASE("Shares add back to the vector and the seeded share is reproducible") {
  FrequencyVector vector(Spec(10000, 0.3, 0.5, 10));
  std::vector<VidEvent> events;
  for (uint64_t v = 0; v < 10000; v += 3) events.push_back({v, static_cast<uint32_t>(v % 13)});
  vector.AddEvents(events);
  const FrequencyVectorShares shares = vector.Split();
  auto expanded = ExpandShareSeed(shares.seed, vector.values().size(), 127);
  REQUIRE(expanded.ok());
  CHECK(*ExpandShareSeed(shares.seed, vector.values().size(), 127) == *expanded);
  auto sum = AddShares(*expanded, shares.data, 127);
  REQUIRE(sum.ok());
  CHECK(std::equal(sum->begin(), sum->end(), vector.values().begin()));
  // The data share alone looks nothing like the vector.
  size_t equal = 0;
  for (size_t i = 0; i < sum->size(); ++i) equal += shares.data[i] == vector.values()[i];
  CHECK(equal < sum->size() / 20);
}

TEST_CASE("Seed expansion is uniform over the ring (chi-square)") {
  auto share = ExpandShareSeed(std::string(32, 'u'), 1270000, 127);
  REQUIRE(share.ok());
  std::vector<double> counts(127, 0);
  for (uint8_t v : *share) {
    REQUIRE(v < 127);
    ++counts[v];
  }
  double chi = 0;
  for (double c : counts) chi += (c - 10000) * (c - 10000) / 10000;
  // 126 degrees of freedom; critical value at p = 1e-6 is about 218.
  CHECK(chi < 218);
}

TEST_CASE("Frequency vector inputs out of range are refused, naming them") {
  CHECK_THAT(std::string(FrequencyVectorSpec::Create(0, {0, 1}, 5, 127).status().message()),
             Catch::Contains("population"));
  CHECK_THAT(std::string(FrequencyVectorSpec::Create(10, {1.0, 0.5}, 5, 127).status().message()),
             Catch::Contains("start"));
  CHECK_THAT(std::string(FrequencyVectorSpec::Create(10, {0, 0}, 5, 127).status().message()),
             Catch::Contains("width"));
  CHECK_THAT(std::string(FrequencyVectorSpec::Create(10, {0, 1}, 127, 127).status().message()),
             Catch::Contains("modulus"));
  CHECK_FALSE(ExpandShareSeed("short", 10, 127).ok());
  CHECK_FALSE(ExpandShareSeed(std::string(32, 's'), 10, 1).ok());
  auto different_lengths = AddShares(std::vector<uint8_t>(3), std::vector<uint8_t>(4), 127);
  CHECK_THAT(std::string(different_lengths.status().message()), Catch::Contains("different lengths"));
  auto out_of_ring = AddShares(std::vector<uint8_t>{1, 200}, std::vector<uint8_t>{1, 1}, 127);
  CHECK_THAT(std::string(out_of_ring.status().message()), Catch::Contains("slot 1"));
}

TEST_CASE("Direct reach, capped impressions and capped watch time") {
  const FrequencyVectorSpec all = Spec(1000, 0, 1);
  const std::vector<VidEvent> events = {{1, 1}, {1, 4}, {2, 1}, {3, 2}, {900, 1}, {5000, 9}};
  CHECK(DirectReach(events, all) == 4);
  CHECK(DirectImpressions(events, all, 3) == 3 + 1 + 2 + 1);
  CHECK(DirectReach(events, Spec(1000, 0, 0.5)) == 3);
  const std::vector<DurationEvent> watched = {{1, 30}, {1, 50}, {2, 10}, {3, -5}, {2000, 100}};
  CHECK(DirectWatchDuration(watched, all, 60) == Approx(70));
}

}  // namespace
}  // namespace halo::sketch
