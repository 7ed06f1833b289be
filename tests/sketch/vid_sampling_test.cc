#include "halo/sketch/vid_sampling.h"

#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

namespace halo::sketch {
namespace {

TEST_CASE("A VID's position is a permutation of the population") {
  for (uint64_t n : {1ull, 2ull, 3ull, 5ull, 1000ull, 1023ull, 1024ull, 1025ull, 65537ull}) {
    const VidOrder order = *VidOrder::Create(n);
    std::vector<uint8_t> seen(n, 0);
    for (uint64_t vid = 0; vid < n; ++vid) {
      const uint64_t position = order.Position(vid);
      REQUIRE(position < n);
      seen[position] += 1;
    }
    for (uint64_t p = 0; p < n; ++p) REQUIRE(seen[p] == 1);
  }
}

TEST_CASE("The order is not the VIDs' own order") {
  const VidOrder order = *VidOrder::Create(1'000'000);
  uint64_t ascending = 0;
  for (uint64_t vid = 0; vid + 1 < 10000; ++vid) ascending += order.Position(vid) < order.Position(vid + 1);
  // About half of neighbours ascend in a random order; all do in the raw one.
  CHECK(ascending > 4800);
  CHECK(ascending < 5200);
}

// The VIDs of [0, n) an interval holds, and that their slots are 0 ..
// slots() - 1, each once.
uint64_t CheckSlots(uint64_t n, VidSamplingInterval interval) {
  const VidSampler sampler = *VidSampler::Create(n, interval);
  std::vector<uint8_t> seen(sampler.slots(), 0);
  uint64_t inside = 0;
  for (uint64_t vid = 0; vid < n; ++vid) {
    const uint64_t slot = sampler.Slot(vid);
    if (slot == sampler.slots()) continue;
    ++inside;
    REQUIRE(seen[slot] == 0);
    seen[slot] = 1;
  }
  CHECK(inside == sampler.slots());
  return inside;
}

TEST_CASE("An interval holds floor(N (start + width)) - floor(N start) VIDs, wrapping past 1") {
  CHECK(CheckSlots(1000, {0.25, 0.1}) == 100);
  CHECK(CheckSlots(1000, {0.95, 0.1}) == 100);
  CHECK(CheckSlots(1000, {0.5, 1.0}) == 1000);
  CHECK(CheckSlots(1000, {0, 1}) == 1000);
  CHECK(CheckSlots(7, {0.2, 0.5}) == 3);  // floor(4.9) - floor(1.4)
  CHECK(CheckSlots(1000, {0.999, 0.0001}) == 1);

  // A wrapping interval is the primary range, then the wrapped one.
  const VidSampler wrapped = *VidSampler::Create(1000, {0.95, 0.1});
  const VidOrder& order = wrapped.order();
  for (uint64_t vid = 0; vid < 1000; ++vid) {
    const uint64_t p = order.Position(vid);
    if (p >= 950) CHECK(wrapped.Slot(vid) == p - 950);
    else if (p < 50) CHECK(wrapped.Slot(vid) == p + 50);
    else CHECK_FALSE(wrapped.Contains(vid));
  }
}

TEST_CASE("VIDs outside the population are in no interval") {
  const VidSampler all = *VidSampler::Create(1000, {0, 1});
  CHECK_FALSE(all.Contains(1000));
  CHECK_FALSE(all.InPopulation(1000));
  CHECK(all.Slot(1u << 30) == all.slots());
  CHECK(all.InPopulation(999));
}

TEST_CASE("Bad intervals and populations are refused by name") {
  CHECK_THAT(std::string(VidSampler::Create(0, {0, 1}).status().message()), Catch::Contains("population"));
  CHECK_THAT(std::string(VidSampler::Create(10, {1.0, 0.5}).status().message()), Catch::Contains("start"));
  CHECK_THAT(std::string(VidSampler::Create(10, {-0.1, 0.5}).status().message()), Catch::Contains("start"));
  CHECK_THAT(std::string(VidSampler::Create(10, {0, 0}).status().message()), Catch::Contains("width"));
  CHECK_THAT(std::string(VidSampler::Create(10, {0, 1.5}).status().message()), Catch::Contains("width"));
  CHECK_THAT(std::string(VidSampler::Create(10, {0, std::nan("")}).status().message()), Catch::Contains("width"));
}

// VID models give contiguous VID ranges to demographic groups; the sample of
// each range must be its share of the interval, not all or nothing.
TEST_CASE("VID ranges with different attributes are sampled at the same rate") {
  constexpr uint64_t kPopulation = 1'000'000;
  // "18-34" is the first 30% of VIDs, "35+" the rest; then 100 blocks.
  for (VidSamplingInterval interval : {VidSamplingInterval{0.2, 0.5}, VidSamplingInterval{0.0, 0.1},
                                       VidSamplingInterval{0.9, 0.3}, VidSamplingInterval{0.31, 0.02}}) {
    const VidSampler sampler = *VidSampler::Create(kPopulation, interval);
    const double w = sampler.fraction();
    uint64_t young = 0, old = 0;
    std::vector<uint64_t> blocks(100, 0);
    for (uint64_t vid = 0; vid < kPopulation; ++vid) {
      if (!sampler.Contains(vid)) continue;
      (vid < 300'000 ? young : old) += 1;
      blocks[vid / 10'000] += 1;
    }
    INFO("interval start " << interval.start << " width " << interval.width);
    const auto within = [&](double count, double size) {
      const double se = std::sqrt(size * w * (1 - w));
      return std::abs(count - size * w) <= 4 * se;
    };
    CHECK(within(static_cast<double>(young), 300'000));
    CHECK(within(static_cast<double>(old), 700'000));
    // Blocks of 10,000 VIDs: chi-square over 99 degrees of freedom stays well
    // below its 99.99th percentile (~157) when every block is sampled alike.
    double chi_square = 0;
    for (uint64_t count : blocks) {
      const double expected = 10'000 * w;
      chi_square += (static_cast<double>(count) - expected) * (static_cast<double>(count) - expected) /
                    (expected * (1 - w));
    }
    CHECK(chi_square < 157);
  }
}

// The standard errors assume a random sample: between small VID ranges the
// sampled counts must vary as binomial draws do, neither more (clumps) nor
// less (an evenly spread lattice, which would make the errors too wide).
TEST_CASE("Samples of small VID ranges vary as random samples do") {
  for (uint64_t population : {1'000'000ull, 3'000'017ull}) {
    for (VidSamplingInterval interval : {VidSamplingInterval{0.2, 0.5}, VidSamplingInterval{0.95, 0.1}}) {
      const VidSampler sampler = *VidSampler::Create(population, interval);
      const double w = sampler.fraction();
      constexpr uint64_t kBlock = 100;
      const uint64_t blocks = population / kBlock;
      double chi_square = 0;
      for (uint64_t b = 0; b < blocks; ++b) {
        uint64_t count = 0;
        for (uint64_t vid = b * kBlock; vid < (b + 1) * kBlock; ++vid) count += sampler.Contains(vid);
        const double expected = kBlock * w;
        chi_square += (count - expected) * (count - expected) / (expected * (1 - w));
      }
      // About blocks - 1 with a standard deviation of sqrt(2 blocks): 6 of
      // them either way.
      const double df = static_cast<double>(blocks - 1), sd = std::sqrt(2 * df);
      INFO("population " << population << ", interval " << interval.start << "+" << interval.width
                         << ": chi-square " << chi_square << " over " << df << " degrees of freedom");
      CHECK(std::abs(chi_square - df) < 6 * sd);
    }
  }
}

}  // namespace
}  // namespace halo::sketch
