// Named blobs (sketches, stage outputs, exchange data) of any size, written
// and read as streams so that a blob never has to fit in memory twice: the
// one blob-store interface of the project, over RocksDB or files.
//
// A blob becomes visible only when its writer commits, all at once; readers
// see the version that was committed when they opened it, even if it is
// replaced or deleted while they read. Keys are non-empty and contain no NUL.
// Implementations are thread-safe.
#ifndef HALO_STORAGE_BLOB_STORE_H_
#define HALO_STORAGE_BLOB_STORE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo::storage {

class BlobReader {
 public:
  virtual ~BlobReader() = default;
  virtual uint64_t size() const = 0;
  // The next piece of the blob, or nullopt at the end.
  virtual absl::StatusOr<std::optional<std::string>> Next() = 0;
};

class BlobWriter {
 public:
  virtual ~BlobWriter() = default;  // an uncommitted blob is discarded
  virtual absl::Status Append(absl::string_view data) = 0;
  // Makes the blob visible, replacing any blob of the same key, durably.
  virtual absl::Status Commit() = 0;
};

// The rest of `reader`'s blob, whole; DATA_LOSS naming `key` if it holds
// other than the size it was opened with.
absl::StatusOr<std::string> ReadAll(BlobReader& reader, absl::string_view key);

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  virtual absl::StatusOr<std::unique_ptr<BlobWriter>> OpenWriter(absl::string_view key) = 0;
  // NOT_FOUND naming the key when there is no such blob.
  virtual absl::StatusOr<std::unique_ptr<BlobReader>> OpenReader(absl::string_view key) = 0;
  // Deleting a missing blob is not an error, so deletion can be retried.
  virtual absl::Status Delete(absl::string_view key) = 0;
  // Keys starting with `prefix`, in byte order.
  virtual absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) = 0;

  // Whole-blob conveniences over the streams.
  absl::Status Put(absl::string_view key, absl::string_view data);
  absl::StatusOr<std::string> Get(absl::string_view key);
};

// A BlobStore in a RocksDB database at `path` (created if missing). Blobs are
// stored as chunks under a per-write generation; committing writes the
// metadata and drops the previous generation in one atomic, synced batch.
absl::StatusOr<std::unique_ptr<BlobStore>> OpenRocksDbBlobStore(const std::string& path);

// A BlobStore of files beneath `root` (created if missing): a key is a
// relative path of plain components (halo/common/confined_directory.h),
// no link on the way is followed, and a blob is committed by renaming a
// synced file over its name. For blobs other organisations' processes or an
// operator's tools reach as files (a shared exchange directory), or disks
// where RocksDB is not wanted.
absl::StatusOr<std::unique_ptr<BlobStore>> OpenFileSystemBlobStore(const std::string& root);

}  // namespace halo::storage

#endif  // HALO_STORAGE_BLOB_STORE_H_
