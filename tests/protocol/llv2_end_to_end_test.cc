// Full LLv2 from EDP encryption to the frequency histogram, every party in
// one process: setup at every duchy, then phases one to three around the
// ring, the aggregator last.
#include <catch2/catch.hpp>

#include <set>
#include <tuple>

#include "absl/container/flat_hash_set.h"
#include "halo/crypto/seeded_prng.h"
#include "halo/protocol/llv2.h"
#include "halo/protocol/reach_only_llv2.h"
#include "halo/stats/liquid_legions_estimator.h"
#include "testing/llv2_ring.h"
#include "testing/synthetic_audience.h"

namespace halo::protocol::llv2 {
namespace {

using crypto::ElGamalKeyPair;
using crypto::ElGamalPublicKey;

constexpr int kMaxFrequency = 4;
constexpr size_t kBytesPerCiphertext = 2 * crypto::kUncompressedPointBytes;

using Result = testing::Llv2RingResult;

DpParams Dp(double epsilon, double delta) {
  DpParams p;
  p.set_epsilon(epsilon);
  p.set_delta(delta);
  return p;
}

// With a replay seed, each duchy's noise comes from a seed derived from it.
Result RunLlv2(const std::vector<ElGamalKeyPair>& duchies, const std::vector<std::string>& edp_vectors,
               const sketch::LiquidLegionsParams& params, NoiseMechanism mechanism,
               const std::string& replay_seed = "") {
  const int k = static_cast<int>(duchies.size());
  Llv2Computation computation;
  RegisterNoiseParameters& register_noise = computation.register_noise;
  register_noise.set_mechanism(mechanism);
  *register_noise.mutable_blinded_histogram() = Dp(1.0, 1e-6);
  *register_noise.mutable_publisher_noise() = Dp(1.0, 1e-6);
  *register_noise.mutable_global_reach() = Dp(1.0, 1e-6);
  register_noise.set_duchy_count(k);
  register_noise.set_total_sketches_count(static_cast<int>(edp_vectors.size()));
  FlagCountNoiseParameters& flag_count_noise = computation.flag_count_noise;
  flag_count_noise.set_mechanism(mechanism);
  *flag_count_noise.mutable_frequency() = Dp(1.0, 1e-6);
  flag_count_noise.set_non_aggregator_count(k - 1);
  flag_count_noise.set_maximum_frequency(kMaxFrequency);
  register_noise.set_replay_seed(replay_seed);
  flag_count_noise.set_replay_seed(replay_seed);
  computation.decay_rate = params.decay_rate;
  computation.sketch_size = params.size;
  auto result = testing::RunLlv2Ring(testing::MakeLlv2Ring(duchies, computation), edp_vectors, 2);
  INFO(result.status());
  REQUIRE(result.ok());
  return *std::move(result);
}

struct Campaign {
  sketch::LiquidLegionsParams params;
  sketch::LiquidLegionsSketch union_sketch;
  std::vector<std::string> edp_vectors;
  uint64_t truth;
  std::vector<uint64_t> truth_frequency;
};

Campaign MakeCampaign(int edps, uint64_t reach, uint64_t size, const std::vector<ElGamalKeyPair>& duchies,
                      crypto::RandomSource& random) {
  const auto params = *sketch::LiquidLegionsParams::Create(12, size, random.NextUint64());
  const auto audience = testing::MakeAudience(reach, edps, 0.3, kMaxFrequency, random);
  std::vector<ElGamalPublicKey> keys;
  for (const auto& d : duchies) keys.push_back(d.public_key());
  const auto combined = *ElGamalPublicKey::Combine(keys);
  Campaign c{params, sketch::LiquidLegionsSketch(params), {}, audience.union_reach, audience.union_frequency};
  for (const auto& events : audience.events_by_edp) {
    sketch::LiquidLegionsSketch sketch(params);
    sketch.AddEvents(events);
    REQUIRE(c.union_sketch.Merge(sketch).ok());
    c.edp_vectors.push_back(*EncryptSketch(sketch, combined, 2));
  }
  return c;
}

std::vector<ElGamalKeyPair> Duchies(int k) {
  std::vector<ElGamalKeyPair> duchies;
  for (int i = 0; i < k; ++i) duchies.push_back(ElGamalKeyPair::Generate());
  return duchies;
}

TEST_CASE("Without noise, LLv2 gives exactly the plaintext union sketch's reach and frequency") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'E'));
  for (int k : {3, 4}) {
    for (int edps : {1, 3, 6}) {
      const auto duchies = Duchies(k);
      // A small sketch, so that collisions destroy registers.
      const Campaign c = MakeCampaign(edps, 600, 4000, duchies, random);
      const Result result = RunLlv2(duchies, c.edp_vectors, c.params, NONE);
      INFO(k << " duchies, " << edps << " EDPs");
      CHECK(result.reach.noisy_active_registers() == static_cast<int64_t>(c.union_sketch.ActiveRegisterCount()));
      const auto expected = stats::LiquidLegionsReach(
          c.params, {.active_registers = static_cast<double>(c.union_sketch.ActiveRegisterCount())});
      CHECK(result.reach.reach() == Approx(expected->value).epsilon(1e-12));
      std::vector<int64_t> histogram(kMaxFrequency, 0);
      for (const auto& r : c.union_sketch.registers()) {
        if (!r.destroyed) ++histogram[std::min<uint64_t>(r.count, kMaxFrequency) - 1];
      }
      REQUIRE(result.frequency.frequency_histogram_size() == kMaxFrequency);
      for (int f = 0; f < kMaxFrequency; ++f) CHECK(result.frequency.frequency_histogram(f) == histogram[f]);
      CHECK(result.frequency.bucket_noise_variance() == 0);
    }
  }
}

