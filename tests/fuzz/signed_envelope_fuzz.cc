// Signed messages from another party (specs, results, duchy keys): parsed,
// their signature checked against a certificate, then their content parsed.
#include "fuzz_support.h"
#include "halo/api/envelopes.h"
#include "halo/api/v1/resources.pb.h"
#include "halo/crypto/certificate.h"

using namespace halo;

namespace {

struct Signer {
  crypto::SigningKey key;
  crypto::Certificate certificate;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Signer signer = [] {
    auto root = *crypto::CertificateAuthority::Create("measurementConsumers/mc1 root", absl::Hours(24 * 365 * 50));
    crypto::SigningKey key = crypto::SigningKey::Generate();
    crypto::CertificateRequest request;
    request.subject_name = "measurementConsumers/mc1";
    request.validity = absl::Hours(24 * 365 * 50);
    request.use = crypto::CertificateUse::kContentSigning;
    crypto::Certificate certificate = *root.Issue(request, key.verifying_key());
    api::v1::MeasurementSpec spec;
    spec.add_nonce_hashes(std::string(32, 'n'));
    spec.mutable_reach_and_frequency()->set_maximum_frequency(10);
    fuzz::MaybeWriteSeeds({api::Sign(spec, key, "measurementConsumers/mc1/certificates/c1").SerializeAsString()});
    return Signer{std::move(key), std::move(certificate)};
  }();
  api::v1::SignedMessage message;
  if (!message.ParseFromArray(data, static_cast<int>(size))) return 0;
  api::v1::MeasurementSpec spec;
  (void)api::VerifyAndParse(message, signer.certificate, "the measurement spec", spec);
  (void)api::VerifySignature(message, signer.certificate, "halo.api.v1.RequisitionSpec");
  return 0;
}
