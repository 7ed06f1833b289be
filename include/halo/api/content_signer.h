// A party's content-signing identity: the key it signs measurement specs,
// requisition specs, results and published keys with, apart from its TLS
// key, and the name of the registered certificate its signatures cite.
#ifndef HALO_API_CONTENT_SIGNER_H_
#define HALO_API_CONTENT_SIGNER_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/crypto/certificate.h"
#include "halo/crypto/signing.h"

namespace halo::api {

struct ContentSigner {
  crypto::Certificate certificate;
  crypto::SigningKey key;
  // {entity}/certificates/{id}, as the Kingdom names it once registered.
  std::string name;
};

// Checks that `certificate_pem` is a content-signing certificate (not a TLS
// one) for `entity` and that `private_key_pem` is its key; INVALID_ARGUMENT
// naming `field` otherwise.
absl::StatusOr<ContentSigner> ContentSignerFromPem(absl::string_view certificate_pem,
                                                   absl::string_view private_key_pem, absl::string_view entity,
                                                   absl::string_view field);
// OK when `signer` is set and for `entity`; INVALID_ARGUMENT naming `field`
// otherwise: what each role checks of the signer its options carry.
absl::Status CheckContentSigner(const std::optional<ContentSigner>& signer, absl::string_view entity,
                                absl::string_view field);
// The same, read from files; the key file must not be group or world readable.
absl::StatusOr<ContentSigner> LoadContentSigner(const std::string& certificate_file,
                                                const std::string& private_key_file, absl::string_view entity,
                                                absl::string_view field);

}  // namespace halo::api

#endif  // HALO_API_CONTENT_SIGNER_H_
