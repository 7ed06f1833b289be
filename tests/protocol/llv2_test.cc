// Full LLv2 stages with every party in one process (so far: EDP encryption,
// initialization, execution phase one at the non-aggregators).
#include "halo/protocol/llv2.h"

#include <catch2/catch.hpp>
#include <map>
#include <set>

#include "halo/crypto/hash_to_curve.h"
#include "halo/crypto/seeded_prng.h"
#include "halo/protocol/reach_only_llv2.h"
#include "testing/synthetic_audience.h"

namespace halo::protocol::llv2 {
namespace {

using crypto::ElGamalCiphertext;
using crypto::ElGamalKeyPair;

std::vector<ElGamalKeyPair> Duchies(int k) {
  std::vector<ElGamalKeyPair> duchies;
  for (int i = 0; i < k; ++i) {
    const InitializationPhaseResponse init = *CompleteInitializationPhase({});
    duchies.push_back(*ElGamalKeyPair::FromSecret(*crypto::Scalar::FromBytes(init.secret_key())));
    REQUIRE(duchies.back().public_key().Encode() == init.public_key());
  }
  return duchies;
}

crypto::ElGamalPublicKey Combined(const std::vector<ElGamalKeyPair>& duchies) {
  std::vector<crypto::ElGamalPublicKey> keys;
  for (const auto& d : duchies) keys.push_back(d.public_key());
  return *crypto::ElGamalPublicKey::Combine(keys);
}

std::vector<std::vector<ElGamalCiphertext>> Registers(const std::string& bytes) {
  std::vector<std::vector<ElGamalCiphertext>> out;
  constexpr size_t kCiphertext = 130;
  for (size_t at = 0; at < bytes.size(); at += kBytesPerFullRegister) {
    std::vector<ElGamalCiphertext> r;
    for (size_t c = 0; c < 3; ++c) r.push_back(*ElGamalCiphertext::Decode(bytes.substr(at + c * kCiphertext, kCiphertext)));
    out.push_back(std::move(r));
  }
  return out;
}

std::string EncodeRegister(const crypto::ElGamalPublicKey& key, const crypto::EcPoint& index,
                           const crypto::EcPoint& register_key, const crypto::EcPoint& count) {
  std::string out;
  for (const auto* p : {&index, &register_key, &count}) {
    out += key.Encrypt(*p).Encode(crypto::PointEncoding::kUncompressed);
  }
  return out;
}

crypto::EcPoint DecryptAll(const std::vector<ElGamalKeyPair>& keys, ElGamalCiphertext c) {
  for (size_t i = 0; i + 1 < keys.size(); ++i) c = keys[i].RemoveLayer(c);
  return keys.back().Decrypt(c);
}

TEST_CASE("Initialization gives a fresh key pair each time") {
  const auto a = *CompleteInitializationPhase({});
  const auto b = *CompleteInitializationPhase({});
  CHECK(a.secret_key() != b.secret_key());
  CHECK(crypto::EcPoint::MulGenerator(*crypto::Scalar::FromBytes(a.secret_key())).Encode() == a.public_key());
}

TEST_CASE("An EDP's registers decrypt to index, key and count points") {
  const auto duchies = Duchies(3);
  const auto params = *sketch::LiquidLegionsParams::Create(12, 1000, 7);
  sketch::LiquidLegionsSketch sketch(params);
  sketch.AddEvents({{1, 1}, {2, 3}, {3, 1}, {2, 2}, {4, 1}, {5, 1}});
  auto bytes = EncryptSketch(sketch, Combined(duchies), 2);
  REQUIRE(bytes.ok());
  const auto registers = Registers(*bytes);
  REQUIRE(registers.size() == sketch.registers().size());
  for (size_t i = 0; i < registers.size(); ++i) {
    const sketch::Register& r = sketch.registers()[i];
    CHECK(DecryptAll(duchies, registers[i][0]) == IndexPoint(r.index));
    CHECK(DecryptAll(duchies, registers[i][1]) == (r.destroyed ? DestroyedKey() : KeyPoint(r.key)));
    CHECK(DecryptAll(duchies, registers[i][2]) ==
          (r.destroyed ? DestroyedKey() : CountUnit().Mul(crypto::Scalar::FromUint64(r.count))));
  }
  // A register the EDP's own VIDs destroyed carries the destroyed constant.
  auto destroyed = sketch::LiquidLegionsSketch::FromRegisters(params, {{5, true, 0, 0}});
  const auto destroyed_registers = Registers(*EncryptSketch(*destroyed, Combined(duchies), 1));
  REQUIRE(destroyed_registers.size() == 1);
  CHECK(DecryptAll(duchies, destroyed_registers[0][0]) == IndexPoint(5));
  CHECK(DecryptAll(duchies, destroyed_registers[0][1]) == DestroyedKey());
  CHECK(DecryptAll(duchies, destroyed_registers[0][2]) == DestroyedKey());
}

// Groups of (key, count) points by index before the ring, and by blinded
// index after it, must be the same groups: records stay whole and blinding
// keeps equal indexes equal and distinct ones distinct.
TEST_CASE("Execution phase one keeps registers whole and groups them by blinded index") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'e'));
  for (int k : {3, 4}) {
    const auto duchies = Duchies(k);
    const auto combined = Combined(duchies);
    const auto params = *sketch::LiquidLegionsParams::Create(12, 300, random.NextUint64());
    const auto audience = testing::MakeAudience(400, 3, 0.5, 4, random);
    std::string vector;
    using Group = std::vector<std::string>;
    std::map<uint32_t, Group> plain_groups;
    for (const auto& events : audience.events_by_edp) {
      sketch::LiquidLegionsSketch sketch(params);
      sketch.AddEvents(events);
      vector += *EncryptSketch(sketch, combined, 2);
      for (const auto& r : sketch.registers()) {
        plain_groups[r.index].push_back(
            r.destroyed ? DestroyedKey().Encode() + DestroyedKey().Encode()
                        : KeyPoint(r.key).Encode() + CountUnit().Mul(crypto::Scalar::FromUint64(r.count)).Encode());
      }
    }
    std::string registers = vector;
    for (int d = 0; d < k - 1; ++d) {
      ExecutionPhaseOneRequest request;
      request.set_stage(EXECUTION_PHASE_ONE);
      request.set_registers(registers);
      request.set_secret_key(duchies[d].secret().ToBytes());
      request.set_combined_public_key(combined.Encode());
      request.set_parallelism(2);
      auto response = CompleteExecutionPhaseOne(request);
      REQUIRE(response.ok());
      CHECK(response->registers().size() == registers.size());
      CHECK(response->registers() != registers);
      registers = response->registers();
    }
    std::map<std::string, Group> blinded_groups;
    for (const auto& r : Registers(registers)) {
      const std::string blinded = duchies[k - 1].Decrypt(r[0]).Encode();
      blinded_groups[blinded].push_back(DecryptAll(duchies, r[1]).Encode() + DecryptAll(duchies, r[2]).Encode());
    }
    std::multiset<Group> before, after;
    for (auto& [index, group] : plain_groups) {
      std::sort(group.begin(), group.end());
      before.insert(group);
      // No blinded index is the plaintext index point.
      CHECK_FALSE(blinded_groups.count(IndexPoint(index).Encode()));
    }
    for (auto& [blinded, group] : blinded_groups) {
      std::sort(group.begin(), group.end());
      after.insert(group);
    }
    INFO(k << " duchies");
    CHECK(before == after);
  }
}

