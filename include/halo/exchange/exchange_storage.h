// Where an exchange daemon keeps blobs: its private storage and the storage
// both parties share, each an adapter over the project's blob store. Blobs are named
// "{recurring exchange id}/{date}/{label}", so the file-system kind keeps a
// directory per exchange date. A write is atomic and durable: a reader sees
// the whole blob or none of it. The file-system kind reaches blobs only
// beneath its root and never follows a link (halo/common/confined_directory.h):
// the other party writes into shared storage too.
//
// Shared storage signs: SignedStorage writes each blob with a signature by
// the writing party's certificate beside it, and a read checks the
// signature against the certificate it names, which must belong to the
// party the workflow says writes that blob; a blob that fails is refused
// (PERMISSION_DENIED naming it), never returned.
#ifndef HALO_EXCHANGE_EXCHANGE_STORAGE_H_
#define HALO_EXCHANGE_EXCHANGE_STORAGE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "halo/crypto/certificate.h"
#include "halo/crypto/signing.h"
#include "halo/storage/blob_store.h"

namespace halo::exchange {

// A party's storage over the project's blob store (halo/storage/blob_store.h):
// names are confined paths, and a read is bounded before anything is read.
class ExchangeStorage {
 public:
  // `description` names it in errors (its directory or database).
  ExchangeStorage(std::unique_ptr<storage::BlobStore> store, std::string description)
      : store_(std::move(store)), description_(std::move(description)) {}
  absl::Status Write(const std::string& name, absl::string_view bytes);
  // NOT_FOUND naming the blob if it is not there; RESOURCE_EXHAUSTED if it
  // holds more than `maximum_bytes`, before anything is read.
  absl::StatusOr<std::string> Read(const std::string& name, uint64_t maximum_bytes);

 private:
  absl::Status Named(const std::string& name, const absl::Status& status) const;
  std::unique_ptr<storage::BlobStore> store_;
  std::string description_;
};

// Files under `root` (storage::OpenFileSystemBlobStore), or a RocksDB
// database at `path`.
absl::StatusOr<std::unique_ptr<ExchangeStorage>> FileSystemStorage(const std::string& root);
absl::StatusOr<std::unique_ptr<ExchangeStorage>> RocksDbStorage(const std::string& path);

// Looks up a certificate by resource name, checked (client::CertificateResolver).
using CertificateLookup = std::function<absl::StatusOr<crypto::Certificate>(const std::string& name)>;

class SignedStorage {
 public:
  // Signs as `certificate` (its resource name) with `key`.
  SignedStorage(ExchangeStorage& storage, crypto::SigningKey key, std::string certificate, CertificateLookup lookup);
  absl::Status Write(const std::string& name, absl::string_view bytes);
  // Signs as `certificate` with `key` instead, e.g. a certificate minted for
  // the exchange.
  absl::Status Write(const std::string& name, absl::string_view bytes, const crypto::SigningKey& key,
                     const std::string& certificate);
  // Checks the signature, and that its certificate belongs to `signer` (an
  // entity name).
  absl::StatusOr<std::string> Read(const std::string& name, const std::string& signer, uint64_t maximum_bytes);

 private:
  ExchangeStorage& storage_;
  crypto::SigningKey key_;
  std::string certificate_;
  CertificateLookup lookup_;
};

}  // namespace halo::exchange

#endif  // HALO_EXCHANGE_EXCHANGE_STORAGE_H_
