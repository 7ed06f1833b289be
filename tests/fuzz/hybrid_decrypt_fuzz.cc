// What is hybrid-encrypted to a party: a measurement's result (to the MC)
// and a requisition spec (to the EDP). A forged or mangled ciphertext is
// refused, never decrypted into something else or a crash.
#include "fuzz_support.h"
#include "halo/api/envelopes.h"
#include "halo/crypto/hybrid_encryption.h"

using namespace halo;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const crypto::EncryptionKeyPair key = [] {
    const crypto::Scalar secret = crypto::Scalar::FromUint64(31337);
    const crypto::EncryptionKeyPair pair{secret, crypto::EcPoint::MulGenerator(secret)};
    api::v1::SignedMessage message;
    message.set_data("a result");
    message.set_certificate("dataProviders/edp1/certificates/c1");
    message.set_signature("signature");
    const std::string public_key = api::ToEncryptionPublicKey(pair.public_key).SerializeAsString();
    fuzz::MaybeWriteSeeds({
        fuzz::WithSelector(0, *crypto::HybridEncrypt(pair.public_key, "plaintext", "context")),
        fuzz::WithSelector(1, *api::EncryptResult(message, public_key, "measurementConsumers/mc1/measurements/m1")),
        fuzz::WithSelector(2, *api::EncryptRequisitionSpec(message, pair.public_key)),
    });
    return pair;
  }();
  const auto [selector, rest] = fuzz::Select(data, size);
  switch (selector % 3) {
    case 0:
      (void)crypto::HybridDecrypt(key, rest, "context");
      break;
    case 1:
      (void)api::DecryptResult(key, rest, "measurementConsumers/mc1/measurements/m1");
      break;
    case 2:
      (void)api::DecryptRequisitionSpec(key, rest);
      break;
  }
  return 0;
}