TEST_CASE("With noise, LLv2 reach and relative frequencies lie within 3 standard errors of the truth") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'F'));
  for (NoiseMechanism mechanism : {GEOMETRIC, DISCRETE_GAUSSIAN}) {
    const auto duchies = Duchies(3);
    const Campaign c = MakeCampaign(3, 1500, 20000, duchies, random);
    const Result result = RunLlv2(duchies, c.edp_vectors, c.params, mechanism, random.NextBytes(32));
    INFO(NoiseMechanism_Name(mechanism) << ": reach " << result.reach.reach() << " +- "
                                        << result.reach.reach_std_error() << ", truth " << c.truth);
    CHECK(std::abs(result.reach.reach() - c.truth) <= 3 * result.reach.reach_std_error());
    std::vector<int64_t> histogram(kMaxFrequency, 0);
    for (const auto& r : c.union_sketch.registers()) {
      if (!r.destroyed) ++histogram[std::min<uint64_t>(r.count, kMaxFrequency) - 1];
    }
    const double sd = std::sqrt(result.frequency.bucket_noise_variance());
    CHECK(sd > 0);
    for (int f = 0; f < kMaxFrequency; ++f) {
      INFO("bucket " << f + 1 << ": " << result.frequency.frequency_histogram(f) << " vs " << histogram[f]);
      CHECK(std::abs(result.frequency.frequency_histogram(f) - histogram[f]) <= 5 * sd);
    }
    const std::vector<int64_t> noisy(result.frequency.frequency_histogram().begin(),
                                     result.frequency.frequency_histogram().end());
    const auto distribution = stats::FrequencyFromRegisterHistogram(
        noisy, result.frequency.bucket_noise_variance(), {result.reach.reach(), result.reach.reach_std_error()});
    REQUIRE(distribution.ok());
    for (int f = 0; f < kMaxFrequency; ++f) {
      const double truth = static_cast<double>(c.truth_frequency[f]) / c.truth;
      INFO("frequency " << f + 1 << ": " << distribution->relative[f].value << " +- "
                        << distribution->relative[f].std_error << ", truth " << truth);
      CHECK(distribution->relative[f].Covers(truth, 3));
      CHECK(distribution->reach[f].Covers(static_cast<double>(c.truth_frequency[f]), 3));
    }
  }
}

std::vector<crypto::ElGamalCiphertext> Ciphertexts(const std::string& bytes) {
  std::vector<crypto::ElGamalCiphertext> out;
  for (size_t at = 0; at < bytes.size(); at += kBytesPerCiphertext) {
    out.push_back(*crypto::ElGamalCiphertext::Decode(bytes.substr(at, kBytesPerCiphertext)));
  }
  return out;
}

