// Reach-only LLv2 with every party in one process: EDPs encrypt sketches,
// every duchy runs setup, the non-aggregators blind in ring order, the
// aggregator counts and estimates.
#include "halo/protocol/reach_only_llv2.h"

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"

#include "halo/crypto/sha256.h"

#include "absl/container/flat_hash_set.h"
#include "halo/crypto/seeded_prng.h"
#include "halo/stats/liquid_legions_estimator.h"
#include "testing/synthetic_audience.h"

namespace halo::protocol::llv2 {
namespace {

using crypto::ElGamalCiphertext;
using crypto::ElGamalKeyPair;

constexpr double kDecayRate = 12;
constexpr uint64_t kSketchSize = 20000;

struct Outputs {
  std::vector<std::string> setup;      // per duchy
  std::vector<std::string> execution;  // per non-aggregator, in ring order
  ReachOnlyAggregationResponse result;
};

ReachNoiseParameters Noise(NoiseMechanism mechanism, int duchies) {
  ReachNoiseParameters noise;
  noise.set_mechanism(mechanism);
  noise.set_epsilon(1.0);
  noise.set_delta(1e-6);
  noise.set_duchy_count(duchies);
  return noise;
}

// The last duchy aggregates; EDP i uploads to duchy i mod k. With a replay
// seed, each duchy's noise comes from a seed derived from it.
Outputs RunProtocol(const std::vector<ElGamalKeyPair>& duchies, const std::vector<std::string>& edp_vectors,
                    NoiseMechanism mechanism, const std::string& replay_seed = "") {
  const int k = static_cast<int>(duchies.size());
  std::vector<crypto::ElGamalPublicKey> public_keys;
  for (const auto& d : duchies) public_keys.push_back(d.public_key());
  const std::string combined = crypto::ElGamalPublicKey::Combine(public_keys)->Encode();
  Outputs out;
  out.setup.resize(k);
  auto setup = [&](int duchy, std::vector<std::string> extra) {
    ReachOnlySetupPhaseRequest request;
    request.set_stage(REACH_ONLY_SETUP_PHASE);
    request.set_combined_public_key(combined);
    *request.mutable_noise() = Noise(mechanism, k);
    if (!replay_seed.empty()) request.mutable_noise()->set_replay_seed(crypto::Sha256(absl::StrCat(replay_seed, duchy)));
    request.set_parallelism(2);
    for (size_t i = duchy; i < edp_vectors.size(); i += k) request.add_register_vectors(edp_vectors[i]);
    for (std::string& e : extra) request.add_register_vectors(std::move(e));
    auto response = CompleteReachOnlySetupPhase(request);
    REQUIRE(response.ok());
    out.setup[duchy] = response->registers();
  };
  for (int d = 0; d < k - 1; ++d) setup(d, {});
  setup(k - 1, std::vector<std::string>(out.setup.begin(), out.setup.end() - 1));

  std::string registers = out.setup[k - 1];
  for (int d = 0; d < k - 1; ++d) {
    ReachOnlyExecutionPhaseRequest request;
    request.set_stage(REACH_ONLY_EXECUTION_PHASE);
    request.set_registers(registers);
    request.set_secret_key(duchies[d].secret().ToBytes());
    request.set_parallelism(2);
    auto response = CompleteReachOnlyExecutionPhase(request);
    REQUIRE(response.ok());
    registers = response->registers();
    out.execution.push_back(registers);
  }
  ReachOnlyAggregationRequest request;
  request.set_stage(REACH_ONLY_EXECUTION_PHASE_AT_AGGREGATOR);
  request.set_registers(registers);
  request.set_secret_key(duchies[k - 1].secret().ToBytes());
  request.set_decay_rate(kDecayRate);
  request.set_sketch_size(kSketchSize);
  *request.mutable_noise() = Noise(mechanism, k);
  request.set_vid_sampling_width(1);
  request.set_parallelism(2);
  auto result = CompleteReachOnlyExecutionPhaseAtAggregator(request);
  REQUIRE(result.ok());
  out.result = *result;
  return out;
}

struct Campaign {
  sketch::LiquidLegionsSketch union_sketch;
  std::vector<std::string> edp_vectors;
  uint64_t truth;
};

Campaign MakeCampaign(int edps, uint64_t reach, const std::vector<ElGamalKeyPair>& duchies,
                      crypto::RandomSource& random) {
  const auto params = *sketch::LiquidLegionsParams::Create(kDecayRate, kSketchSize, random.NextUint64());
  const auto audience = testing::MakeAudience(reach, edps, 0.3, 1, random);
  std::vector<crypto::ElGamalPublicKey> keys;
  for (const auto& d : duchies) keys.push_back(d.public_key());
  const auto combined = *crypto::ElGamalPublicKey::Combine(keys);
  Campaign campaign{sketch::LiquidLegionsSketch(params), {}, audience.union_reach};
  for (const auto& events : audience.events_by_edp) {
    sketch::LiquidLegionsSketch sketch(params);
    sketch.AddEvents(events);
    REQUIRE(campaign.union_sketch.Merge(sketch).ok());
    campaign.edp_vectors.push_back(*EncryptReachOnlySketch(sketch, combined, 2));
  }
  return campaign;
}

std::vector<ElGamalKeyPair> Duchies(int k) {
  std::vector<ElGamalKeyPair> duchies;
  for (int i = 0; i < k; ++i) duchies.push_back(ElGamalKeyPair::Generate());
  return duchies;
}

TEST_CASE("Without noise, reach-only LLv2 gives exactly the plaintext union sketch's estimate") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'l'));
  for (int k : {3, 4}) {
    for (int edps : {1, 2, 6}) {
      const auto duchies = Duchies(k);
      const Campaign campaign = MakeCampaign(edps, 1500, duchies, random);
      const Outputs out = RunProtocol(duchies, campaign.edp_vectors, NONE);
      const auto expected = stats::LiquidLegionsReach(
          campaign.union_sketch.params(),
          {.active_registers = static_cast<double>(campaign.union_sketch.ActiveRegisterCount())});
      INFO(k << " duchies, " << edps << " EDPs");
      CHECK(out.result.noisy_active_registers() == static_cast<int64_t>(campaign.union_sketch.ActiveRegisterCount()));
      CHECK(out.result.reach() == Approx(expected->value).epsilon(1e-12));
      CHECK(out.result.reach_std_error() == Approx(expected->std_error).epsilon(1e-12));
      CHECK(out.result.noise_variance() == 0);
    }
  }
}

