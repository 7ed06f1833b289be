#include "halo/exchange/exchange_storage.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "halo/api/v1/resources.pb.h"
#include "halo/common/confined_directory.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/sha256.h"
#include "halo/storage/blob_store.h"

namespace halo::exchange {
namespace {

// A signature names a certificate and holds one ECDSA signature: far less.
constexpr uint64_t kMaximumSignatureBytes = 64 * 1024;

// What a signature covers: the blob's name and its digest, so that a blob
// cannot be passed off under another name.
std::string SignedText(const std::string& name, absl::string_view bytes) {
  return absl::StrCat("halo shared blob v1\n", name, "\n", crypto::Sha256(bytes));
}

}  // namespace

absl::Status ExchangeStorage::Named(const std::string& name, const absl::Status& status) const {
  if (status.ok()) return status;
  if (absl::IsNotFound(status)) return absl::NotFoundError(absl::StrCat("blob ", name, " is not in storage"));
  return absl::Status(status.code(), absl::StrCat("blob ", name, " in ", description_, ": ", status.message()));
}

absl::Status ExchangeStorage::Write(const std::string& name, absl::string_view bytes) {
  if (absl::Status path = CheckConfinedPath(name, "blob name"); !path.ok()) return path;
  absl::StatusOr<std::unique_ptr<storage::BlobWriter>> writer = store_->OpenWriter(name);
  if (!writer.ok()) return Named(name, writer.status());
  if (absl::Status appended = (*writer)->Append(bytes); !appended.ok()) return Named(name, appended);
  return Named(name, (*writer)->Commit());
}

absl::StatusOr<std::string> ExchangeStorage::Read(const std::string& name, uint64_t maximum_bytes) {
  if (absl::Status path = CheckConfinedPath(name, "blob name"); !path.ok()) return path;
  absl::StatusOr<std::unique_ptr<storage::BlobReader>> reader = store_->OpenReader(name);
  if (!reader.ok()) return Named(name, reader.status());
  if ((*reader)->size() > maximum_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("blob ", name, " holds ", (*reader)->size(),
                                                     " bytes, more than the ", maximum_bytes, " allowed"));
  }
  absl::StatusOr<std::string> bytes = storage::ReadAll(**reader, name);
  if (!bytes.ok()) return Named(name, bytes.status());
  return bytes;
}

absl::StatusOr<std::unique_ptr<ExchangeStorage>> FileSystemStorage(const std::string& root) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobStore> store, storage::OpenFileSystemBlobStore(root));
  return std::make_unique<ExchangeStorage>(std::move(store), root);
}

absl::StatusOr<std::unique_ptr<ExchangeStorage>> RocksDbStorage(const std::string& path) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::BlobStore> store, storage::OpenRocksDbBlobStore(path));
  return std::make_unique<ExchangeStorage>(std::move(store), path);
}

SignedStorage::SignedStorage(ExchangeStorage& storage, crypto::SigningKey key, std::string certificate,
                             CertificateLookup lookup)
    : storage_(storage), key_(std::move(key)), certificate_(std::move(certificate)), lookup_(std::move(lookup)) {}

absl::Status SignedStorage::Write(const std::string& name, absl::string_view bytes) {
  return Write(name, bytes, key_, certificate_);
}

absl::Status SignedStorage::Write(const std::string& name, absl::string_view bytes, const crypto::SigningKey& key,
                                  const std::string& certificate) {
  api::v1::SignedMessage signature;
  signature.set_certificate(certificate);
  signature.set_signature(key.Sign(SignedText(name, bytes)));
  // The blob first: a signature never names a blob that is not there.
  RETURN_IF_ERROR(storage_.Write(name, bytes));
  return storage_.Write(name + ".signature", signature.SerializeAsString());
}

absl::StatusOr<std::string> SignedStorage::Read(const std::string& name, const std::string& signer,
                                                uint64_t maximum_bytes) {
  ASSIGN_OR_RETURN(std::string bytes, storage_.Read(name, maximum_bytes));
  absl::StatusOr<std::string> signature_bytes = storage_.Read(name + ".signature", kMaximumSignatureBytes);
  if (absl::IsNotFound(signature_bytes.status())) {
    return absl::PermissionDeniedError(absl::StrCat("shared blob ", name, " has no signature"));
  }
  if (absl::IsResourceExhausted(signature_bytes.status())) {
    return absl::PermissionDeniedError(absl::StrCat("shared blob ", name, ": ", signature_bytes.status().message()));
  }
  RETURN_IF_ERROR(signature_bytes.status());
  api::v1::SignedMessage signature;
  if (!signature.ParseFromString(*signature_bytes)) {
    return absl::PermissionDeniedError(absl::StrCat("shared blob ", name, ": its signature does not parse"));
  }
  if (!absl::StartsWith(signature.certificate(), signer + "/certificates/")) {
    return absl::PermissionDeniedError(absl::StrCat("shared blob ", name, " is signed by ", signature.certificate(),
                                                    ", not by ", signer, ", which the workflow says writes it"));
  }
  absl::StatusOr<crypto::Certificate> certificate = lookup_(signature.certificate());
  if (absl::IsPermissionDenied(certificate.status()) || absl::IsNotFound(certificate.status())) {
    return absl::PermissionDeniedError(absl::StrCat("shared blob ", name, ": ", certificate.status().message()));
  }
  RETURN_IF_ERROR(certificate.status());
  if (!certificate->AllowsUse(crypto::CertificateUse::kContentSigning)) {
    return absl::PermissionDeniedError(absl::StrCat("shared blob ", name, " is signed by ", signature.certificate(),
                                                    ", which is not a content-signing certificate"));
  }
  if (!certificate->public_key().Verify(SignedText(name, bytes), signature.signature()).ok()) {
    return absl::PermissionDeniedError(
        absl::StrCat("shared blob ", name, " does not match its signature by ", signature.certificate(),
                     ": it was changed after it was written"));
  }
  return bytes;
}

}  // namespace halo::exchange
