#include "halo/api/envelopes.h"

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/schnorr.h"
#include "halo/crypto/sha256.h"

namespace halo::api {

namespace {
// The domain-separation tag: the type name cannot hold a NUL.
std::string SignedBytes(absl::string_view type_name, absl::string_view data) {
  return absl::StrCat("halo signed message v1\n", type_name, std::string(1, '\0'), data);
}
}  // namespace

v1::SignedMessage Sign(const google::protobuf::MessageLite& message, const crypto::SigningKey& key,
                       const std::string& certificate) {
  return SignSerialized(message.SerializeAsString(), message.GetTypeName(), key, certificate);
}

v1::SignedMessage SignSerialized(std::string data, absl::string_view type_name, const crypto::SigningKey& key,
                                 const std::string& certificate) {
  v1::SignedMessage out;
  out.set_signature(key.Sign(SignedBytes(type_name, data)));
  out.set_data(std::move(data));
  out.set_certificate(certificate);
  return out;
}

absl::Status VerifySignature(const v1::SignedMessage& signed_message, const crypto::Certificate& certificate,
                             absl::string_view type_name) {
  if (!certificate.AllowsUse(crypto::CertificateUse::kContentSigning)) {
    return absl::InvalidArgumentError(absl::StrCat("certificate ", signed_message.certificate(),
                                                   " is not a content-signing certificate: a TLS key signs nothing"));
  }
  return certificate.public_key().Verify(SignedBytes(type_name, signed_message.data()), signed_message.signature());
}

absl::Status VerifyAndParse(const v1::SignedMessage& signed_message, const crypto::Certificate& certificate,
                            absl::string_view what, google::protobuf::MessageLite& out) {
  if (absl::Status verified = VerifySignature(signed_message, certificate, out.GetTypeName()); !verified.ok()) {
    // A certificate of the wrong use says so; a bad signature, which.
    return absl::InvalidArgumentError(
        certificate.AllowsUse(crypto::CertificateUse::kContentSigning)
            ? absl::StrCat("the signature of ", what, " does not verify with certificate ", signed_message.certificate())
            : absl::StrCat("the signature of ", what, ": ", verified.message()));
  }
  if (!out.ParseFromString(signed_message.data())) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not a valid ", out.GetTypeName()));
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::EcPoint> ParseEncryptionPublicKey(absl::string_view serialized) {
  v1::EncryptionPublicKey key;
  if (!key.ParseFromString(std::string(serialized))) {
    return absl::InvalidArgumentError("the encryption public key is not a valid EncryptionPublicKey");
  }
  absl::StatusOr<crypto::EcPoint> point = crypto::EcPoint::Decode(key.point());
  if (!point.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the encryption public key: ", point.status().message()));
  }
  return point;
}

v1::EncryptionPublicKey ToEncryptionPublicKey(const crypto::EcPoint& point) {
  v1::EncryptionPublicKey key;
  key.set_point(point.Encode());
  return key;
}

namespace {
std::string KeyPossessionContext(absl::string_view computation, absl::string_view duchy_id) {
  return absl::StrCat("LLv2 ElGamal key of duchies/", duchy_id, " in ", computation);
}
}  // namespace

v1::EncryptionPublicKey ProvenElGamalKey(const crypto::Scalar& secret, const crypto::EcPoint& public_key,
                                         absl::string_view computation, absl::string_view duchy_id) {
  v1::EncryptionPublicKey key = ToEncryptionPublicKey(public_key);
  key.set_proof_of_possession(
      crypto::ProveKeyPossession(secret, public_key, KeyPossessionContext(computation, duchy_id)));
  return key;
}

absl::StatusOr<crypto::EcPoint> ParseProvenElGamalKey(absl::string_view serialized, absl::string_view computation,
                                                      absl::string_view duchy_id) {
  v1::EncryptionPublicKey key;
  if (!key.ParseFromString(std::string(serialized))) {
    return absl::InvalidArgumentError(absl::StrCat("the key of duchy ", duchy_id, " is not an EncryptionPublicKey"));
  }
  absl::StatusOr<crypto::EcPoint> point = crypto::EcPoint::Decode(key.point());
  if (!point.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the key of duchy ", duchy_id, ": ", point.status().message()));
  }
  if (absl::Status proven = crypto::VerifyKeyPossession(*point, key.proof_of_possession(),
                                                        KeyPossessionContext(computation, duchy_id));
      !proven.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("the key of duchy ", duchy_id, " in ", computation, ": ",
                                                   proven.message()));
  }
  return point;
}

absl::StatusOr<std::string> EncryptResult(const v1::SignedMessage& signed_result,
                                          absl::string_view measurement_public_key, absl::string_view measurement) {
  ASSIGN_OR_RETURN(crypto::EcPoint recipient, ParseEncryptionPublicKey(measurement_public_key));
  return crypto::HybridEncrypt(recipient, signed_result.SerializeAsString(), absl::StrCat("result of ", measurement));
}

absl::StatusOr<v1::SignedMessage> DecryptResult(const crypto::EncryptionKeyPair& measurement_key,
                                                absl::string_view encrypted_result, absl::string_view measurement) {
  ASSIGN_OR_RETURN(std::string plaintext,
                   crypto::HybridDecrypt(measurement_key, encrypted_result, absl::StrCat("result of ", measurement)));
  v1::SignedMessage out;
  if (!out.ParseFromString(plaintext)) return absl::InvalidArgumentError("a decrypted result is not a SignedMessage");
  return out;
}

absl::StatusOr<std::string> EncryptRequisitionSpec(const v1::SignedMessage& signed_spec,
                                                   const crypto::EcPoint& data_provider_key) {
  return crypto::HybridEncrypt(data_provider_key, signed_spec.SerializeAsString(), "requisition spec");
}

absl::StatusOr<v1::SignedMessage> DecryptRequisitionSpec(const crypto::EncryptionKeyPair& data_provider_key,
                                                         absl::string_view encrypted_spec) {
  ASSIGN_OR_RETURN(std::string plaintext, crypto::HybridDecrypt(data_provider_key, encrypted_spec, "requisition spec"));
  v1::SignedMessage out;
  if (!out.ParseFromString(plaintext)) {
    return absl::InvalidArgumentError("a decrypted requisition spec is not a SignedMessage");
  }
  return out;
}

namespace {
absl::string_view LastId(absl::string_view name) { return name.substr(name.rfind('/') + 1); }
}  // namespace

std::string ComputationOf(absl::string_view measurement) { return absl::StrCat("computations/", LastId(measurement)); }

std::string RequisitionFingerprint(absl::string_view measurement_spec, absl::string_view encrypted_requisition_spec) {
  return crypto::Sha256(absl::StrCat(measurement_spec, crypto::Sha256(encrypted_requisition_spec)));
}

std::string ComputationRequisitionOf(absl::string_view measurement, absl::string_view requisition) {
  return absl::StrCat(ComputationOf(measurement), "/requisitions/", LastId(requisition));
}

}  // namespace halo::api