// Runs phase one through the non-aggregators and then the aggregator.
std::string PhaseOne(const std::vector<ElGamalKeyPair>& duchies, std::string registers, int total_sketches) {
  const auto combined = Combined(duchies);
  for (size_t d = 0; d + 1 < duchies.size(); ++d) {
    ExecutionPhaseOneRequest request;
    request.set_stage(EXECUTION_PHASE_ONE);
    request.set_registers(registers);
    request.set_secret_key(duchies[d].secret().ToBytes());
    request.set_combined_public_key(combined.Encode());
    request.set_parallelism(2);
    registers = CompleteExecutionPhaseOne(request)->registers();
  }
  ExecutionPhaseOneAtAggregatorRequest request;
  request.set_stage(EXECUTION_PHASE_ONE_AT_AGGREGATOR);
  request.set_registers(registers);
  request.set_secret_key(duchies.back().secret().ToBytes());
  request.set_combined_public_key(combined.Encode());
  request.set_total_sketches_count(total_sketches);
  request.set_parallelism(2);
  auto response = CompleteExecutionPhaseOneAtAggregator(request);
  REQUIRE(response.ok());
  return response->flag_count_tuples();
}

// What a group's tuple must decrypt to: which flags are the identity, and the
// group's total count when every key is equal.
std::string Outcome(bool a_zero, bool b_zero, bool c_zero, const std::string& count) {
  return std::string(a_zero ? "a0" : "a*") + (b_zero ? "b0" : "b*") + (c_zero ? "c0" : "c*") +
         (a_zero ? count : std::string("garbage"));
}

