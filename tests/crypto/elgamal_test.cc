#include "halo/crypto/elgamal.h"

#include <catch2/catch.hpp>
#include <vector>

#include "halo/crypto/hash_to_curve.h"
#include "halo/crypto/schnorr.h"

namespace halo::crypto {
namespace {

struct ThreeDuchies {
  std::vector<ElGamalKeyPair> keys = {ElGamalKeyPair::Generate(), ElGamalKeyPair::Generate(),
                                      ElGamalKeyPair::Generate()};
  ElGamalPublicKey combined = *ElGamalPublicKey::Combine(
      {keys[0].public_key(), keys[1].public_key(), keys[2].public_key()});
};

EcPoint RandomPoint() { return EcPoint::MulGenerator(Scalar::Random()); }

TEST_CASE("ElGamal decrypts what it encrypts under one key") {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const EcPoint m = RandomPoint();
  CHECK(key.Decrypt(key.public_key().Encrypt(m)) == m);
}

TEST_CASE("Removing every duchy's layer in any order reveals the plaintext") {
  ThreeDuchies d;
  const EcPoint m = RandomPoint();
  const ElGamalCiphertext c = d.combined.Encrypt(m);
  for (const std::vector<int>& order : std::vector<std::vector<int>>{{0, 1, 2}, {2, 0, 1}, {1, 2, 0}}) {
    ElGamalCiphertext partial = c;
    partial = d.keys[order[0]].RemoveLayer(partial);
    partial = d.keys[order[1]].RemoveLayer(partial);
    CHECK(d.keys[order[2]].Decrypt(partial) == m);
  }
}

TEST_CASE("Fewer than all duchies' layers removed leaves the plaintext hidden") {
  ThreeDuchies d;
  const EcPoint m = RandomPoint();
  ElGamalCiphertext partial = d.keys[0].RemoveLayer(d.combined.Encrypt(m));
  partial = d.keys[1].RemoveLayer(partial);
  // Without duchy 2's layer, e is m plus a mask only duchy 2 can remove.
  CHECK(partial.e != m);
  CHECK(d.keys[0].Decrypt(partial) != m);
  CHECK(d.keys[1].Decrypt(partial) != m);
}

TEST_CASE("Re-randomising changes the ciphertext but not the plaintext") {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const EcPoint m = RandomPoint();
  const ElGamalCiphertext c = key.public_key().Encrypt(m);
  const ElGamalCiphertext r = key.public_key().ReRandomize(c);
  CHECK(r.Encode() != c.Encode());
  CHECK(key.Decrypt(r) == m);
}

TEST_CASE("Homomorphic addition adds small integers") {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const SmallIntegerTable table(100);
  const ElGamalCiphertext sum = AddCiphertexts(key.public_key().EncryptInteger(17),
                                               key.public_key().EncryptInteger(25));
  auto value = table.Lookup(key.Decrypt(sum));
  REQUIRE(value.ok());
  CHECK(*value == 42);
}

TEST_CASE("Small integer lookup covers zero and refuses values out of range") {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const SmallIntegerTable table(10);
  CHECK(*table.Lookup(key.Decrypt(key.public_key().EncryptInteger(0))) == 0);
  CHECK(*table.Lookup(key.Decrypt(key.public_key().EncryptInteger(10))) == 10);
  auto out_of_range = table.Lookup(key.Decrypt(key.public_key().EncryptInteger(11)));
  REQUIRE_FALSE(out_of_range.ok());
  CHECK(out_of_range.status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("Blinding is deterministic in the plaintext and hides it") {
  ThreeDuchies d;
  const Scalar k = Scalar::Random();
  const EcPoint index = *HashToCurve("register 7", "HALO-TEST");
  auto fully_decrypt = [&](ElGamalCiphertext c) {
    c = d.keys[0].RemoveLayer(c);
    c = d.keys[1].RemoveLayer(c);
    return d.keys[2].Decrypt(c);
  };
  const EcPoint blinded1 = fully_decrypt(Blind(d.combined.Encrypt(index), k));
  const EcPoint blinded2 = fully_decrypt(Blind(d.combined.Encrypt(index), k));
  CHECK(blinded1 == blinded2);
  CHECK(blinded1 == index.Mul(k));
  CHECK(blinded1 != index);
}

TEST_CASE("Batch operations on two threads match the single-item operations") {
  ThreeDuchies d;
  std::vector<EcPoint> messages;
  for (int i = 0; i < 37; ++i) messages.push_back(RandomPoint());
  std::vector<ElGamalCiphertext> c = EncryptBatch(d.combined, messages, 2);
  c = ReRandomizeBatch(d.combined, c, 2);
  const Scalar k = Scalar::Random();
  c = BlindBatch(k, c, 2);
  c = RemoveLayerBatch(d.keys[0], c, 2);
  c = RemoveLayerBatch(d.keys[1], c, 3);
  std::vector<EcPoint> plain = DecryptBatch(d.keys[2], c, 2);
  REQUIRE(plain.size() == messages.size());
  for (size_t i = 0; i < messages.size(); ++i) CHECK(plain[i] == messages[i].Mul(k));
}

TEST_CASE("ElGamal decoders refuse bad bytes with a reason") {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const std::string good = key.public_key().Encrypt(RandomPoint()).Encode();
  REQUIRE(ElGamalCiphertext::Decode(good).ok());
  REQUIRE(ElGamalCiphertext::Decode(key.public_key().Encrypt(RandomPoint())
                                        .Encode(PointEncoding::kUncompressed)).ok());

  auto truncated = ElGamalCiphertext::Decode(good.substr(0, 65));
  REQUIRE_FALSE(truncated.ok());
  CHECK_THAT(std::string(truncated.status().message()), Catch::Contains("66 or 130 bytes"));
  CHECK_FALSE(ElGamalCiphertext::Decode(good + good).ok());

  std::string off_curve = key.public_key().Encrypt(RandomPoint()).Encode(PointEncoding::kUncompressed);
  off_curve[64] ^= 1;
  auto bad_u = ElGamalCiphertext::Decode(off_curve);
  REQUIRE_FALSE(bad_u.ok());
  CHECK_THAT(std::string(bad_u.status().message()), Catch::Contains("ciphertext u"));

  std::string identity_u = std::string(kCompressedPointBytes, '\0') + good.substr(kCompressedPointBytes);
  CHECK_FALSE(ElGamalCiphertext::Decode(identity_u).ok());

  CHECK_FALSE(ElGamalPublicKey::Decode(std::string(33, '\0')).ok());
  CHECK_FALSE(ElGamalPublicKey::Combine({}).ok());
  CHECK_FALSE(ElGamalKeyPair::FromSecret(Scalar::FromUint64(0)).ok());
}

TEST_CASE("A proof of key possession verifies for its key and context only, and a rogue key has none") {
  const ElGamalKeyPair mine = ElGamalKeyPair::Generate();
  const EcPoint y = EcPoint::Decode(mine.public_key().Encode()).value();
  const std::string proof = ProveKeyPossession(mine.secret(), y, "computations/1 duchy a");
  CHECK(proof.size() == kSchnorrProofBytes);
  CHECK(VerifyKeyPossession(y, proof, "computations/1 duchy a").ok());
  // Fresh randomness: two proofs differ, and both verify.
  const std::string again = ProveKeyPossession(mine.secret(), y, "computations/1 duchy a");
  CHECK(again != proof);
  CHECK(VerifyKeyPossession(y, again, "computations/1 duchy a").ok());

  CHECK_FALSE(VerifyKeyPossession(y, proof, "computations/2 duchy a").ok());
  CHECK_FALSE(VerifyKeyPossession(y, proof, "computations/1 duchy b").ok());
  const EcPoint other = EcPoint::MulGenerator(Scalar::Random());
  CHECK_FALSE(VerifyKeyPossession(other, proof, "computations/1 duchy a").ok());
  for (size_t i : {size_t{0}, size_t{31}, size_t{32}, size_t{63}}) {
    std::string flipped = proof;
    flipped[i] ^= 1;
    CHECK_FALSE(VerifyKeyPossession(y, flipped, "computations/1 duchy a").ok());
  }
  CHECK_THAT(std::string(VerifyKeyPossession(y, proof.substr(1), "c").message()), Catch::Contains("64 bytes"));
  CHECK_THAT(std::string(VerifyKeyPossession(y, std::string(64, '\xff'), "c").message()), Catch::Contains(">= n"));
  CHECK_FALSE(VerifyKeyPossession(EcPoint::Identity(), proof, "c").ok());

  // The rogue key x*G - Y: whoever picks it knows x, not its discrete log,
  // and a proof made with x does not verify for it.
  const Scalar x = Scalar::Random();
  const EcPoint rogue = EcPoint::MulGenerator(x).Sub(y);
  CHECK_FALSE(VerifyKeyPossession(rogue, ProveKeyPossession(x, rogue, "c"), "c").ok());
  CHECK(VerifyKeyPossession(EcPoint::MulGenerator(x), ProveKeyPossession(x, EcPoint::MulGenerator(x), "c"), "c").ok());
}

}  // namespace
}  // namespace halo::crypto