crypto::EcPoint DecryptAll(const std::vector<ElGamalKeyPair>& duchies, crypto::ElGamalCiphertext c) {
  for (size_t d = 0; d + 1 < duchies.size(); ++d) c = duchies[d].RemoveLayer(c);
  return duchies.back().Decrypt(c);
}

TEST_CASE("No LLv2 stage output holds a plaintext index, key or count, and one layer short hides them") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'S'));
  const auto duchies = Duchies(3);
  const Campaign c = MakeCampaign(3, 600, 4000, duchies, random);
  const Result result = RunLlv2(duchies, c.edp_vectors, c.params, DISCRETE_GAUSSIAN, random.NextBytes(32));
  absl::flat_hash_set<std::string> plain;
  for (const auto& r : c.union_sketch.registers()) {
    plain.insert(IndexPoint(r.index).Encode());
    plain.insert(KeyPoint(r.key).Encode());
  }
  for (uint64_t count = 1; count <= 64; ++count) plain.insert(CountUnit().Mul(crypto::Scalar::FromUint64(count)).Encode());
  for (const auto& [stage, bytes] : result.outputs) {
    INFO(stage);
    REQUIRE(bytes.size() % kBytesPerCiphertext == 0);
    size_t leaked = 0;
    for (const auto& ciphertext : Ciphertexts(bytes)) {
      leaked += plain.contains(ciphertext.u.Encode()) + plain.contains(ciphertext.e.Encode());
    }
    CHECK(leaked == 0);
  }
  // The counts leaving the last non-aggregator's phase two are under every
  // layer: the aggregator's key alone opens none of them, all keys do.
  const std::string tuples = result.Output("phase two, non-aggregator 2");
  size_t counts = 0, opened_by_aggregator = 0, opened_by_all = 0;
  for (size_t at = 0; at < tuples.size(); at += kBytesPerFlagCountTuple) {
    const auto count = *crypto::ElGamalCiphertext::Decode(tuples.substr(at + 3 * kBytesPerCiphertext, kBytesPerCiphertext));
    ++counts;
    opened_by_aggregator += plain.contains(duchies[2].Decrypt(count).Encode());
    opened_by_all += plain.contains(DecryptAll(duchies, count).Encode());
  }
  CHECK(opened_by_aggregator == 0);
  // Every non-destroyed register's group carries its count point.
  size_t live_registers = 0;
  for (const auto& r : c.union_sketch.registers()) live_registers += !r.destroyed;
  CHECK(opened_by_all >= live_registers);
  CHECK(counts > live_registers);
}

TEST_CASE("LLv2's shuffles are secret: plaintext order differs from the input and from run to run") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'P'));
  const auto duchies = Duchies(3);
  const Campaign c = MakeCampaign(3, 600, 4000, duchies, random);
  const Result a = RunLlv2(duchies, c.edp_vectors, c.params, NONE);
  const Result b = RunLlv2(duchies, c.edp_vectors, c.params, NONE);
  // The plaintext (key, count) of each register, or the count of each tuple,
  // in the order a stage output holds them.
  auto plaintexts = [&](const std::string& bytes, size_t per_record, std::vector<int> fields) {
    std::vector<std::string> out;
    const auto ciphertexts = Ciphertexts(bytes);
    for (size_t r = 0; r < ciphertexts.size(); r += per_record) {
      std::string record;
      for (int f : fields) record += DecryptAll(duchies, ciphertexts[r + f]).Encode();
      out.push_back(record);
    }
    return out;
  };
  for (const auto& [input, output, per_record, fields] :
       {std::tuple<std::string, std::string, size_t, std::vector<int>>{"setup, aggregator", "phase one, non-aggregator 1", 3, {1, 2}},
        {"phase one, aggregator", "phase two, non-aggregator 1", 4, {3}}}) {
    INFO(output);
    const auto in = plaintexts(a.Output(input), per_record, fields);
    const auto out_a = plaintexts(a.Output(output), per_record, fields);
    const auto out_b = plaintexts(b.Output(output), per_record, fields);
    REQUIRE(out_a.size() > 100);
    CHECK(std::multiset<std::string>(in.begin(), in.end()) == std::multiset<std::string>(out_a.begin(), out_a.end()));
    CHECK(in != out_a);
    CHECK(out_a != out_b);
  }
}

}  // namespace
}  // namespace halo::protocol::llv2