TEST_CASE("Phase one at the aggregator turns each group into its same-key aggregation tuple") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'k'));
  const auto duchies = Duchies(3);
  const auto combined = Combined(duchies);
  // A small sketch, so that registers collide within and across EDPs.
  const auto params = *sketch::LiquidLegionsParams::Create(5, 120, random.NextUint64());
  const auto audience = testing::MakeAudience(150, 3, 0.4, 4, random);
  std::string vector;
  std::map<uint32_t, std::vector<sketch::Register>> groups;
  for (const auto& events : audience.events_by_edp) {
    sketch::LiquidLegionsSketch sketch(params);
    sketch.AddEvents(events);
    vector += *EncryptSketch(sketch, combined, 2);
    for (const auto& r : sketch.registers()) groups[r.index].push_back(r);
  }
  std::multiset<std::string> expected;
  int clean = 0, mixed = 0, destroyed_only = 0;
  for (const auto& [index, registers] : groups) {
    bool same = true, all_destroyed = true;
    uint64_t total = 0;
    for (const auto& r : registers) {
      same = same && r.destroyed == registers[0].destroyed && r.key == registers[0].key;
      all_destroyed = all_destroyed && r.destroyed;
      total += r.count;
    }
    clean += same && !all_destroyed;
    mixed += !same;
    destroyed_only += all_destroyed;
    const std::string count =
        all_destroyed ? DestroyedKey().Mul(crypto::Scalar::FromUint64(registers.size())).Encode()
                      : CountUnit().Mul(crypto::Scalar::FromUint64(total)).Encode();
    expected.insert(Outcome(same, same && all_destroyed, false, count));
  }
  REQUIRE((clean > 10 && mixed > 3 && destroyed_only > 0));

  const std::string tuples = PhaseOne(duchies, vector, 3);
  REQUIRE(tuples.size() == groups.size() * kBytesPerFlagCountTuple);
  std::multiset<std::string> actual;
  for (size_t at = 0; at < tuples.size(); at += kBytesPerFlagCountTuple) {
    bool zero[3];
    for (int f = 0; f < 3; ++f) {
      zero[f] = DecryptAll(duchies, *ElGamalCiphertext::Decode(tuples.substr(at + f * 130, 130))).IsIdentity();
    }
    const std::string count = DecryptAll(duchies, *ElGamalCiphertext::Decode(tuples.substr(at + 390, 130))).Encode();
    actual.insert(Outcome(zero[0], zero[1], zero[2], count));
  }
  CHECK(actual == expected);

  // With one sketch counted, every group of two or more is noise: skipped.
  size_t singletons = 0;
  for (const auto& [index, registers] : groups) singletons += registers.size() == 1;
  CHECK(PhaseOne(duchies, vector, 1).size() == singletons * kBytesPerFlagCountTuple);
}