TEST_CASE("With noise, reach-only LLv2 lies within 3 standard errors of the truth") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'm'));
  for (NoiseMechanism mechanism : {GEOMETRIC, DISCRETE_GAUSSIAN}) {
    int covered = 0;
    const int trials = 6;
    for (int t = 0; t < trials; ++t) {
      const auto duchies = Duchies(3);
      const Campaign campaign = MakeCampaign(3, 2000, duchies, random);
      const Outputs out = RunProtocol(duchies, campaign.edp_vectors, mechanism, random.NextBytes(32));
      CHECK(out.result.noise_variance() > 0);
      covered += std::abs(out.result.reach() - campaign.truth) <= 3 * out.result.reach_std_error();
    }
    INFO(NoiseMechanism_Name(mechanism) << ": " << covered << "/" << trials);
    CHECK(covered >= trials - 1);
  }
}

TEST_CASE("No stage output holds a plaintext index, and fewer than all layers leave it hidden") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 's'));
  const auto duchies = Duchies(3);
  const Campaign campaign = MakeCampaign(2, 300, duchies, random);
  const Outputs out = RunProtocol(duchies, campaign.edp_vectors, NONE);
  absl::flat_hash_set<std::string> plain;
  for (const auto& r : campaign.union_sketch.registers()) plain.insert(IndexPoint(r.index).Encode());
  auto registers_of = [](const std::string& bytes) {
    std::vector<ElGamalCiphertext> out;
    for (size_t i = 0; i < bytes.size(); i += kBytesPerRegister) {
      out.push_back(*ElGamalCiphertext::Decode(bytes.substr(i, kBytesPerRegister)));
    }
    return out;
  };
  std::vector<std::string> stage_outputs = campaign.edp_vectors;
  stage_outputs.insert(stage_outputs.end(), out.setup.begin(), out.setup.end());
  stage_outputs.insert(stage_outputs.end(), out.execution.begin(), out.execution.end());
  for (const std::string& output : stage_outputs) {
    for (const ElGamalCiphertext& c : registers_of(output)) {
      CHECK_FALSE(plain.contains(c.u.Encode()));
      CHECK_FALSE(plain.contains(c.e.Encode()));
    }
  }
  // The last ring output still carries the aggregator's layer: removing a
  // non-aggregator's key instead reveals neither the index nor its blinded form.
  absl::flat_hash_set<std::string> blinded;
  for (const ElGamalCiphertext& c : registers_of(out.execution.back())) blinded.insert(duchies[2].Decrypt(c).Encode());
  for (const ElGamalCiphertext& c : registers_of(out.execution.back())) {
    const std::string wrong = duchies[0].Decrypt(c).Encode();
    CHECK_FALSE(plain.contains(wrong));
    CHECK_FALSE(blinded.contains(wrong));
  }
}

