// Full LLv2 stages with every party in one process (so far: EDP encryption,
// initialization, execution phase one at the non-aggregators).
#include "halo/protocol/llv2.h"

#include <catch2/catch.hpp>
#include <map>

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

TEST_CASE("Execution phase one refuses bad input, naming it") {
  const auto duchies = Duchies(3);
  const auto combined = Combined(duchies);
  const auto params = *sketch::LiquidLegionsParams::Create(12, 1000, 1);
  sketch::LiquidLegionsSketch sketch(params);
  sketch.AddEvents({{1, 1}, {2, 1}});
  ExecutionPhaseOneRequest good;
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
