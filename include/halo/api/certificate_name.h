// The resource name the Kingdom gives a registered certificate: the entity
// it identifies, then a digest of the certificate. A party can so name its
// own certificate (to sign with it) without asking the Kingdom.
#ifndef HALO_API_CERTIFICATE_NAME_H_
#define HALO_API_CERTIFICATE_NAME_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "halo/common/hex.h"
#include "halo/crypto/certificate.h"
#include "halo/crypto/sha256.h"

namespace halo::api {

// `entity`/certificates/{the first 8 bytes of SHA-256(DER), hex}.
inline std::string CertificateName(absl::string_view entity, const crypto::Certificate& certificate) {
  return absl::StrCat(entity, "/certificates/", HexEncode(crypto::Sha256(certificate.ToDer()).substr(0, 8)));
}

}  // namespace halo::api

#endif  // HALO_API_CERTIFICATE_NAME_H_
