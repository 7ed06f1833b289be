#include "halo/crypto/certificate.h"

#include <catch2/catch.hpp>

namespace halo::crypto {
namespace {

TEST_CASE("A CA issues entity certificates that name their resource and verify under it") {
  auto ca = CertificateAuthority::Create("halo dev CA", absl::Hours(24));
  REQUIRE(ca.ok());
  CHECK(ca->certificate().IsCertificateAuthority());
  const SigningKey entity = SigningKey::Generate();
  CertificateRequest request;
  request.subject_name = "dataProviders/edp1";
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1"};
  auto cert = ca->Issue(request, entity.verifying_key());
  REQUIRE(cert.ok());
  CHECK(cert->SubjectName() == "dataProviders/edp1");
  CHECK_FALSE(cert->IsCertificateAuthority());
  CHECK(cert->public_key().point() == entity.verifying_key().point());
  CHECK(cert->VerifyIssuedBy(ca->certificate(), absl::Now()).ok());
  CHECK(cert->public_key().Verify("result", entity.Sign("result")).ok());
  CHECK(cert->SerialHex().size() >= 30);
}

TEST_CASE("A certificate is for TLS or for content signing, never both") {
  auto ca = *CertificateAuthority::Create("root", absl::Hours(1));
  const SigningKey key = SigningKey::Generate();
  const Certificate tls = *ca.Issue({.subject_name = "duchies/worker1", .dns_names = {"localhost"}}, key.verifying_key());
  CHECK(tls.AllowsUse(CertificateUse::kTls));
  CHECK_FALSE(tls.AllowsUse(CertificateUse::kContentSigning));
  const Certificate signing =
      *ca.Issue({.subject_name = "duchies/worker1", .use = CertificateUse::kContentSigning}, key.verifying_key());
  CHECK(signing.AllowsUse(CertificateUse::kContentSigning));
  CHECK_FALSE(signing.AllowsUse(CertificateUse::kTls));
  CHECK(signing.VerifyIssuedBy(ca.certificate(), absl::Now()).ok());
  // A root allows neither; a signing certificate names no host.
  CHECK_FALSE(ca.certificate().AllowsUse(CertificateUse::kTls));
  CHECK_FALSE(ca.certificate().AllowsUse(CertificateUse::kContentSigning));
  CHECK_FALSE(ca.Issue({.subject_name = "duchies/worker1", .dns_names = {"localhost"},
                        .use = CertificateUse::kContentSigning},
                       key.verifying_key())
                  .ok());
}

TEST_CASE("A certificate from another CA is refused") {
  auto ca = CertificateAuthority::Create("ca one", absl::Hours(24));
  auto other = CertificateAuthority::Create("ca two", absl::Hours(24));
  REQUIRE((ca.ok() && other.ok()));
  auto cert = other->Issue({.subject_name = "measurementConsumers/mc1"},
                           SigningKey::Generate().verifying_key());
  REQUIRE(cert.ok());
  auto refused = cert->VerifyIssuedBy(ca->certificate(), absl::Now());
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.message()), Catch::Contains("measurementConsumers/mc1"));
}

TEST_CASE("An expired certificate is refused") {
  auto ca = CertificateAuthority::Create("ca", absl::Hours(24 * 30));
  REQUIRE(ca.ok());
  auto cert = ca->Issue({.subject_name = "duchies/worker1", .validity = absl::Hours(1)},
                        SigningKey::Generate().verifying_key());
  REQUIRE(cert.ok());
  auto refused = cert->VerifyIssuedBy(ca->certificate(), absl::Now() + absl::Hours(2));
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.message()), Catch::Contains("expired"));
}

