#include "halo/sketch/liquid_legions.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <set>

#include "halo/crypto/seeded_prng.h"

namespace halo::sketch {
namespace {

LiquidLegionsParams Params(double a, uint64_t m, uint64_t seed = 42) {
  return *LiquidLegionsParams::Create(a, m, seed);
}

LiquidLegionsSketch Build(const LiquidLegionsParams& params, const std::vector<VidEvent>& events) {
  LiquidLegionsSketch sketch(params);
  sketch.AddEvents(events);
  return sketch;
}

TEST_CASE("Fingerprints are stable, seeded and distinct") {
  // Pinned: a changed fingerprint would silently split every union across versions.
  CHECK(Fingerprint(0, 0) == 0xb456bcfc34c2cb2cULL);
  CHECK(Fingerprint(12345, 42) == 0x9450796f055f2d6aULL);
  CHECK(Fingerprint(12345, 42) == Fingerprint(12345, 42));
  CHECK(Fingerprint(12345, 42) != Fingerprint(12345, 43));
  std::set<uint64_t> seen;
  for (uint64_t vid = 0; vid < 100000; ++vid) seen.insert(Fingerprint(vid, 7));
  CHECK(seen.size() == 100000);
}

TEST_CASE("Register probabilities sum to one and decay exponentially") {
  for (const auto& params : {Params(5.6, 1000000), Params(12, 100000), Params(1, 10)}) {
    double total = 0;
    for (uint64_t i = 0; i < params.size; ++i) total += RegisterProbability(i, params);
    CHECK(total == Approx(1.0).epsilon(1e-9));
    CHECK(RegisterProbability(0, params) / RegisterProbability(1, params) ==
          Approx(std::exp(params.decay_rate / params.size)));
  }
}

TEST_CASE("Register indexes follow the legionary distribution (chi-square)") {
  const LiquidLegionsParams params = Params(12, 1000);
  crypto::SeededPrng prng = *crypto::SeededPrng::Create(std::string(32, 's'));
  constexpr int kDraws = 1000000;
  constexpr int kBinWidth = 10;
  std::vector<double> observed(params.size / kBinWidth, 0);
  for (int i = 0; i < kDraws; ++i) ++observed[RegisterIndex(prng.NextUint64(), params) / kBinWidth];
  double chi = 0;
  for (size_t bin = 0; bin < observed.size(); ++bin) {
    double p = 0;
    for (int j = 0; j < kBinWidth; ++j) p += RegisterProbability(bin * kBinWidth + j, params);
    chi += std::pow(observed[bin] - p * kDraws, 2) / (p * kDraws);
  }
  // 99 degrees of freedom; the critical value at p = 1e-6 is about 183.
  CHECK(chi < 183);
}

TEST_CASE("Events of one VID add up; two VIDs in one register destroy it") {
  const LiquidLegionsParams params = Params(5.6, 20);
  // Find two VIDs that share a register.
  std::map<uint32_t, uint64_t> first_vid;
  uint64_t a = 0, b = 0;
  for (uint64_t vid = 1; b == 0; ++vid) {
    const uint32_t index = RegisterIndex(Fingerprint(vid, params.seed), params);
    if (auto it = first_vid.find(index); it != first_vid.end()) {
      a = it->second;
      b = vid;
    } else {
      first_vid[index] = vid;
    }
  }
  const LiquidLegionsSketch one = Build(params, {{a, 2}, {a, 3}});
  REQUIRE(one.registers().size() == 1);
  CHECK_FALSE(one.registers()[0].destroyed);
  CHECK(one.registers()[0].count == 5);
  CHECK(one.registers()[0].key == Fingerprint(a, params.seed));

  const LiquidLegionsSketch both = Build(params, {{a, 2}, {b, 1}, {a, 1}});
  REQUIRE(both.registers().size() == 1);
  CHECK(both.registers()[0].destroyed);
  CHECK(both.registers()[0].count == 0);
}

TEST_CASE("Building is independent of event order and chunking, and merge is the union") {
  const LiquidLegionsParams params = Params(12, 100000);
  crypto::SeededPrng prng = *crypto::SeededPrng::Create(std::string(32, 'o'));
  std::vector<VidEvent> events;
  for (int i = 0; i < 700000; ++i) events.push_back({prng.UniformBelow(200000), 1 + static_cast<uint32_t>(i % 3)});
  const LiquidLegionsSketch whole = Build(params, events);

  std::vector<VidEvent> reversed(events.rbegin(), events.rend());
  CHECK(Build(params, reversed).Serialize() == whole.Serialize());

  LiquidLegionsSketch left = Build(params, {events.begin(), events.begin() + 300000});
  const LiquidLegionsSketch right = Build(params, {events.begin() + 300000, events.end()});
  REQUIRE(left.Merge(right).ok());
  CHECK(left.Serialize() == whole.Serialize());

  CHECK_FALSE(left.Merge(LiquidLegionsSketch(Params(12, 100000, 43))).ok());
  auto mismatch = left.Merge(LiquidLegionsSketch(Params(5.6, 100000)));
  REQUIRE_FALSE(mismatch.ok());
  CHECK_THAT(std::string(mismatch.message()), Catch::Contains("different parameters"));
}

TEST_CASE("Memory grows with active registers, not with the sketch size") {
  LiquidLegionsSketch sketch(Params(12, uint64_t{1} << 32));
  sketch.AddEvents({{1, 1}, {2, 1}, {3, 1}});
  CHECK(sketch.ActiveRegisterCount() == 3);
  CHECK(sketch.Serialize().size() < 200);
}

TEST_CASE("Serialization round-trips") {
  const LiquidLegionsSketch sketch = Build(Params(5.6, 1000), {{1, 1}, {2, 4}, {3, 1}, {1, 2}});
  auto back = LiquidLegionsSketch::Deserialize(sketch.Serialize());
  REQUIRE(back.ok());
  CHECK(back->params() == sketch.params());
  CHECK(std::equal(back->registers().begin(), back->registers().end(), sketch.registers().begin(),
                   sketch.registers().end()));
}

TEST_CASE("Deserialization refuses bad bytes, naming the problem") {
  const LiquidLegionsParams params = Params(5.6, 1000);
  const std::string good = Build(params, {{1, 1}, {2, 1}, {3, 1}, {4, 1}}).Serialize();
  auto error_of = [](const std::string& bytes) {
    auto sketch = LiquidLegionsSketch::Deserialize(bytes);
    REQUIRE_FALSE(sketch.ok());
    return std::string(sketch.status().message());
  };
  CHECK_THAT(error_of(good.substr(0, 10)), Catch::Contains("shorter than its header"));
  CHECK_THAT(error_of(good.substr(0, good.size() - 1)), Catch::Contains("registers but carries"));
  CHECK_THAT(error_of(good + "x"), Catch::Contains("registers but carries"));
  CHECK_THAT(error_of("XXXX" + good.substr(4)), Catch::Contains("magic"));
  std::string version = good;
  version[4] = 2;
  CHECK_THAT(error_of(version), Catch::Contains("version 2"));

  auto with_registers = [&](std::vector<Register> registers) {
    return LiquidLegionsSketch::FromRegisters(params, std::move(registers)).status();
  };
  CHECK_THAT(std::string(with_registers({{5, false, 9, 1}, {5, false, 8, 1}}).message()),
             Catch::Contains("register 1: index 5 is not above"));
  CHECK_THAT(std::string(with_registers({{6, false, 9, 1}, {5, false, 8, 1}}).message()),
             Catch::Contains("register 1"));
  CHECK_THAT(std::string(with_registers({{1000, false, 9, 1}}).message()), Catch::Contains("not below the size"));
  CHECK_THAT(std::string(with_registers({{3, true, 9, 0}}).message()), Catch::Contains("destroyed but holds"));
  CHECK_THAT(std::string(with_registers({{3, false, 9, 0}}).message()), Catch::Contains("count of 0"));

  std::string flags = good;
  flags[37 + 4] = 7;
  CHECK_THAT(error_of(flags), Catch::Contains("register 0: unknown flags"));
  std::string zero_decay = good;
  for (int i = 5; i < 13; ++i) zero_decay[i] = 0;
  CHECK_THAT(error_of(zero_decay), Catch::Contains("decay rate"));
  std::string zero_size = good;
  for (int i = 13; i < 21; ++i) zero_size[i] = 0;
  CHECK_THAT(error_of(zero_size), Catch::Contains("size"));
}

TEST_CASE("Parameters out of range are refused") {
  CHECK_FALSE(LiquidLegionsParams::Create(0, 100, 1).ok());
  CHECK_FALSE(LiquidLegionsParams::Create(std::nan(""), 100, 1).ok());
  CHECK_FALSE(LiquidLegionsParams::Create(5.6, 0, 1).ok());
  CHECK_FALSE(LiquidLegionsParams::Create(5.6, (uint64_t{1} << 32) + 1, 1).ok());
}

}  // namespace
}  // namespace halo::sketch
