// MPC stage costs: HMSS shuffle and aggregation phases over large frequency
// vectors on 1 and 2 threads. Run through scripts/bench.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>

#include "halo/protocol/hmss.h"
#include "halo/protocol/llv2.h"
#include "halo/protocol/llv2_participant.h"
#include "halo/protocol/reach_only_llv2.h"
#include "paired_ratio.h"
#include "process_stats.h"
#include "testing/llv2_ring.h"


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

// Per register: decode, re-encode, shuffle; plus the noise and padding
// registers (3 encryptions each).
void BM_ReachOnlySetupPhase(benchmark::State& state) {
  const auto key = crypto::ElGamalKeyPair::Generate();
  ReachOnlySetupPhaseRequest request;
  request.set_stage(REACH_ONLY_SETUP_PHASE);
  request.set_combined_public_key(key.public_key().Encode());
  request.add_register_vectors(RegisterVector(key.public_key(), state.range(1)));
  request.mutable_noise()->set_mechanism(DISCRETE_GAUSSIAN);
  request.mutable_noise()->set_epsilon(1);
  request.mutable_noise()->set_delta(1e-9);
  request.mutable_noise()->set_duchy_count(3);
  request.set_parallelism(state.range(0));
  for (auto _ : state) benchmark::DoNotOptimize(CompleteReachOnlySetupPhase(request));
  state.counters["s_per_1M_registers_eq_ms_per_1000"] = benchmark::Counter(
      state.range(1) / 1e6, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ReachOnlySetupPhase)
    ->ArgsProduct({{1, 2}, {100000, 1000000}})->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

// One stage of a whole full-LLv2 run with its request kept, so that it can
// be run again: on 1 and 2 threads, for its peak memory, and against the EC
// multiplications it is made of.
struct CapturedStage {
  std::string name;
  size_t records_in = 0;
  std::function<absl::StatusOr<int64_t>(int threads)> run;  // CPU micros, or why it failed
  std::function<size_t()> output_bytes;
  // The stage's EC floor: variable-base and fixed-base multiplications
  // (counted only when asked; 0 when the stage is not EC-bound).
  int64_t variable_muls = 0, fixed_muls = 0;
};

// Keeps `request` (if it is a Request) as a stage that can run again.
template <typename Request, typename Response>
bool Capture(const std::string& name, const google::protobuf::Message& message,
             absl::StatusOr<Response> (*stage)(const Request&), std::string (*output)(const Response&),
             std::vector<CapturedStage>& stages) {
  const auto* request = dynamic_cast<const Request*>(&message);
  if (request == nullptr) return false;
  auto kept = std::make_shared<Request>(*request);
  auto last = std::make_shared<Response>();
  CapturedStage& captured = stages.emplace_back();
  captured.name = name;
  captured.run = [kept, last, stage](int threads) -> absl::StatusOr<int64_t> {
    kept->set_parallelism(threads);
    absl::StatusOr<Response> response = stage(*kept);
    if (!response.ok()) return response.status();
    *last = *std::move(response);
    return last->cpu_micros();
  };
  captured.output_bytes = [last, output] { return output(*last).size(); };
  return true;
}

// A whole 3-duchy run (3 EDPs, `registers` in all, maximum frequency 10),
// every stage captured. With count_floor, also counts each stage's
// multiplications, which needs every key and so is for small runs.
std::vector<CapturedStage> CaptureFullLlv2Run(int64_t registers, NoiseMechanism mechanism, bool count_floor) {
  constexpr int kMaxFrequency = 10;
  constexpr size_t kMatrixEntryBytes = 2 * crypto::kUncompressedPointBytes;
  std::vector<crypto::ElGamalKeyPair> duchies;
  for (int i = 0; i < 3; ++i) duchies.push_back(crypto::ElGamalKeyPair::Generate());
  const auto params = *sketch::LiquidLegionsParams::Create(5.6, 100 * registers, 1);
  auto dp = [](DpParams* p) { p->set_epsilon(1); p->set_delta(1e-9); };
  Llv2Computation computation;
  computation.register_noise.set_mechanism(mechanism);
  dp(computation.register_noise.mutable_blinded_histogram());
  dp(computation.register_noise.mutable_publisher_noise());
  dp(computation.register_noise.mutable_global_reach());
  computation.register_noise.set_duchy_count(3);
  computation.register_noise.set_total_sketches_count(3);
  computation.flag_count_noise.set_mechanism(mechanism);
  dp(computation.flag_count_noise.mutable_frequency());
  computation.flag_count_noise.set_non_aggregator_count(2);
  computation.flag_count_noise.set_maximum_frequency(kMaxFrequency);
  computation.decay_rate = params.decay_rate;
  computation.sketch_size = params.size;
  const auto ring = testing::MakeLlv2Ring(duchies, computation);
  std::vector<std::string> edp_vectors;
  for (int e = 0; e < 3; ++e) {
    sketch::LiquidLegionsSketch sketch(params);
    std::vector<sketch::VidEvent> events;
    for (int64_t i = 0; i < registers / 3; ++i) events.push_back({static_cast<uint64_t>(e * registers + i), 2});
    sketch.AddEvents(events);
    edp_vectors.push_back(*EncryptSketch(sketch, ring[0].combined_public_key(), 2));
  }
  const auto& aggregator = duchies[2];
  auto ciphertext_at = [](const std::string& bytes, size_t index) {
    return *crypto::ElGamalCiphertext::Decode(absl::string_view(bytes).substr(index * 130, 130));
  };

  std::vector<CapturedStage> stages;
  auto observe = [&](const std::string& name, const google::protobuf::Message& request) {
    if (Capture<SetupPhaseRequest, SetupPhaseResponse>(
            name, request, &CompleteSetupPhase, [](const SetupPhaseResponse& o) { return o.registers(); }, stages)) {
      for (const auto& v : static_cast<const SetupPhaseRequest&>(request).register_vectors()) {
        stages.back().records_in += v.size() / kBytesPerFullRegister;
      }
    } else if (Capture<ExecutionPhaseOneRequest, ExecutionPhaseOneResponse>(
                   name, request, &CompleteExecutionPhaseOne,
                   [](const ExecutionPhaseOneResponse& o) { return o.registers(); }, stages)) {
      const size_t n = static_cast<const ExecutionPhaseOneRequest&>(request).registers().size() / kBytesPerFullRegister;
      stages.back().records_in = n;
      // Blind the index (3 variable), re-randomise key and count (1 + 1 each).
      stages.back().variable_muls = 5 * n;
      stages.back().fixed_muls = 2 * n;
    } else if (Capture<ExecutionPhaseOneAtAggregatorRequest, ExecutionPhaseOneAtAggregatorResponse>(
                   name, request, &CompleteExecutionPhaseOneAtAggregator,
                   [](const ExecutionPhaseOneAtAggregatorResponse& o) { return o.flag_count_tuples(); }, stages)) {
      const std::string& data = static_cast<const ExecutionPhaseOneAtAggregatorRequest&>(request).registers();
      const size_t n = data.size() / kBytesPerFullRegister;
      int64_t kept_registers = 0, groups = 0;
      if (count_floor) {
        std::map<std::string, int64_t> group_sizes;
        for (size_t i = 0; i < n; ++i) ++group_sizes[aggregator.Decrypt(ciphertext_at(data, 3 * i)).Encode()];
        for (const auto& [index, size] : group_sizes) {
          if (size <= 3) { kept_registers += size; ++groups; }
        }
      }
      stages.back().records_in = n;
      // Decrypt every index; a group of s: encrypt flag_a (1 + 1), s - 1 key
      // differences blinded, then count, flag_b and flag_c blinded (2 each).
      stages.back().variable_muls = n + groups * (1 + 6) + 2 * (kept_registers - groups);
      stages.back().fixed_muls = groups;
    } else if (Capture<ExecutionPhaseTwoRequest, ExecutionPhaseTwoResponse>(
                   name, request, &CompleteExecutionPhaseTwo,
                   [](const ExecutionPhaseTwoResponse& o) { return o.flag_count_tuples(); }, stages)) {
      const size_t n =
          static_cast<const ExecutionPhaseTwoRequest&>(request).flag_count_tuples().size() / kBytesPerFlagCountTuple;
      stages.back().records_in = n;
      // Remove the layer from three flags (1 each), re-randomise the count (1 + 1).
      stages.back().variable_muls = 4 * n;
      stages.back().fixed_muls = n;
    } else if (Capture<ExecutionPhaseTwoAtAggregatorRequest, ExecutionPhaseTwoAtAggregatorResponse>(
                   name, request, &CompleteExecutionPhaseTwoAtAggregator,
                   [](const ExecutionPhaseTwoAtAggregatorResponse& o) { return o.same_key_aggregator_matrix(); },
                   stages)) {
      const size_t n = static_cast<const ExecutionPhaseTwoAtAggregatorRequest&>(request).flag_count_tuples().size() /
                       kBytesPerFlagCountTuple;
      stages.back().records_in = n;
      // Decrypt three flags; the rows' blinding is counted from its output,
      // once the ring has run.
      stages.back().variable_muls = 3 * n;
    } else if (Capture<ExecutionPhaseThreeRequest, ExecutionPhaseThreeResponse>(
                   name, request, &CompleteExecutionPhaseThree,
                   [](const ExecutionPhaseThreeResponse& o) { return o.same_key_aggregator_matrix(); }, stages)) {
      const size_t rows = static_cast<const ExecutionPhaseThreeRequest&>(request).same_key_aggregator_matrix().size() /
                          ((kMaxFrequency - 1) * kMatrixEntryBytes);
      stages.back().records_in = rows;
      stages.back().variable_muls = (kMaxFrequency - 1) * rows;
    } else if (Capture<ExecutionPhaseThreeAtAggregatorRequest, ExecutionPhaseThreeAtAggregatorResponse>(
                   name, request, &CompleteExecutionPhaseThreeAtAggregator,
                   [](const ExecutionPhaseThreeAtAggregatorResponse&) { return std::string(); }, stages)) {
      const std::string& data =
          static_cast<const ExecutionPhaseThreeAtAggregatorRequest&>(request).same_key_aggregator_matrix();
      const size_t rows = data.size() / ((kMaxFrequency - 1) * kMatrixEntryBytes);
      int64_t decryptions = 0;
      if (count_floor) {
        // Decryption stops at the row's match.
        for (size_t row = 0; row < rows; ++row) {
          for (int v = 0; v < kMaxFrequency - 1; ++v) {
            ++decryptions;
            if (aggregator.Decrypt(ciphertext_at(data, row * (kMaxFrequency - 1) + v)).IsIdentity()) break;
          }
        }
      }
      stages.back().records_in = rows;
      stages.back().variable_muls = decryptions;
    }
  };
  auto run = testing::RunLlv2Ring(ring, edp_vectors, 2, observe);
  if (!run.ok()) {
    std::fprintf(stderr, "%s\n", std::string(run.status().message()).c_str());
    std::exit(1);
  }
  // Phase two at the aggregator blinds count - v U for v = 1 .. max - 1 (2
  // each) in every row of its output.
  const size_t rows = run->Output("phase two, aggregator").size() / ((kMaxFrequency - 1) * kMatrixEntryBytes);
  for (CapturedStage& stage : stages) {
    if (stage.name == "phase two, aggregator") stage.variable_muls += 2 * (kMaxFrequency - 1) * rows;
  }
  return stages;
}

// Each stage of a whole run at `registers` on 1 and 2 threads (or only on
// `only_threads`, when not 0: a 1,000,000-register pass on both takes over
// an hour): wall time per 1,000 records in, CPU, and memory above what the
// run held before it.
void PrintFullLlv2Run(int64_t registers, int only_threads) {
  using Clock = std::chrono::steady_clock;
  std::printf("full LLv2, 3 duchies, 3 EDPs, %lld registers, max frequency 10, discrete Gaussian noise:\n",
              static_cast<long long>(registers));
  std::printf("  %-30s %9s %12s %12s %8s %10s %10s %10s\n", "stage", "in", "1 thr ms/1k", "2 thr ms/1k",
              "speedup", "cpu (1 thr)", "peak MiB", "out MiB");
  auto stages = CaptureFullLlv2Run(registers, DISCRETE_GAUSSIAN, false);
  double total_cpu = 0;
  for (CapturedStage& stage : stages) {
    double ms[3] = {0, 0, 0};
    int64_t cpu[3] = {0, 0, 0};
    double peak = 0;
    for (int threads : {1, 2}) {
      if (only_threads != 0 && threads != only_threads) continue;
      const double held = bench::ResetPeak();
      const auto start = Clock::now();
      cpu[threads] = *stage.run(threads);
      ms[threads] = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      peak = std::max(peak, bench::StatusMib("VmHWM:") - held);
    }
    total_cpu += cpu[1] + (only_threads == 2 ? cpu[2] : 0);
    const double per_thousand = stage.records_in / 1000.0;
    std::printf("  %-30s %9zu %12.1f %12.1f %7.2fx %9.1f s %10.0f %10.0f\n", stage.name.c_str(), stage.records_in,
                ms[1] / per_thousand, ms[2] / per_thousand, ms[1] / ms[2], cpu[1] / 1e6, peak,
                stage.output_bytes() / 1048576.0);
    std::fflush(stdout);
  }
  std::printf("  total duchy cpu (%d thread%s) %.1f s\n", only_threads == 2 ? 2 : 1, only_threads == 2 ? "s" : "",
              total_cpu / 1e6);
}

// Each EC-bound stage against its floor, paired and interleaved on one
// thread, over a small run without noise (so every multiplication is counted).
void PrintFullLlv2Floors() {
  auto stages = CaptureFullLlv2Run(1500, NONE, true);
  const auto base = crypto::EcPoint::MulGenerator(crypto::Scalar::Random()).Affine();
  const auto k = crypto::Scalar::Random();
  std::printf("full LLv2 against its EC floor (paired, one thread, 1,500 registers, no noise):\n");
  for (CapturedStage& stage : stages) {
    if (stage.variable_muls == 0) continue;
    const double ratio = bench::PairedRatio([&] { benchmark::DoNotOptimize(stage.run(1)); },
                                            [&] {
                                              for (int64_t i = 0; i < stage.variable_muls; ++i) {
                                                benchmark::DoNotOptimize(base.Mul(k));
                                              }
                                              for (int64_t i = 0; i < stage.fixed_muls; ++i) {
                                                benchmark::DoNotOptimize(crypto::EcPoint::MulGenerator(k));
                                              }
                                            },
                                            6, 1);
    std::printf("  %-30s %6zu in  %5.2f var + %4.2f fixed a record   ratio %.3f\n", stage.name.c_str(),
                stage.records_in, static_cast<double>(stage.variable_muls) / stage.records_in,
                static_cast<double>(stage.fixed_muls) / stage.records_in, ratio);
    std::fflush(stdout);
  }
}

}  // namespace halo::protocol::llv2