TEST_CASE("Blinded-histogram noise registers are marked by flag_c") {
  const auto duchies = Duchies(3);
  const auto combined = Combined(duchies);
  // Two registers sharing a noise index, keyed with the blinded-histogram key.
  const crypto::EcPoint index = *crypto::HashToCurve("some noise index", "HALO-TEST");
  std::string vector;
  for (int i = 0; i < 2; ++i) {
    vector += EncodeRegister(combined, index, BlindedHistogramKey(), BlindedHistogramKey());
  }
  const std::string tuples = PhaseOne(duchies, vector, 3);
  REQUIRE(tuples.size() == kBytesPerFlagCountTuple);
  CHECK(DecryptAll(duchies, *ElGamalCiphertext::Decode(tuples.substr(0, 130))).IsIdentity());
  CHECK_FALSE(DecryptAll(duchies, *ElGamalCiphertext::Decode(tuples.substr(130, 130))).IsIdentity());
  CHECK(DecryptAll(duchies, *ElGamalCiphertext::Decode(tuples.substr(260, 130))).IsIdentity());
}

TEST_CASE("Phase one at the aggregator refuses bad input") {
  const auto duchies = Duchies(3);
  ExecutionPhaseOneAtAggregatorRequest request;
  request.set_stage(EXECUTION_PHASE_ONE_AT_AGGREGATOR);
  request.set_registers(std::string(390, '\0'));
  request.set_secret_key(duchies[2].secret().ToBytes());
  request.set_combined_public_key(Combined(duchies).Encode());
  request.set_total_sketches_count(0);
  CHECK_THAT(std::string(CompleteExecutionPhaseOneAtAggregator(request).status().message()),
             Catch::Contains("total_sketches_count"));
  request.set_total_sketches_count(2);
  CHECK_THAT(std::string(CompleteExecutionPhaseOneAtAggregator(request).status().message()),
             Catch::Contains("register 0"));
  request.set_registers(std::string(100, '\0'));
  CHECK_THAT(std::string(CompleteExecutionPhaseOneAtAggregator(request).status().message()),
             Catch::Contains("not a whole number"));
}

RegisterNoiseParameters SetupNoiseParameters(NoiseMechanism mechanism) {
  RegisterNoiseParameters noise;
  noise.set_mechanism(mechanism);
  for (DpParams* p : {noise.mutable_blinded_histogram(), noise.mutable_publisher_noise(), noise.mutable_global_reach()}) {
    p->set_epsilon(1.0);
    p->set_delta(1e-6);
  }
  noise.set_duchy_count(3);
  noise.set_total_sketches_count(3);
  return noise;
}

// A small sketch of five VIDs, one of them seen five times.
sketch::LiquidLegionsSketch FiveVidSketch() {
  sketch::LiquidLegionsSketch sketch(*sketch::LiquidLegionsParams::Create(12, 1000, 3));
  sketch.AddEvents({{1, 1}, {2, 2}, {3, 1}, {4, 5}, {5, 1}});
  return sketch;
}

