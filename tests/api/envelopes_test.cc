#include "halo/api/envelopes.h"

#include <catch2/catch.hpp>

#include "halo/api/content_signer.h"

namespace halo::api {
namespace {

TEST_CASE("A signature covers its message's type: one kind of signed message never verifies as another") {
  auto root = *crypto::CertificateAuthority::Create("root of mc1", absl::Hours(1));
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  const crypto::Certificate certificate = *root.Issue(
      {.subject_name = "measurementConsumers/mc1", .use = crypto::CertificateUse::kContentSigning},
      key.verifying_key());
  v1::MeasurementSpec spec;
  spec.add_nonce_hashes("a nonce hash");
  const v1::SignedMessage signed_spec = Sign(spec, key, "measurementConsumers/mc1/certificates/1");
  v1::MeasurementSpec parsed;
  CHECK(VerifyAndParse(signed_spec, certificate, "the spec", parsed).ok());
  CHECK(VerifySignature(signed_spec, certificate, "halo.api.v1.MeasurementSpec").ok());
  // The same bytes read as another type (they parse as one) are refused.
  v1::RequisitionSpec as_requisition_spec;
  const absl::Status refused = VerifyAndParse(signed_spec, certificate, "the requisition spec", as_requisition_spec);
  CHECK_THAT(std::string(refused.message()), Catch::Contains("signature of the requisition spec does not verify"));
  // A bare signature of the bytes, as before domain separation, is refused.
  v1::SignedMessage bare = signed_spec;
  bare.set_signature(key.Sign(signed_spec.data()));
  CHECK_FALSE(VerifyAndParse(bare, certificate, "the spec", parsed).ok());
}

TEST_CASE("A signature by a TLS key is refused, however good: TLS keys sign no content") {
  auto root = *crypto::CertificateAuthority::Create("root of mc1", absl::Hours(1));
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  const crypto::Certificate tls = *root.Issue({.subject_name = "measurementConsumers/mc1"}, key.verifying_key());
  v1::MeasurementSpec spec;
  spec.add_nonce_hashes("a nonce hash");
  const v1::SignedMessage signed_spec = Sign(spec, key, "measurementConsumers/mc1/certificates/tls");
  v1::MeasurementSpec parsed;
  const absl::Status refused = VerifyAndParse(signed_spec, tls, "the spec", parsed);
  CHECK(refused.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(refused.message()),
             Catch::Contains("measurementConsumers/mc1/certificates/tls is not a content-signing certificate"));
  CHECK_FALSE(VerifySignature(signed_spec, tls, "halo.api.v1.MeasurementSpec").ok());
}

TEST_CASE("A content signer is loaded only from a content-signing certificate of its entity and its own key") {
  auto root = *crypto::CertificateAuthority::Create("root of edp1", absl::Hours(1));
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  const crypto::Certificate signing = *root.Issue(
      {.subject_name = "dataProviders/edp1", .use = crypto::CertificateUse::kContentSigning}, key.verifying_key());
  const crypto::Certificate tls = *root.Issue({.subject_name = "dataProviders/edp1"}, key.verifying_key());
  auto signer = ContentSignerFromPem(signing.ToPem(), key.ToPrivateKeyPem(), "dataProviders/edp1", "edp_agent.signing");
  REQUIRE(signer.ok());
  CHECK_THAT(signer->name, Catch::StartsWith("dataProviders/edp1/certificates/"));
  CHECK_THAT(std::string(ContentSignerFromPem(tls.ToPem(), key.ToPrivateKeyPem(), "dataProviders/edp1",
                                              "edp_agent.signing")
                             .status()
                             .message()),
             Catch::Contains("edp_agent.signing.certificate_file: not a content-signing certificate"));
  CHECK_THAT(std::string(ContentSignerFromPem(signing.ToPem(), key.ToPrivateKeyPem(), "dataProviders/edp2",
                                              "edp_agent.signing")
                             .status()
                             .message()),
             Catch::Contains("is for \"dataProviders/edp1\", not dataProviders/edp2"));
  CHECK_THAT(std::string(ContentSignerFromPem(signing.ToPem(), crypto::SigningKey::Generate().ToPrivateKeyPem(),
                                              "dataProviders/edp1", "edp_agent.signing")
                             .status()
                             .message()),
             Catch::Contains("edp_agent.signing.private_key_file: the key is not the one"));
}

TEST_CASE("An LLv2 key's proof of possession binds it to its computation and duchy") {
  const crypto::Scalar secret = crypto::Scalar::Random();
  const crypto::EcPoint point = crypto::EcPoint::MulGenerator(secret);
  const std::string key = ProvenElGamalKey(secret, point, "computations/abc", "worker1").SerializeAsString();
  auto parsed = ParseProvenElGamalKey(key, "computations/abc", "worker1");
  REQUIRE(parsed.ok());
  CHECK(*parsed == point);
  CHECK_THAT(std::string(ParseProvenElGamalKey(key, "computations/abd", "worker1").status().message()),
             Catch::Contains("the key of duchy worker1 in computations/abd") && Catch::Contains("does not verify"));
  CHECK_FALSE(ParseProvenElGamalKey(key, "computations/abc", "worker2").ok());
  CHECK_THAT(std::string(ParseProvenElGamalKey(ToEncryptionPublicKey(point).SerializeAsString(), "computations/abc",
                                               "worker1")
                             .status()
                             .message()),
             Catch::Contains("64 bytes"));
  v1::EncryptionPublicKey off_curve = ProvenElGamalKey(secret, point, "computations/abc", "worker1");
  off_curve.mutable_point()->back() ^= 1;
  CHECK_FALSE(ParseProvenElGamalKey(off_curve.SerializeAsString(), "computations/abc", "worker1").ok());
}

}  // namespace
}  // namespace halo::api