int main(int argc, char** argv) {
  using namespace halo::protocol::hmss;
  benchmark::Initialize(&argc, argv);
  {
    const ShufflePhaseRequest request = ShuffleRequest(2);
    const double before = halo::bench::ResetPeak();
    const auto response = CompleteShufflePhase(request);
    std::printf("shuffle phase, 10M slots: inputs %.0f MiB, stage peak above inputs %.0f MiB "
                "(output %.0f MiB), cpu %.0f ms\n",
                before, halo::bench::StatusMib("VmHWM:") - before, response->shuffled_share().size() / 1048576.0,
                response->cpu_micros() / 1000.0);
  }
  {
    AggregationPhaseRequest request;
    request.set_stage(AGGREGATION_PHASE);
    *request.mutable_parameters() = Parameters();
    const std::string share = CompleteShufflePhase(ShuffleRequest(2))->shuffled_share();
    request.set_first_share(share);
    request.set_second_share(share);
    request.set_parallelism(2);
    const double before = halo::bench::ResetPeak();
    const auto response = CompleteAggregationPhase(request);
    std::printf("aggregation phase, 10M slots: inputs %.0f MiB, stage peak above inputs %.0f MiB, "
                "cpu %.0f ms\n",
                before, halo::bench::StatusMib("VmHWM:") - before, response->cpu_micros() / 1000.0);
  }
  {
    using namespace halo::protocol::llv2;
    const auto key = halo::crypto::ElGamalKeyPair::Generate();
    ReachOnlyExecutionPhaseRequest request;
    request.set_stage(REACH_ONLY_EXECUTION_PHASE);
    request.set_registers(RegisterVector(key.public_key(), 1000000));
    request.set_secret_key(key.secret().ToBytes());
    request.set_parallelism(2);
    const double before = halo::bench::ResetPeak();
    const auto response = CompleteReachOnlyExecutionPhase(request);
    std::printf("reach-only LLv2 execution phase, 1M registers: inputs %.0f MiB, stage peak above inputs "
                "%.0f MiB (output %.0f MiB), cpu %.1f s\n",
                before, halo::bench::StatusMib("VmHWM:") - before, response->registers().size() / 1048576.0,
                response->cpu_micros() / 1e6);
  }
  halo::protocol::llv2::PrintReachOnlyFloors();
  halo::protocol::llv2::PrintFullLlv2Floors();
  // A whole run takes minutes (100,000 registers) to an hour (1,000,000).
  if (const char* full = std::getenv("HALO_BENCH_FULL_LLV2_REGISTERS"); full != nullptr) {
    const char* threads = std::getenv("HALO_BENCH_FULL_LLV2_THREADS");
    halo::protocol::llv2::PrintFullLlv2Run(std::atoll(full), threads == nullptr ? 0 : std::atoi(threads));
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