TEST_CASE("Setup passes registers through, shuffled, and adds each kind of noise within its bounds") {
  const auto duchies = Duchies(3);
  const auto combined = Combined(duchies);
  const sketch::LiquidLegionsSketch sketch = FiveVidSketch();
  const std::string input = *EncryptSketch(sketch, combined, 2);
  std::multiset<std::string> input_plain;
  for (const auto& r : Registers(input)) {
    input_plain.insert(DecryptAll(duchies, r[0]).Encode() + DecryptAll(duchies, r[1]).Encode() +
                       DecryptAll(duchies, r[2]).Encode());
  }
  for (NoiseMechanism mechanism : {NONE, DISCRETE_GAUSSIAN, GEOMETRIC}) {
    SetupPhaseRequest request;
    request.set_stage(SETUP_PHASE);
    request.set_combined_public_key(combined.Encode());
    request.add_register_vectors(input);
    *request.mutable_noise() = SetupNoiseParameters(mechanism);
    request.set_parallelism(2);
    auto response = CompleteSetupPhase(request);
    REQUIRE(response.ok());
    const SetupNoiseBounds bounds = *SetupNoise(request.noise());
    const auto registers = Registers(response->registers());
    INFO(NoiseMechanism_Name(mechanism));
    REQUIRE(registers.size() == sketch.registers().size() + bounds.total_registers);

    std::multiset<std::string> passed_through;
    std::map<std::string, int64_t> blinded_histogram_groups;
    int64_t publisher = 0, padding = 0, global_reach = 0;
    for (const auto& r : registers) {
      const crypto::EcPoint index = DecryptAll(duchies, r[0]);
      const crypto::EcPoint key = DecryptAll(duchies, r[1]);
      const crypto::EcPoint count = DecryptAll(duchies, r[2]);
      const std::string plain = index.Encode() + key.Encode() + count.Encode();
      if (input_plain.count(plain) > passed_through.count(plain)) {
        passed_through.insert(plain);
      } else if (index == PublisherNoiseIndex()) {
        ++publisher;
      } else if (index == PaddingIndex()) {
        ++padding;
      } else if (key == BlindedHistogramKey()) {
        ++blinded_histogram_groups[index.Encode()];
      } else if (key == DestroyedKey()) {
        ++global_reach;
      } else {
        FAIL("a register that is neither input nor noise");
      }
    }
    CHECK(passed_through == input_plain);
    CHECK(publisher <= 2 * bounds.publisher_shift);
    CHECK(global_reach <= 2 * bounds.global_reach_shift);
    std::map<int64_t, int64_t> groups_of_size;
    for (const auto& [index, size] : blinded_histogram_groups) ++groups_of_size[size];
    for (const auto& [size, groups] : groups_of_size) {
      CHECK((size >= 1 && size <= 3));
      CHECK(groups <= 2 * bounds.blinded_histogram_shift);
    }
    if (mechanism == NONE) {
      CHECK(bounds.total_registers == 0);
    } else {
      // The noise is centred on its shift: far from both ends in practice.
      CHECK(publisher > 0);
      CHECK(global_reach > 0);
      CHECK(groups_of_size.size() == 3);
      // Each shared-index group is larger than the aggregator keeps.
      CHECK(publisher > request.noise().total_sketches_count());
      CHECK(padding > request.noise().total_sketches_count());
    }
  }
}

TEST_CASE("Setup refuses bad parameters and bad registers, naming them") {
  const auto duchies = Duchies(3);
  SetupPhaseRequest request;
  request.set_stage(SETUP_PHASE);
  request.set_combined_public_key(Combined(duchies).Encode());
  *request.mutable_noise() = SetupNoiseParameters(DISCRETE_GAUSSIAN);
  auto error_of = [](const SetupPhaseRequest& r) {
    auto out = CompleteSetupPhase(r);
    REQUIRE_FALSE(out.ok());
    return std::string(out.status().message());
  };
  SetupPhaseRequest r = request;
  r.mutable_noise()->set_duchy_count(0);
  CHECK_THAT(error_of(r), Catch::Contains("noise.duchy_count"));
  r = request;
  r.mutable_noise()->set_total_sketches_count(0);
  CHECK_THAT(error_of(r), Catch::Contains("noise.total_sketches_count"));
  r = request;
  r.mutable_noise()->mutable_publisher_noise()->set_epsilon(0);
  CHECK_THAT(error_of(r), Catch::Contains("noise.publisher_noise"));
  r = request;
  r.mutable_noise()->mutable_global_reach()->set_delta(0);
  CHECK_THAT(error_of(r), Catch::Contains("noise.global_reach"));
  r = request;
  r.mutable_noise()->set_mechanism(NOISE_MECHANISM_UNSPECIFIED);
  CHECK_THAT(error_of(r), Catch::Contains("noise.mechanism"));
  r = request;
  r.set_combined_public_key("x");
  CHECK_THAT(error_of(r), Catch::Contains("combined_public_key"));
  r = request;
  r.add_register_vectors(std::string(391, '\0'));
  CHECK_THAT(error_of(r), Catch::Contains("register_vectors[0]"));
  r = request;
  r.add_register_vectors(std::string(390, '\0'));
  CHECK_THAT(error_of(r), Catch::Contains("register_vectors[0]: register 0"));
}