TEST_CASE("A bundle of roots verifies a certificate from any of them, and says why it refuses one") {
  auto one = *CertificateAuthority::Create("root one", absl::Hours(24 * 30));
  auto two = *CertificateAuthority::Create("root two", absl::Hours(24 * 30));
  auto outsider = *CertificateAuthority::Create("root three", absl::Hours(24));
  auto roots = TrustedRoots::FromPem(one.certificate().ToPem() + two.certificate().ToPem());
  REQUIRE(roots.ok());
  CHECK(roots->roots().size() == 2);
  const VerifyingKey key = SigningKey::Generate().verifying_key();
  auto from_two = *two.Issue({.subject_name = "duchies/worker1", .validity = absl::Hours(1)}, key);
  CHECK(roots->Verify(from_two, absl::Now()).ok());
  // The root that names the issuer says why it refuses.
  auto expired = roots->Verify(from_two, absl::Now() + absl::Hours(2));
  CHECK_THAT(std::string(expired.message()), Catch::Contains("expired") && Catch::Contains("root two"));
  auto stranger = roots->Verify(*outsider.Issue({.subject_name = "duchies/worker1"}, key), absl::Now());
  CHECK(stranger.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(stranger.message()), Catch::Contains("any of the 2 trusted roots"));
  CHECK(from_two.FingerprintHex().size() == 64);
  CHECK(from_two.FingerprintHex() != one.certificate().FingerprintHex());

  CHECK_THAT(std::string(TrustedRoots::FromPem("").status().message()), Catch::Contains("no PEM certificate"));
  CHECK_THAT(std::string(TrustedRoots::FromPem(one.certificate().ToPem() + from_two.ToPem()).status().message()),
             Catch::Contains("certificate 2") && Catch::Contains("not a CA"));
  CHECK_FALSE(TrustedRoots::FromPem("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n").ok());
  CHECK_FALSE(TrustedRoots().Verify(from_two, absl::Now()).ok());

  // An organisation's own root, out of the bundle, trusts only what it issued.
  auto own = roots->IssuerOf(from_two, absl::Now());
  REQUIRE(own.ok());
  REQUIRE(own->roots().size() == 1);
  CHECK(own->roots().front().SubjectName() == "root two");
  CHECK_FALSE(own->Verify(*one.Issue({.subject_name = "duchies/worker1/mills/a"}, key), absl::Now()).ok());
  CHECK(absl::IsInvalidArgument(roots->IssuerOf(*outsider.Issue({.subject_name = "x"}, key), absl::Now()).status()));
}

TEST_CASE("Certificates and CAs survive PEM round trips and refuse bad input") {
  auto ca = CertificateAuthority::Create("ca", absl::Hours(24));
  REQUIRE(ca.ok());
  auto loaded = CertificateAuthority::Load(ca->certificate().ToPem(), ca->key().ToPrivateKeyPem());
  REQUIRE(loaded.ok());
  auto cert = loaded->Issue({.subject_name = "duchies/aggregator"}, SigningKey::Generate().verifying_key());
  REQUIRE(cert.ok());
  auto reread = Certificate::FromPem(cert->ToPem());
  REQUIRE(reread.ok());
  CHECK(reread->ToDer() == cert->ToDer());
  CHECK(reread->VerifyIssuedBy(ca->certificate(), absl::Now()).ok());

  CHECK_FALSE(Certificate::FromPem("not a certificate").ok());
  CHECK_FALSE(Certificate::FromDer(cert->ToDer().substr(0, 100)).ok());
  CHECK_FALSE(Certificate::FromDer(cert->ToDer() + "x").ok());
  auto wrong_key = CertificateAuthority::Load(ca->certificate().ToPem(),
                                              SigningKey::Generate().ToPrivateKeyPem());
  REQUIRE_FALSE(wrong_key.ok());
  CHECK_THAT(std::string(wrong_key.status().message()), Catch::Contains("does not match"));
  auto not_ca = CertificateAuthority::Load(cert->ToPem(), ca->key().ToPrivateKeyPem());
  CHECK_FALSE(not_ca.ok());
  CHECK_FALSE(ca->Issue({.subject_name = ""}, SigningKey::Generate().verifying_key()).ok());
}

}  // namespace
}  // namespace halo::crypto
