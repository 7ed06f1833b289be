// MPC stage costs: HMSS shuffle and aggregation phases over large frequency
// vectors on 1 and 2 threads. Run through scripts/bench.
#include <benchmark/benchmark.h>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>

#include "halo/protocol/hmss.h"
#include "halo/protocol/llv2.h"
#include "halo/protocol/reach_only_llv2.h"
#include "paired_ratio.h"

namespace halo::protocol::hmss {

constexpr uint64_t kSlots = 10'000'000;

HmssParameters Parameters() {
  HmssParameters p;
  p.set_ring_modulus(127);
  p.set_max_frequency(10);
  p.set_vector_size(kSlots);
  p.set_noise_mechanism(DISCRETE_GAUSSIAN);
  p.mutable_bucket_noise()->set_epsilon(1.0);
  p.mutable_bucket_noise()->set_delta(1e-9);
  return p;
}

// Three EDPs: this worker holds two data shares and one seed.
ShufflePhaseRequest ShuffleRequest(int threads) {
  ShufflePhaseRequest r;
  r.set_stage(SHUFFLE_PHASE);
  *r.mutable_parameters() = Parameters();
  r.set_order(FIRST);
  r.set_common_seed(std::string(32, 'c'));
  r.add_shares()->set_data(std::string(kSlots, '\3'));
  r.add_shares()->set_data(std::string(kSlots, '\5'));
  r.add_shares()->set_seed(std::string(32, 's'));
  r.set_parallelism(threads);
  return r;
}

void BM_HmssShufflePhase(benchmark::State& state) {
  const ShufflePhaseRequest request = ShuffleRequest(state.range(0));
  int64_t cpu = 0;
  for (auto _ : state) {
    auto response = CompleteShufflePhase(request);
    cpu += response->cpu_micros();
    benchmark::DoNotOptimize(response);
  }
  state.counters["cpu_ms"] = cpu / 1000.0 / state.iterations();
  state.SetItemsProcessed(state.iterations() * kSlots);
}
BENCHMARK(BM_HmssShufflePhase)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_HmssAggregationPhase(benchmark::State& state) {
  const ShufflePhaseResponse first = *CompleteShufflePhase(ShuffleRequest(2));
  AggregationPhaseRequest request;
  request.set_stage(AGGREGATION_PHASE);
  *request.mutable_parameters() = Parameters();
  request.set_first_share(first.shuffled_share());
  request.set_second_share(first.shuffled_share());
  request.set_parallelism(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(CompleteAggregationPhase(request));
  state.SetItemsProcessed(state.iterations() * kSlots);
}
BENCHMARK(BM_HmssAggregationPhase)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

}  // namespace halo::protocol::hmss

namespace halo::protocol::llv2 {

// A register vector as the ring carries it, built in chunks so that building
// it does not hold the registers as OpenSSL points.
std::string RegisterVector(const crypto::ElGamalPublicKey& key, int64_t registers) {
  std::string out;
  out.reserve(registers * kBytesPerRegister);
  for (int64_t done = 0; done < registers;) {
    const int64_t chunk = std::min<int64_t>(4096, registers - done);
    std::vector<crypto::EcPoint> points;
    for (int64_t i = 0; i < chunk; ++i) points.push_back(crypto::EcPoint::MulGenerator(crypto::Scalar::Random()));
    for (const auto& c : crypto::EncryptBatch(key, points, 2)) out += c.Encode(crypto::PointEncoding::kUncompressed);
    done += chunk;
  }
  return out;
}

void BM_P256VariableBaseMulReference(benchmark::State& state) {
  const auto p = crypto::EcPoint::MulGenerator(crypto::Scalar::Random()).Affine();
  const auto k = crypto::Scalar::Random();
  for (auto _ : state) benchmark::DoNotOptimize(p.Mul(k));
}
BENCHMARK(BM_P256VariableBaseMulReference)->Unit(benchmark::kMicrosecond);

// Per register: decode, 3 variable-base multiplications (blind u and e,
// remove the layer), an addition, encode; then a shuffle.
void BM_ReachOnlyExecutionPhase(benchmark::State& state) {
  const auto key = crypto::ElGamalKeyPair::Generate();
  ReachOnlyExecutionPhaseRequest request;
  request.set_stage(REACH_ONLY_EXECUTION_PHASE);
  request.set_registers(RegisterVector(key.public_key(), state.range(1)));
  request.set_secret_key(key.secret().ToBytes());
  request.set_parallelism(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(CompleteReachOnlyExecutionPhase(request));
  state.counters["s_per_1M_registers_eq_ms_per_1000"] = benchmark::Counter(
      state.range(1) / 1e6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ReachOnlyExecutionPhase)
    ->ArgsProduct({{1, 2}, {100000, 1000000}})->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// Per register: decode, 1 variable-base multiplication (decrypt), encode.
void BM_ReachOnlyAggregation(benchmark::State& state) {
  const auto key = crypto::ElGamalKeyPair::Generate();
  ReachOnlyAggregationRequest request;
  request.set_stage(REACH_ONLY_EXECUTION_PHASE_AT_AGGREGATOR);
  request.set_registers(RegisterVector(key.public_key(), state.range(1)));
  request.set_secret_key(key.secret().ToBytes());
  request.set_decay_rate(12);
  request.set_sketch_size(100000000);
  request.mutable_noise()->set_mechanism(NONE);
  request.mutable_noise()->set_duchy_count(3);
  request.set_vid_sampling_width(1);
  request.set_parallelism(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(CompleteReachOnlyExecutionPhaseAtAggregator(request));
  state.counters["s_per_1M_registers_eq_ms_per_1000"] = benchmark::Counter(
      state.range(1) / 1e6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ReachOnlyAggregation)
    ->ArgsProduct({{1, 2}, {100000, 1000000}})->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// Each stage against its EC floor, paired and interleaved: the stage over 200
// registers, then the floor's multiplications for 200 registers.
void PrintReachOnlyFloors() {
  constexpr int kFloorRegisters = 200;
  const auto key = crypto::ElGamalKeyPair::Generate();
  std::vector<crypto::EcPoint> points;
  for (int i = 0; i < kFloorRegisters; ++i) points.push_back(crypto::EcPoint::MulGenerator(crypto::Scalar::Random()));
  std::string registers;
  for (const auto& c : crypto::EncryptBatch(key.public_key(), points, 1)) {
    registers += c.Encode(crypto::PointEncoding::kUncompressed);
  }
  const auto base = crypto::EcPoint::MulGenerator(crypto::Scalar::Random()).Affine();
  const auto k = crypto::Scalar::Random();
  auto muls = [&](int per_register) {
    for (int i = 0; i < kFloorRegisters * per_register; ++i) benchmark::DoNotOptimize(base.Mul(k));
  };
  ReachOnlyExecutionPhaseRequest execution;
  execution.set_stage(REACH_ONLY_EXECUTION_PHASE);
  execution.set_registers(registers);
  execution.set_secret_key(key.secret().ToBytes());
  execution.set_parallelism(1);
  ReachOnlyAggregationRequest aggregation;
  aggregation.set_stage(REACH_ONLY_EXECUTION_PHASE_AT_AGGREGATOR);
  aggregation.set_registers(registers);
  aggregation.set_secret_key(key.secret().ToBytes());
  aggregation.set_decay_rate(12);
  aggregation.set_sketch_size(100000);
  aggregation.mutable_noise()->set_mechanism(NONE);
  aggregation.mutable_noise()->set_duchy_count(3);
  aggregation.set_vid_sampling_width(1);
  aggregation.set_parallelism(1);
  const double execution_ratio = bench::PairedRatio(
      [&] { benchmark::DoNotOptimize(CompleteReachOnlyExecutionPhase(execution)); }, [&] { muls(3); }, 10, 1);
  const double aggregation_ratio = bench::PairedRatio(
      [&] { benchmark::DoNotOptimize(CompleteReachOnlyExecutionPhaseAtAggregator(aggregation)); },
      [&] { muls(1); }, 10, 1);
  std::printf("reach-only LLv2 against its EC floor (paired, one thread):\n");
  std::printf("  execution phase, non-aggregator   3 var a register   ratio %.3f\n", execution_ratio);
  std::printf("  execution phase at the aggregator 1 var a register   ratio %.3f\n", aggregation_ratio);
}

// A whole 3-duchy LLv2 run over `registers` EDP registers (3 EDPs), timing
// every stage: wall time per 1,000 registers in, and the CPU each reports.
void PrintFullLlv2Run(int64_t registers, int threads) {
  using Clock = std::chrono::steady_clock;
  std::vector<crypto::ElGamalKeyPair> duchies;
  std::vector<crypto::ElGamalPublicKey> keys;
  for (int i = 0; i < 3; ++i) {
    duchies.push_back(crypto::ElGamalKeyPair::Generate());
    keys.push_back(duchies.back().public_key());
  }
  const auto combined = *crypto::ElGamalPublicKey::Combine(keys);
  const auto params = *sketch::LiquidLegionsParams::Create(5.6, 100 * registers, 1);
  std::vector<std::string> edp_vectors;
  for (int e = 0; e < 3; ++e) {
    sketch::LiquidLegionsSketch sketch(params);
    std::vector<sketch::VidEvent> events;
    for (int64_t i = 0; i < registers / 3; ++i) events.push_back({static_cast<uint64_t>(e * registers + i), 2});
    sketch.AddEvents(events);
    edp_vectors.push_back(*EncryptSketch(sketch, combined, threads));
  }
  auto dp = [](DpParams* p) { p->set_epsilon(1); p->set_delta(1e-9); };
  RegisterNoiseParameters register_noise;
  register_noise.set_mechanism(DISCRETE_GAUSSIAN);
  dp(register_noise.mutable_blinded_histogram());
  dp(register_noise.mutable_publisher_noise());
  dp(register_noise.mutable_global_reach());
  register_noise.set_duchy_count(3);
  register_noise.set_total_sketches_count(3);
  FlagCountNoiseParameters flag_noise;
  flag_noise.set_mechanism(DISCRETE_GAUSSIAN);
  dp(flag_noise.mutable_frequency());
  flag_noise.set_non_aggregator_count(2);
  flag_noise.set_maximum_frequency(10);

  int64_t total_cpu = 0;
  auto report = [&](const char* stage, Clock::time_point start, int64_t cpu_micros, size_t input_records) {
    const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    total_cpu += cpu_micros;
    std::printf("  %-44s %9zu in  %8.1f ms per 1,000  cpu %7.1f s\n", stage, input_records,
                ms / (input_records / 1000.0), cpu_micros / 1e6);
  };
  std::printf("full LLv2, 3 duchies, %lld EDP registers, %d threads:\n", static_cast<long long>(registers), threads);
  std::vector<std::string> setup(3);
  for (int d = 0; d < 3; ++d) {
    SetupPhaseRequest r;
    r.set_stage(SETUP_PHASE);
    r.set_combined_public_key(combined.Encode());
    *r.mutable_noise() = register_noise;
    r.set_parallelism(threads);
    r.add_register_vectors(edp_vectors[d]);
    if (d == 2) { r.add_register_vectors(setup[0]); r.add_register_vectors(setup[1]); }
    size_t in = 0;
    for (const auto& v : r.register_vectors()) in += v.size() / kBytesPerFullRegister;
    const auto start = Clock::now();
    auto out = CompleteSetupPhase(r);
    report(d == 2 ? "setup (aggregator)" : "setup (non-aggregator)", start, out->cpu_micros(), in);
    setup[d] = out->registers();
  }
  std::string data = setup[2];
  for (int d = 0; d < 2; ++d) {
    ExecutionPhaseOneRequest r;
    r.set_stage(EXECUTION_PHASE_ONE);
    r.set_registers(data);
    r.set_secret_key(duchies[d].secret().ToBytes());
    r.set_combined_public_key(combined.Encode());
    r.set_parallelism(threads);
    const auto start = Clock::now();
    auto out = CompleteExecutionPhaseOne(r);
    report("phase one (non-aggregator)", start, out->cpu_micros(), data.size() / kBytesPerFullRegister);
    data = out->registers();
  }
  ExecutionPhaseOneAtAggregatorRequest one;
  one.set_stage(EXECUTION_PHASE_ONE_AT_AGGREGATOR);
  one.set_registers(data);
  one.set_secret_key(duchies[2].secret().ToBytes());
  one.set_combined_public_key(combined.Encode());
  one.set_total_sketches_count(3);
  one.set_parallelism(threads);
  auto start = Clock::now();
  auto tuples = CompleteExecutionPhaseOneAtAggregator(one);
  report("phase one (aggregator)", start, tuples->cpu_micros(), data.size() / kBytesPerFullRegister);
  data = tuples->flag_count_tuples();
  for (int d = 0; d < 2; ++d) {
    ExecutionPhaseTwoRequest r;
    r.set_stage(EXECUTION_PHASE_TWO);
    r.set_flag_count_tuples(data);
    r.set_secret_key(duchies[d].secret().ToBytes());
    r.set_combined_public_key(combined.Encode());
    std::vector<crypto::ElGamalPublicKey> later(keys.begin() + d + 1, keys.end());
    r.set_partial_composite_public_key(crypto::ElGamalPublicKey::Combine(later)->Encode());
    *r.mutable_noise() = flag_noise;
    r.set_parallelism(threads);
    start = Clock::now();
    auto out = CompleteExecutionPhaseTwo(r);
    report("phase two (non-aggregator)", start, out->cpu_micros(), data.size() / kBytesPerFlagCountTuple);
    data = out->flag_count_tuples();
  }
  ExecutionPhaseTwoAtAggregatorRequest two;
  two.set_stage(EXECUTION_PHASE_TWO_AT_AGGREGATOR);
  two.set_flag_count_tuples(data);
  two.set_secret_key(duchies[2].secret().ToBytes());
  two.set_decay_rate(params.decay_rate);
  two.set_sketch_size(params.size);
  two.set_vid_sampling_width(1);
  *two.mutable_register_noise() = register_noise;
  *two.mutable_flag_count_noise() = flag_noise;
  two.set_parallelism(threads);
  start = Clock::now();
  auto reach = CompleteExecutionPhaseTwoAtAggregator(two);
  report("phase two (aggregator)", start, reach->cpu_micros(), data.size() / kBytesPerFlagCountTuple);
  data = reach->same_key_aggregator_matrix();
  const size_t row_bytes = 9 * 130;
  for (int d = 0; d < 2; ++d) {
    ExecutionPhaseThreeRequest r;
    r.set_stage(EXECUTION_PHASE_THREE);
    r.set_same_key_aggregator_matrix(data);
    r.set_secret_key(duchies[d].secret().ToBytes());
    r.set_maximum_frequency(10);
    r.set_parallelism(threads);
    start = Clock::now();
    auto out = CompleteExecutionPhaseThree(r);
    report("phase three (non-aggregator, rows in)", start, out->cpu_micros(), data.size() / row_bytes);
    data = out->same_key_aggregator_matrix();
  }
  ExecutionPhaseThreeAtAggregatorRequest three;
  three.set_stage(EXECUTION_PHASE_THREE_AT_AGGREGATOR);
  three.set_same_key_aggregator_matrix(data);
  three.set_secret_key(duchies[2].secret().ToBytes());
  *three.mutable_flag_count_noise() = flag_noise;
  three.set_parallelism(threads);
  start = Clock::now();
  auto frequency = CompleteExecutionPhaseThreeAtAggregator(three);
  report("phase three (aggregator, rows in)", start, frequency->cpu_micros(), data.size() / row_bytes);
  std::printf("  reach %.0f +- %.0f (truth %lld); total duchy cpu %.1f s\n", reach->reach(),
              reach->reach_std_error(), static_cast<long long>(registers / 3 * 3), total_cpu / 1e6);
}

}  // namespace halo::protocol::llv2

namespace {

double PeakMib() {
  rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// A stage's own peak memory: in a fresh child, max RSS after its inputs are
// built against max RSS after it ran.
template <typename Stage>
void ReportStagePeak(const char*, const Stage& stage) {
  std::fflush(stdout);
  if (pid_t child = fork(); child == 0) {
    stage();
    std::fflush(stdout);
    _exit(0);
  } else {
    waitpid(child, nullptr, 0);
  }
}

}  // namespace

int main(int argc, char** argv) {
  using namespace halo::protocol::hmss;
  benchmark::Initialize(&argc, argv);
  // Before any benchmark: a forked child starts from its parent's peak.
  ReportStagePeak("shuffle", [] {
    const ShufflePhaseRequest request = ShuffleRequest(2);
    const double before = PeakMib();
    const auto response = CompleteShufflePhase(request);
    std::printf("shuffle phase, 10M slots: inputs %.0f MiB, stage peak above inputs %.0f MiB "
                "(output %.0f MiB), cpu %.0f ms\n",
                before, PeakMib() - before, response->shuffled_share().size() / 1048576.0,
                response->cpu_micros() / 1000.0);
  });
  ReportStagePeak("aggregation", [] {
    AggregationPhaseRequest request;
    request.set_stage(AGGREGATION_PHASE);
    *request.mutable_parameters() = Parameters();
    const std::string share = CompleteShufflePhase(ShuffleRequest(2))->shuffled_share();
    request.set_first_share(share);
    request.set_second_share(share);
    request.set_parallelism(2);
    const double before = PeakMib();
    const auto response = CompleteAggregationPhase(request);
    std::printf("aggregation phase, 10M slots: inputs %.0f MiB, stage peak above inputs %.0f MiB, "
                "cpu %.0f ms\n",
                before, PeakMib() - before, response->cpu_micros() / 1000.0);
  });
  ReportStagePeak("llv2 execution", [] {
    using namespace halo::protocol::llv2;
    const auto key = halo::crypto::ElGamalKeyPair::Generate();
    ReachOnlyExecutionPhaseRequest request;
    request.set_stage(REACH_ONLY_EXECUTION_PHASE);
    request.set_registers(RegisterVector(key.public_key(), 1000000));
    request.set_secret_key(key.secret().ToBytes());
    request.set_parallelism(2);
    const double before = PeakMib();
    const auto response = CompleteReachOnlyExecutionPhase(request);
    std::printf("reach-only LLv2 execution phase, 1M registers: inputs %.0f MiB, stage peak above inputs "
                "%.0f MiB (output %.0f MiB), cpu %.1f s\n",
                before, PeakMib() - before, response->registers().size() / 1048576.0,
                response->cpu_micros() / 1e6);
  });
  halo::protocol::llv2::PrintReachOnlyFloors();
  if (const char* full = std::getenv("HALO_BENCH_FULL_LLV2_REGISTERS"); full != nullptr) {
    halo::protocol::llv2::PrintFullLlv2Run(std::atoll(full), 2);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