// A stream of `bytes` in pieces of `piece` bytes that says it holds
// `claimed` bytes.
RegisterVectorStream PiecesOf(std::string bytes, size_t piece, uint64_t claimed) {
  auto at = std::make_shared<size_t>(0);
  auto held = std::make_shared<std::string>(std::move(bytes));
  return {claimed, [held, at, piece]() -> absl::StatusOr<std::optional<std::string>> {
            if (*at >= held->size()) return std::nullopt;
            std::string out = held->substr(*at, piece);
            *at += out.size();
            return out;
          }};
}

TEST_CASE("Setup streams its register vectors in any pieces, and refuses one that runs short or long") {
  const auto duchies = Duchies(3);
  const auto combined = Combined(duchies);
  const sketch::LiquidLegionsSketch sketch = FiveVidSketch();
  const std::string input = *EncryptSketch(sketch, combined, 2);
  std::multiset<std::string> input_plain;
  for (const auto& r : Registers(input)) input_plain.insert(r[0].Encode() + r[1].Encode() + r[2].Encode());
  SetupPhaseRequest request;
  request.set_stage(SETUP_PHASE);
  request.set_combined_public_key(combined.Encode());
  *request.mutable_noise() = SetupNoiseParameters(NONE);
  request.set_parallelism(2);
  // Pieces that split registers, and the same vector twice.
  std::vector<RegisterVectorStream> streams;
  streams.push_back(PiecesOf(input, 1000, input.size()));
  streams.push_back(PiecesOf(input, 7, input.size()));
  auto response = CompleteSetupPhase(request, std::move(streams));
  INFO(response.status().message());
  REQUIRE(response.ok());
  std::multiset<std::string> output_plain;
  for (const auto& r : Registers(response->registers())) {
    output_plain.insert(r[0].Encode() + r[1].Encode() + r[2].Encode());
  }
  std::multiset<std::string> twice = input_plain;
  twice.insert(input_plain.begin(), input_plain.end());
  CHECK(output_plain == twice);

  auto refused = [&](RegisterVectorStream stream) {
    std::vector<RegisterVectorStream> one;
    one.push_back(std::move(stream));
    auto out = CompleteSetupPhase(request, std::move(one));
    REQUIRE_FALSE(out.ok());
    return std::string(out.status().message());
  };
  CHECK_THAT(refused(PiecesOf(input.substr(0, input.size() - kBytesPerFullRegister), 1000, input.size())),
             Catch::Contains("register_vectors[0] ended after"));
  CHECK_THAT(refused(PiecesOf(input + input.substr(0, kBytesPerFullRegister), 1000, input.size())),
             Catch::Contains("register_vectors[0] holds more than"));
  CHECK_THAT(refused(PiecesOf(input, 1000, input.size() + 1)), Catch::Contains("not a whole number"));
  // A bad register past the first few MiB is named by its place in the vector.
  std::string long_vector;
  for (int i = 0; i < 25000; ++i) long_vector += input.substr(0, kBytesPerFullRegister);
  long_vector += std::string(kBytesPerFullRegister, '\0');
  CHECK_THAT(refused(PiecesOf(long_vector, 1 << 20, long_vector.size())),
             Catch::Contains("register_vectors[0]: register 25000"));
}