TEST_CASE("Every shuffle is secret: outputs differ in order from run to run") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'o'));
  const auto duchies = Duchies(3);
  const Campaign campaign = MakeCampaign(1, 200, duchies, random);
  const Outputs a = RunProtocol(duchies, campaign.edp_vectors, NONE);
  const Outputs b = RunProtocol(duchies, campaign.edp_vectors, NONE);
  // Decrypting both last ring outputs with the aggregator's key gives blinded
  // points under different blindings, so compare the order of the setup
  // output instead: the same registers, re-encrypted, in a different order.
  CHECK(a.setup[0] != b.setup[0]);
  CHECK(a.execution[0] != b.execution[0]);
  CHECK(a.result.noisy_active_registers() == b.result.noisy_active_registers());
}

TEST_CASE("Reach-only LLv2 stages refuse bad input, naming it") {
  const auto duchies = Duchies(3);
  std::vector<crypto::ElGamalPublicKey> keys;
  for (const auto& d : duchies) keys.push_back(d.public_key());
  const auto combined = *crypto::ElGamalPublicKey::Combine(keys);
  const std::string good = combined.Encrypt(IndexPoint(1)).Encode(crypto::PointEncoding::kUncompressed) +
                           combined.Encrypt(IndexPoint(2)).Encode(crypto::PointEncoding::kUncompressed);

  ReachOnlyExecutionPhaseRequest request;
  request.set_stage(REACH_ONLY_EXECUTION_PHASE);
  request.set_secret_key(duchies[0].secret().ToBytes());
  request.set_registers(good);
  REQUIRE(CompleteReachOnlyExecutionPhase(request).ok());
  auto error_of = [](const ReachOnlyExecutionPhaseRequest& r) {
    auto out = CompleteReachOnlyExecutionPhase(r);
    REQUIRE_FALSE(out.ok());
    return std::string(out.status().message());
  };
  ReachOnlyExecutionPhaseRequest r = request;
  r.set_registers(good.substr(0, 200));
  CHECK_THAT(error_of(r), Catch::Contains("not a whole number of 130-byte registers"));
  r = request;
  r.set_registers(good + "x");
  CHECK_THAT(error_of(r), Catch::Contains("not a whole number"));
  r = request;
  std::string off_curve = good;
  off_curve[130 + 64] ^= 1;
  r.set_registers(off_curve);
  CHECK_THAT(error_of(r), Catch::Contains("register 1: ciphertext u"));
  r = request;
  std::string compressed_sized = good;
  compressed_sized[130] = 0x02;  // a prefix from another encoding
  r.set_registers(compressed_sized);
  CHECK_THAT(error_of(r), Catch::Contains("register 1"));
  r = request;
  r.set_secret_key("short");
  CHECK_THAT(error_of(r), Catch::Contains("secret_key"));
  r = request;
  r.set_stage(REACH_ONLY_SETUP_PHASE);
  CHECK_THAT(error_of(r), Catch::Contains("not REACH_ONLY_EXECUTION_PHASE"));

  ReachOnlySetupPhaseRequest setup;
  setup.set_stage(REACH_ONLY_SETUP_PHASE);
  setup.set_combined_public_key("nope");
  *setup.mutable_noise() = Noise(NONE, 3);
  CHECK_THAT(std::string(CompleteReachOnlySetupPhase(setup).status().message()),
             Catch::Contains("combined_public_key"));
  setup.set_combined_public_key(combined.Encode());
  setup.mutable_noise()->set_duchy_count(0);
  CHECK_THAT(std::string(CompleteReachOnlySetupPhase(setup).status().message()), Catch::Contains("duchy_count"));
  setup.mutable_noise()->set_duchy_count(3);
  setup.add_register_vectors(good.substr(0, 131));
  CHECK_THAT(std::string(CompleteReachOnlySetupPhase(setup).status().message()),
             Catch::Contains("register_vectors[0]"));

  ReachOnlyAggregationRequest aggregation;
  aggregation.set_stage(REACH_ONLY_EXECUTION_PHASE_AT_AGGREGATOR);
  aggregation.set_registers(good);
  aggregation.set_secret_key(duchies[2].secret().ToBytes());
  aggregation.set_decay_rate(0);
  aggregation.set_sketch_size(100);
  *aggregation.mutable_noise() = Noise(NONE, 3);
  aggregation.set_vid_sampling_width(1);
  CHECK_THAT(std::string(CompleteReachOnlyExecutionPhaseAtAggregator(aggregation).status().message()),
             Catch::Contains("decay rate"));
}

}  // namespace
}  // namespace halo::protocol::llv2
