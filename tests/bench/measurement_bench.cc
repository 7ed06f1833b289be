// Measurement math: sketch and frequency-vector building per core, and the
// estimators. Run through scripts/bench.
#include <benchmark/benchmark.h>

#include <cmath>
#include <vector>

#include "halo/crypto/seeded_prng.h"
#include "halo/dp/calibration.h"
#include "halo/sketch/frequency_vector.h"
#include "halo/sketch/liquid_legions.h"
#include "halo/stats/liquid_legions_estimator.h"

namespace halo {
namespace {

std::vector<sketch::VidEvent> RandomEvents(size_t n, uint64_t vid_range) {
  crypto::SeededPrng prng = *crypto::SeededPrng::Create(std::string(32, 'b'));
  std::vector<sketch::VidEvent> events(n);
  for (auto& e : events) e = {prng.UniformBelow(vid_range), 1};
  return events;
}

// range(0): decay rate x10, range(1): registers.
void BM_LiquidLegionsBuild(benchmark::State& state) {
  const auto params = *sketch::LiquidLegionsParams::Create(state.range(0) / 10.0, state.range(1), 1);
  const auto events = RandomEvents(4'000'000, 1'000'000);
  for (auto _ : state) {
    sketch::LiquidLegionsSketch sketch(params);
    sketch.AddEvents(events);
    benchmark::DoNotOptimize(sketch.ActiveRegisterCount());
  }
  state.SetItemsProcessed(state.iterations() * events.size());
}
BENCHMARK(BM_LiquidLegionsBuild)->Args({120, 100000})->Args({56, 1000000})->Unit(benchmark::kMillisecond);

// The parts of building, per event.
void BM_FingerprintAndIndex(benchmark::State& state) {
  const auto params = *sketch::LiquidLegionsParams::Create(5.6, 1000000, 1);
  const sketch::RegisterIndexer indexer(params);
  uint64_t vid = 0, sink = 0;
  for (auto _ : state) sink += indexer(sketch::Fingerprint(vid++, params.seed));
  benchmark::DoNotOptimize(sink);
}
BENCHMARK(BM_FingerprintAndIndex);

void BM_ReachEstimator(benchmark::State& state) {
  const auto params = *sketch::LiquidLegionsParams::Create(5.6, 1000000, 1);
  const double active = stats::ExpectedActiveRegisters(5.6, 1e6, 3e6);
  for (auto _ : state) benchmark::DoNotOptimize(stats::LiquidLegionsReach(params, {.active_registers = active}));
}
BENCHMARK(BM_ReachEstimator)->Unit(benchmark::kMicrosecond);

void BM_FrequencyEstimator(benchmark::State& state) {
  const auto params = *sketch::LiquidLegionsParams::Create(5.6, 1000000, 1);
  sketch::LiquidLegionsSketch sketch(params);
  sketch.AddEvents(RandomEvents(4'000'000, 3'000'000));
  const stats::Estimate reach = *stats::LiquidLegionsReach(
      params, {.active_registers = static_cast<double>(sketch.ActiveRegisterCount())});
  for (auto _ : state) benchmark::DoNotOptimize(stats::LiquidLegionsFrequency(sketch.registers(), 10, reach));
  state.counters["active_registers"] = static_cast<double>(sketch.ActiveRegisterCount());
}
BENCHMARK(BM_FrequencyEstimator)->Unit(benchmark::kMillisecond);

// 10 million slots (a population of 20 million, interval width 0.5),
// 20 million events over the population.
sketch::FrequencyVectorSpec TenMillionSlots() {
  return *sketch::FrequencyVectorSpec::Create(20'000'000, {0.25, 0.5}, 10, 127);
}

void BM_FrequencyVectorBuild(benchmark::State& state) {
  const auto spec = TenMillionSlots();
  const auto events = RandomEvents(20'000'000, 20'000'000);
  for (auto _ : state) {
    sketch::FrequencyVector vector = *sketch::FrequencyVector::Create(spec);
    vector.AddEvents(events);
    benchmark::DoNotOptimize(vector.values().data());
  }
  state.SetItemsProcessed(state.iterations() * events.size());
}
BENCHMARK(BM_FrequencyVectorBuild)->Unit(benchmark::kMillisecond);

// A VID's position in the keyed order (vid_sampling.h), which every sampled
// event pays: population 20M (a 2^25 Feistel domain, 1.7 walks a VID).
void BM_VidPosition(benchmark::State& state) {
  const auto order = *sketch::VidOrder::Create(20'000'000);
  const auto events = RandomEvents(1'000'000, 20'000'000);
  for (auto _ : state) {
    uint64_t sum = 0;
    for (const auto& e : events) sum += order.Position(e.vid);
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(state.iterations() * events.size());
}
BENCHMARK(BM_VidPosition)->Unit(benchmark::kMillisecond);

// A Liquid Legions sketch of the events a sampling interval holds, as an
// EDP builds one: a = 12, m = 100,000, 4M events over 1M VIDs, width 0.5.
void BM_SampledLiquidLegionsBuild(benchmark::State& state) {
  const auto params = *sketch::LiquidLegionsParams::Create(12, 100'000, 7);
  const auto sampler = *sketch::VidSampler::Create(1'000'000, {0.25, 0.5});
  const auto events = RandomEvents(4'000'000, 1'000'000);
  std::vector<sketch::VidEvent> sampled;
  for (auto _ : state) {
    sketch::LiquidLegionsSketch sketch(params);
    for (size_t at = 0; at < events.size(); at += 65536) {
      sampled.clear();
      for (size_t i = at; i < std::min(events.size(), at + 65536); ++i) {
        if (sampler.Contains(events[i].vid)) sampled.push_back(events[i]);
      }
      sketch.AddEvents(sampled);
    }
    benchmark::DoNotOptimize(sketch.ActiveRegisterCount());
  }
  state.SetItemsProcessed(state.iterations() * events.size());
}
BENCHMARK(BM_SampledLiquidLegionsBuild)->Unit(benchmark::kMillisecond);

void BM_FrequencyVectorSplit(benchmark::State& state) {
  const sketch::FrequencyVectorSpec spec = TenMillionSlots();
  for (auto _ : state) {
    state.PauseTiming();
    sketch::FrequencyVector vector = *sketch::FrequencyVector::Create(spec);
    benchmark::DoNotOptimize(vector.values().data());
    state.ResumeTiming();
    benchmark::DoNotOptimize(std::move(vector).Split());
  }
  state.SetItemsProcessed(state.iterations() * spec.SlotCount());
}
BENCHMARK(BM_FrequencyVectorSplit)->Unit(benchmark::kMillisecond);

void BM_ExpandShareSeed(benchmark::State& state) {
  const std::string seed(32, 'x');
  for (auto _ : state) benchmark::DoNotOptimize(sketch::ExpandShareSeed(seed, 10'000'000, 127));
  state.SetItemsProcessed(state.iterations() * 10'000'000);
}
BENCHMARK(BM_ExpandShareSeed)->Unit(benchmark::kMillisecond);

// Discrete Gaussian calibration, which the Kingdom runs on every MC's
// epsilon and delta: range(0) is -log10(epsilon) (delta 1e-9). At 5, sigma
// is about 3 x 10^5, near the 2^20 cap an MC may ask for.
void BM_DiscreteGaussianCalibration(benchmark::State& state) {
  const double epsilon = std::pow(10.0, -static_cast<double>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        dp::CalibratedParameter(dp::NoiseMechanism::kDiscreteGaussian, {.epsilon = epsilon, .delta = 1e-9}, 1));
  }
}
BENCHMARK(BM_DiscreteGaussianCalibration)->Arg(0)->Arg(2)->Arg(5)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace halo

BENCHMARK_MAIN();