TEST_CASE("Execution phase one refuses bad input, naming it") {
  const auto duchies = Duchies(3);
  const auto combined = Combined(duchies);
  const auto params = *sketch::LiquidLegionsParams::Create(12, 1000, 1);
  sketch::LiquidLegionsSketch sketch(params);
  sketch.AddEvents({{1, 1}, {2, 1}});
  ExecutionPhaseOneRequest good;
  good.set_stage(EXECUTION_PHASE_ONE);
  good.set_registers(*EncryptSketch(sketch, combined, 1));
  good.set_secret_key(duchies[0].secret().ToBytes());
  good.set_combined_public_key(combined.Encode());
  REQUIRE(CompleteExecutionPhaseOne(good).ok());
  auto error_of = [](const ExecutionPhaseOneRequest& r) {
    auto out = CompleteExecutionPhaseOne(r);
    REQUIRE_FALSE(out.ok());
    return std::string(out.status().message());
  };
  ExecutionPhaseOneRequest r = good;
  r.set_registers(good.registers().substr(0, 400));
  CHECK_THAT(error_of(r), Catch::Contains("not a whole number of 390-byte registers"));
  r = good;
  r.mutable_registers()->at(390 + 2 * 130 + 64) ^= 1;  // register 1, ciphertext 2, u's last byte
  CHECK_THAT(error_of(r), Catch::Contains("register 1: ciphertext 2"));
  r = good;
  r.set_combined_public_key("bad");
  CHECK_THAT(error_of(r), Catch::Contains("combined_public_key"));
  r = good;
  r.set_secret_key(std::string(32, '\0'));
  CHECK_THAT(error_of(r), Catch::Contains("secret_key"));
  r = good;
  r.set_parallelism(-1);
  CHECK_THAT(error_of(r), Catch::Contains("parallelism"));
}

}  // namespace
}  // namespace halo::protocol::llv2

