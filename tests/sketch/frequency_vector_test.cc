#include "halo/sketch/frequency_vector.h"

#include <catch2/catch.hpp>

#include "halo/crypto/seeded_prng.h"


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
  FrequencyVector vector = *FrequencyVector::Create(spec);
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
  FrequencyVector vector = *FrequencyVector::Create(Spec(10000, 0.3, 0.5, 10));
  std::vector<VidEvent> events;
  for (uint64_t v = 0; v < 10000; v += 3) events.push_back({v, static_cast<uint32_t>(v % 13)});
  vector.AddEvents(events);
  const std::vector<uint8_t> values(vector.values().begin(), vector.values().end());
  const FrequencyVectorShares shares = std::move(vector).Split();
  auto expanded = ExpandShareSeed(shares.seed, values.size(), 127);
  REQUIRE(expanded.ok());
  CHECK(*ExpandShareSeed(shares.seed, values.size(), 127) == *expanded);
  auto sum = AddShares(*expanded, shares.data.span(), 127);
  REQUIRE(sum.ok());
  CHECK(*sum == values);
  // The data share alone looks nothing like the vector.
  size_t equal = 0;
  for (size_t i = 0; i < sum->size(); ++i) equal += shares.data[i] == values[i];
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

// Expansion as its definition reads: each keystream byte below the largest
// multiple of q in a byte gives b mod q; the others are skipped.
std::vector<uint8_t> ExpandByDefinition(const std::string& seed, size_t slots, uint32_t q) {
  crypto::SeededPrng prng = *crypto::SeededPrng::Create(seed);
  const uint32_t limit = 256 - 256 % q;
  std::vector<uint8_t> out;
  while (out.size() < slots) {
    const auto b = static_cast<uint8_t>(prng.NextBytes(1)[0]);
    if (b < limit) out.push_back(static_cast<uint8_t>(b % q));
  }
  return out;
}

TEST_CASE("Seed expansion follows its definition for every kind of modulus, in pieces of any size") {
  for (uint32_t q : {2u, 3u, 85u, 86u, 100u, 127u, 128u, 129u, 200u, 255u, 256u}) {
    INFO("modulus " << q);
    const std::string seed(32, static_cast<char>(q));
    const std::vector<uint8_t> expected = ExpandByDefinition(seed, 50000, q);
    CHECK(*ExpandShareSeed(seed, expected.size(), q) == expected);
    ShareSeedExpander expander = *ShareSeedExpander::Create(seed, q);
    std::vector<uint8_t> pieces(expected.size());
    size_t at = 0;
    for (size_t n : {1, 7, 4095, 4096, 4097, 10000}) {
      expander.Next(absl::MakeSpan(pieces.data() + at, n));
      at += n;
    }
    expander.Next(absl::MakeSpan(pieces.data() + at, pieces.size() - at));
    CHECK(pieces == expected);
  }
}

TEST_CASE("Ring arithmetic over runs of slots matches slot-by-slot arithmetic, up to q = 256") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'r'));
  for (uint32_t q : {2u, 11u, 127u, 128u, 129u, 255u, 256u}) {
    INFO("modulus " << q);
    std::vector<uint8_t> a(10007), b(10007);
    for (size_t i = 0; i < a.size(); ++i) {
      a[i] = static_cast<uint8_t>(random.UniformBelow(q));
      b[i] = static_cast<uint8_t>(random.UniformBelow(q));
    }
    // The extremes, where a carry or a borrow out of the byte happens.
    a[0] = static_cast<uint8_t>(q - 1);
    b[0] = static_cast<uint8_t>(q - 1);
    a[1] = 0;
    b[1] = static_cast<uint8_t>(q - 1);
    std::vector<uint8_t> sum = a, difference = a;
    AddInRing(absl::MakeSpan(sum), b, q);
    SubtractInRing(absl::MakeSpan(difference), b, q);
    for (size_t i = 0; i < a.size(); ++i) {
      INFO("slot " << i << ": " << int{a[i]} << " and " << int{b[i]});
      REQUIRE(sum[i] == (a[i] + b[i]) % q);
      REQUIRE(difference[i] == (a[i] + q - b[i]) % q);
    }
    CHECK(FirstOutsideRing(a, q) == a.size());
    if (q < 256) {
      a[9000] = static_cast<uint8_t>(q);
      a[9500] = 255;
      CHECK(FirstOutsideRing(a, q) == 9000);
    }
  }
}

TEST_CASE("Splitting takes the vector's memory for the data share") {
  FrequencyVector vector = *FrequencyVector::Create(Spec(5000, 0, 1, 10));
  vector.AddEvents({{1, 3}, {2, 9}});
  const std::vector<uint8_t> values(vector.values().begin(), vector.values().end());
  const uint8_t* memory = vector.values().data();
  const FrequencyVectorShares shares = std::move(vector).Split();
  CHECK(shares.data.data() == memory);
  auto sum = AddShares(*ExpandShareSeed(shares.seed, values.size(), 127), shares.data.span(), 127);
  CHECK(*sum == values);
}

}  // namespace
}  // namespace halo::sketch
