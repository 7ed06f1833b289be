// How signed and encrypted messages travel between parties: a SignedMessage
// holds a serialized message and its signature by a named certificate, and
// an encrypted one is hybrid-encrypted with a context that binds it to its
// purpose, so that a ciphertext cannot be replayed into another.
#ifndef HALO_API_ENVELOPES_H_
#define HALO_API_ENVELOPES_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "halo/api/v1/resources.pb.h"
#include "halo/crypto/certificate.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/crypto/signing.h"

namespace halo::api {

// `message` signed with `key`, naming `certificate` (its resource name). The
// signature covers the message's type name as well as its bytes, so a
// signature on one kind of message never verifies as another's.
v1::SignedMessage Sign(const google::protobuf::MessageLite& message, const crypto::SigningKey& key,
                       const std::string& certificate);
// The same for a message already serialized, of type `type_name`
// ("halo.api.v1.MeasurementSpec").
v1::SignedMessage SignSerialized(std::string data, absl::string_view type_name, const crypto::SigningKey& key,
                                 const std::string& certificate);
// OK when `signed_message` holds a `type_name` message signed by `certificate`,
// which must be a content-signing certificate: a signature by a TLS key is
// refused, whatever it signs.
absl::Status VerifySignature(const v1::SignedMessage& signed_message, const crypto::Certificate& certificate,
                             absl::string_view type_name);
// Checks the signature against `certificate` and parses the message into
// `out`; INVALID_ARGUMENT naming `what` if either fails.
absl::Status VerifyAndParse(const v1::SignedMessage& signed_message, const crypto::Certificate& certificate,
                            absl::string_view what, google::protobuf::MessageLite& out);

// The point of a serialized EncryptionPublicKey, checked to be on the curve.
absl::StatusOr<crypto::EcPoint> ParseEncryptionPublicKey(absl::string_view serialized);
v1::EncryptionPublicKey ToEncryptionPublicKey(const crypto::EcPoint& point);

// An LLv2 duchy's ElGamal public key for `computation`, with the proof that
// `duchy_id` knows its secret, bound to both.
v1::EncryptionPublicKey ProvenElGamalKey(const crypto::Scalar& secret, const crypto::EcPoint& public_key,
                                         absl::string_view computation, absl::string_view duchy_id);
// The point of a serialized ProvenElGamalKey, its proof checked against the
// same computation and duchy; INVALID_ARGUMENT naming the duchy otherwise.
absl::StatusOr<crypto::EcPoint> ParseProvenElGamalKey(absl::string_view serialized, absl::string_view computation,
                                                      absl::string_view duchy_id);

// A result for the MC: hybrid-encrypted to the measurement public key (the
// MeasurementSpec's serialized EncryptionPublicKey), bound to `measurement`.
absl::StatusOr<std::string> EncryptResult(const v1::SignedMessage& signed_result,
                                          absl::string_view measurement_public_key, absl::string_view measurement);
absl::StatusOr<v1::SignedMessage> DecryptResult(const crypto::EncryptionKeyPair& measurement_key,
                                                absl::string_view encrypted_result, absl::string_view measurement);

// A RequisitionSpec for an EDP: the MC's SignedMessage, hybrid-encrypted to
// the EDP's key (its DataProvider's public_key). The MC does not know the
// requisition's name when it encrypts, so the context binds only the
// purpose; the spec itself names the measurement key and the nonce.
absl::StatusOr<std::string> EncryptRequisitionSpec(const v1::SignedMessage& signed_spec,
                                                   const crypto::EcPoint& data_provider_key);
absl::StatusOr<v1::SignedMessage> DecryptRequisitionSpec(const crypto::EncryptionKeyPair& data_provider_key,
                                                         absl::string_view encrypted_spec);

// The Kingdom's computation of an MPC measurement, and the name its
// requisitions have there ("computations/{m}/requisitions/{r}", from
// "measurementConsumers/{mc}/measurements/{m}" and ".../requisitions/{r}").
std::string ComputationOf(absl::string_view measurement);
// What ties a requisition's upload to what the MC asked:
// SHA-256(serialized MeasurementSpec || SHA-256(encrypted RequisitionSpec)).
std::string RequisitionFingerprint(absl::string_view measurement_spec, absl::string_view encrypted_requisition_spec);
std::string ComputationRequisitionOf(absl::string_view measurement, absl::string_view requisition);

}  // namespace halo::api

#endif  // HALO_API_ENVELOPES_H_