namespace halo::protocol::llv2 {
namespace {

FlagCountNoiseParameters FlagNoise(NoiseMechanism mechanism) {
  FlagCountNoiseParameters noise;
  noise.set_mechanism(mechanism);
  noise.mutable_frequency()->set_epsilon(1);
  noise.mutable_frequency()->set_delta(1e-6);
  noise.set_non_aggregator_count(2);
  noise.set_maximum_frequency(4);
  return noise;
}

TEST_CASE("Phases two and three refuse bad input, naming it") {
  const auto duchies = Duchies(3);
  const auto combined = Combined(duchies);
  const std::string tuple = [&] {
    std::string t;
    for (int i = 0; i < 4; ++i) t += combined.Encrypt(crypto::EcPoint::Identity()).Encode(crypto::PointEncoding::kUncompressed);
    return t;
  }();
  ExecutionPhaseTwoRequest two;
  two.set_stage(EXECUTION_PHASE_TWO);
  two.set_flag_count_tuples(tuple + tuple);
  two.set_secret_key(duchies[0].secret().ToBytes());
  two.set_combined_public_key(combined.Encode());
  two.set_partial_composite_public_key(duchies[1].public_key().Encode());
  *two.mutable_noise() = FlagNoise(DISCRETE_GAUSSIAN);
  REQUIRE(CompleteExecutionPhaseTwo(two).ok());
  auto two_error = [](const ExecutionPhaseTwoRequest& r) {
    auto out = CompleteExecutionPhaseTwo(r);
    REQUIRE_FALSE(out.ok());
    return std::string(out.status().message());
  };
  ExecutionPhaseTwoRequest r = two;
  r.set_flag_count_tuples(tuple.substr(0, 390));  // phase-one registers are 390 bytes
  CHECK_THAT(two_error(r), Catch::Contains("not a whole number of 520-byte"));
  r = two;
  r.mutable_flag_count_tuples()->at(520 + 3 * 130 + 64) ^= 1;
  CHECK_THAT(two_error(r), Catch::Contains("flag_count_tuples: register 1: ciphertext 3"));
  r = two;
  r.set_partial_composite_public_key("");
  CHECK_THAT(two_error(r), Catch::Contains("partial_composite_public_key"));
  r = two;
  r.mutable_noise()->set_maximum_frequency(1);
  CHECK_THAT(two_error(r), Catch::Contains("maximum_frequency"));
  r = two;
  r.mutable_noise()->set_non_aggregator_count(0);
  CHECK_THAT(two_error(r), Catch::Contains("non_aggregator_count"));
  r = two;
  r.mutable_noise()->mutable_frequency()->set_epsilon(-1);
  CHECK_THAT(two_error(r), Catch::Contains("noise.frequency"));

  ExecutionPhaseTwoAtAggregatorRequest aggregate;
  aggregate.set_stage(EXECUTION_PHASE_TWO_AT_AGGREGATOR);
  aggregate.set_flag_count_tuples(tuple);
  aggregate.set_secret_key(duchies[2].secret().ToBytes());
  aggregate.set_decay_rate(12);
  aggregate.set_sketch_size(1000);
  aggregate.set_vid_sampling_width(1);
  aggregate.mutable_register_noise()->set_mechanism(NONE);
  aggregate.mutable_register_noise()->set_duchy_count(3);
  aggregate.mutable_register_noise()->set_total_sketches_count(2);
  *aggregate.mutable_flag_count_noise() = FlagNoise(NONE);
  REQUIRE(CompleteExecutionPhaseTwoAtAggregator(aggregate).ok());
  aggregate.set_vid_sampling_width(2);
  CHECK_THAT(std::string(CompleteExecutionPhaseTwoAtAggregator(aggregate).status().message()),
             Catch::Contains("sampling width"));

  ExecutionPhaseThreeRequest three;
  three.set_stage(EXECUTION_PHASE_THREE);
  three.set_same_key_aggregator_matrix(tuple.substr(0, 3 * 130));
  three.set_secret_key(duchies[0].secret().ToBytes());
  three.set_maximum_frequency(4);
  REQUIRE(CompleteExecutionPhaseThree(three).ok());
  three.set_maximum_frequency(3);  // rows of 2 ciphertexts: 390 bytes is not whole
  CHECK_THAT(std::string(CompleteExecutionPhaseThree(three).status().message()),
             Catch::Contains("same_key_aggregator_matrix"));
  three.set_maximum_frequency(1);
  CHECK_THAT(std::string(CompleteExecutionPhaseThree(three).status().message()), Catch::Contains("maximum_frequency"));

  ExecutionPhaseThreeAtAggregatorRequest last;
  last.set_stage(EXECUTION_PHASE_THREE_AT_AGGREGATOR);
  last.set_same_key_aggregator_matrix("x");
  last.set_secret_key(duchies[2].secret().ToBytes());
  *last.mutable_flag_count_noise() = FlagNoise(NONE);
  CHECK_THAT(std::string(CompleteExecutionPhaseThreeAtAggregator(last).status().message()),
             Catch::Contains("not a whole number"));
}

}  // namespace
}  // namespace halo::protocol::llv2

namespace halo::protocol::llv2 {
namespace {

TEST_CASE("Each LLv2 stage refuses a request meant for another stage") {
  const auto duchies = Duchies(3);
  ExecutionPhaseTwoRequest two;
  two.set_stage(EXECUTION_PHASE_TWO);
  two.set_secret_key(duchies[0].secret().ToBytes());
  two.set_combined_public_key(Combined(duchies).Encode());
  // The mill hands phase two's bytes to phase one by mistake.
  ExecutionPhaseOneRequest one;
  REQUIRE(one.ParseFromString(two.SerializeAsString()));
  auto refused = CompleteExecutionPhaseOne(one);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains("request is for stage EXECUTION_PHASE_TWO, not EXECUTION_PHASE_ONE"));
  ExecutionPhaseThreeRequest three;
  REQUIRE(three.ParseFromString(two.SerializeAsString()));
  CHECK_THAT(std::string(CompleteExecutionPhaseThree(three).status().message()),
             Catch::Contains("not EXECUTION_PHASE_THREE"));
  SetupPhaseRequest setup;
  CHECK_THAT(std::string(CompleteSetupPhase(setup).status().message()),
             Catch::Contains("STAGE_UNSPECIFIED, not SETUP_PHASE"));
}

}  // namespace
}  // namespace halo::protocol::llv2
