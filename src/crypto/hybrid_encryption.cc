#include "halo/crypto/hybrid_encryption.h"

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/aead.h"
#include "halo/crypto/hkdf.h"

namespace halo::crypto {
namespace {

constexpr char kVersion = 0x01;
constexpr absl::string_view kInfoPrefix = "halo hybrid v1";

absl::StatusOr<std::string> DeriveKey(absl::string_view shared_x, const EcPoint& ephemeral,
                                      const EcPoint& recipient, absl::string_view context) {
  return HkdfSha256(shared_x, ephemeral.Encode() + recipient.Encode(),
                    absl::StrCat(kInfoPrefix, context), kAeadKeyBytes);
}

std::string ZeroNonce() {
  return std::string(AeadNonceBytes(AeadAlgorithm::kChaCha20Poly1305), '\0');
}

}  // namespace

absl::StatusOr<std::string> EcdhSharedSecret(const Scalar& secret, const EcPoint& peer) {
  if (secret.IsZero()) return absl::InvalidArgumentError("ECDH secret is zero");
  auto x = peer.Mul(secret).AffineX();
  if (!x.ok()) return absl::InvalidArgumentError("ECDH shared point is at infinity");
  return x;
}

EncryptionKeyPair EncryptionKeyPair::Generate() {
  Scalar secret = Scalar::Random();
  EcPoint public_key = EcPoint::MulGenerator(secret);
  return {std::move(secret), std::move(public_key)};
}

absl::StatusOr<std::string> HybridEncrypt(const EcPoint& recipient, absl::string_view plaintext,
                                          absl::string_view context) {
  if (recipient.IsIdentity()) {
    return absl::InvalidArgumentError("hybrid encryption recipient key is the identity");
  }
  const EncryptionKeyPair ephemeral = EncryptionKeyPair::Generate();
  ASSIGN_OR_RETURN(std::string shared, EcdhSharedSecret(ephemeral.secret, recipient));
  ASSIGN_OR_RETURN(std::string key, DeriveKey(shared, ephemeral.public_key, recipient, context));
  ASSIGN_OR_RETURN(std::string sealed, AeadSeal(AeadAlgorithm::kChaCha20Poly1305, key,
                                                ZeroNonce(), plaintext, context));
  return absl::StrCat(absl::string_view(&kVersion, 1), ephemeral.public_key.Encode(), sealed);
}

absl::StatusOr<std::string> HybridDecrypt(const EncryptionKeyPair& recipient,
                                          absl::string_view ciphertext,
                                          absl::string_view context) {
  if (ciphertext.size() < 1 + kCompressedPointBytes + kAeadTagBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("hybrid ciphertext is ", ciphertext.size(), " bytes, too short"));
  }
  if (ciphertext[0] != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat(
        "hybrid ciphertext has unknown version ", static_cast<int>(ciphertext[0])));
  }
  auto ephemeral = EcPoint::Decode(ciphertext.substr(1, kCompressedPointBytes));
  if (!ephemeral.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("hybrid ciphertext ephemeral key: ", ephemeral.status().message()));
  }
  ASSIGN_OR_RETURN(std::string shared, EcdhSharedSecret(recipient.secret, *ephemeral));
  ASSIGN_OR_RETURN(std::string key, DeriveKey(shared, *ephemeral, recipient.public_key, context));
  return AeadOpen(AeadAlgorithm::kChaCha20Poly1305, key, ZeroNonce(),
                  ciphertext.substr(1 + kCompressedPointBytes), context);
}

}  // namespace halo::crypto
