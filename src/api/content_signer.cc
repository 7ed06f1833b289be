#include "halo/api/content_signer.h"

#include "absl/strings/str_cat.h"
#include "halo/api/certificate_name.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"

namespace halo::api {

absl::StatusOr<ContentSigner> ContentSignerFromPem(absl::string_view certificate_pem,
                                                   absl::string_view private_key_pem, absl::string_view entity,
                                                   absl::string_view field) {
  auto certificate = crypto::Certificate::FromPem(certificate_pem);
  if (!certificate.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".certificate_file: ", certificate.status().message()));
  }
  if (!certificate->AllowsUse(crypto::CertificateUse::kContentSigning)) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".certificate_file: not a content-signing certificate (its extended key usage must be "
                            "documentSigning alone; `halo certs issue --signing` makes one), and a TLS key never "
                            "signs content"));
  }
  if (certificate->SubjectName() != entity) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".certificate_file: the certificate is for \"",
                                                   certificate->SubjectName(), "\", not ", entity));
  }
  auto key = crypto::SigningKey::FromPrivateKeyPem(private_key_pem);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ".private_key_file: ", key.status().message()));
  if (!(key->verifying_key().point() == certificate->public_key().point())) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ".private_key_file: the key is not the one of ", field, ".certificate_file"));
  }
  std::string name = CertificateName(entity, *certificate);
  return ContentSigner{*std::move(certificate), *std::move(key), std::move(name)};
}

absl::Status CheckContentSigner(const std::optional<ContentSigner>& signer, absl::string_view entity,
                                absl::string_view field) {
  if (!signer.has_value()) return absl::InvalidArgumentError(absl::StrCat(field, ": no content-signing key"));
  if (signer->certificate.SubjectName() != entity) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".certificate_file: the certificate is for \"",
                                                   signer->certificate.SubjectName(), "\", not ", entity));
  }
  return absl::OkStatus();
}

absl::StatusOr<ContentSigner> LoadContentSigner(const std::string& certificate_file,
                                                const std::string& private_key_file, absl::string_view entity,
                                                absl::string_view field) {
  auto certificate_pem = ReadFile(certificate_file);
  if (!certificate_pem.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".certificate_file: ", certificate_pem.status().message()));
  }
  auto key_pem = ReadSecretFile(private_key_file, absl::StrCat(field, ".private_key_file"));
  if (!key_pem.ok()) return key_pem.status();
  absl::StatusOr<ContentSigner> signer = ContentSignerFromPem(*certificate_pem, *key_pem, entity, field);
  WipeSecret(*key_pem);
  return signer;
}

}  // namespace halo::api
