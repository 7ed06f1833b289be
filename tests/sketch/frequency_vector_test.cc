#include "halo/sketch/frequency_vector.h"

#include <catch2/catch.hpp>


namespace halo::sketch {
namespace {

FrequencyVectorSpec Spec(uint64_t population, double start, double width, uint32_t max_frequency = 5) {
  return *FrequencyVectorSpec::Create(population, {start, width}, max_frequency, 127);
}

TEST_CASE("Slots count events capped at max frequency, in the VIDs' keyed order") {
  const FrequencyVectorSpec spec = Spec(100, 0, 0.5, 3);
  const VidSampler sampler = spec.Sampler();
  std::vector<uint64_t> inside;
  for (uint64_t vid = 0; vid < 100 && inside.size() < 3; ++vid) {
    if (sampler.Contains(vid)) inside.push_back(vid);
  }
  REQUIRE(inside.size() == 3);
  FrequencyVector vector(spec);
  const uint64_t outside_population =
      vector.AddEvents({{inside[0], 1}, {inside[0], 1}, {inside[1], 5}, {inside[2], 200}, {100, 1}, {7000, 2}});
  CHECK(outside_population == 2);
  CHECK(vector.values()[sampler.Slot(inside[0])] == 2);
  CHECK(vector.values()[sampler.Slot(inside[1])] == 3);
  CHECK(vector.values()[sampler.Slot(inside[2])] == 3);
  CHECK(vector.values().size() == 50);
  int nonzero = 0;
  for (uint8_t v : vector.values()) nonzero += v > 0;
  CHECK(nonzero == 3);
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

}  // namespace
}  // namespace halo::sketch
