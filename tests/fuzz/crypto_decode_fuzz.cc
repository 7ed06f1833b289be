// Every decoder of bytes another party sends that holds a point, a key or a
// sketch: points, ElGamal ciphertexts and keys, encryption keys, duchy keys
// with their proof of possession, scalars and Liquid Legions sketches.
#include "fuzz_support.h"
#include "halo/api/envelopes.h"
#include "halo/crypto/elgamal.h"
#include "halo/sketch/liquid_legions.h"

using namespace halo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool seeded = [] {
    const auto key = *crypto::ElGamalKeyPair::FromSecret(crypto::Scalar::FromUint64(424242));
    const crypto::EcPoint point = key.public_key().point();
    sketch::LiquidLegionsSketch sketch(*sketch::LiquidLegionsParams::Create(12, 64, 7));
    sketch.AddEvents({{1, 1}, {2, 3}, {99, 2}});
    halo::fuzz::MaybeWriteSeeds({
        fuzz::WithSelector(0, point.Encode(crypto::PointEncoding::kCompressed)),
        fuzz::WithSelector(0, point.Encode(crypto::PointEncoding::kUncompressed)),
        fuzz::WithSelector(1, key.public_key().EncryptInteger(5).Encode(crypto::PointEncoding::kUncompressed)),
        fuzz::WithSelector(2, key.public_key().Encode()),
        fuzz::WithSelector(3, api::ToEncryptionPublicKey(point).SerializeAsString()),
        fuzz::WithSelector(4, api::ProvenElGamalKey(key.secret(), point, "computations/c1", "worker1").SerializeAsString()),
        fuzz::WithSelector(5, key.secret().ToBytes()),
        fuzz::WithSelector(6, sketch.Serialize()),
    });
    return true;
  }();
  (void)seeded;
  const auto [selector, rest] = fuzz::Select(data, size);
  switch (selector % 7) {
    case 0:
      (void)crypto::EcPoint::Decode(rest);
      (void)crypto::EcPoint::Decode(rest, crypto::IdentityPolicy::kAllow);
      break;
    case 1:
      (void)crypto::ElGamalCiphertext::Decode(rest);
      break;
    case 2:
      (void)crypto::ElGamalPublicKey::Decode(rest);
      break;
    case 3:
      (void)api::ParseEncryptionPublicKey(rest);
      break;
    case 4:
      (void)api::ParseProvenElGamalKey(rest, "computations/c1", "worker1");
      break;
    case 5:
      (void)crypto::Scalar::FromBytes(rest);
      break;
    case 6:
      (void)sketch::LiquidLegionsSketch::Deserialize(rest);
      break;
  }
  return 0;
}
