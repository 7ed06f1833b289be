#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/random.h"
#include "halo/storage/blob_store.h"

namespace halo::storage {
namespace {

// Key layout:
//   "m" key            -> BlobMetadata (size, chunk count, generation)
//   "c" key \0 gen idx -> chunk bytes (generation and index big-endian)
constexpr size_t kChunkBytes = 1 << 20;
// Blobs up to this size are committed as one synced batch with their
// metadata. Larger ones (HMSS shares are 300 MB) skip the write-ahead log:
// their chunks go to the memtable and are flushed to a table file before
// the metadata commits. Logging them too would write every byte twice,
// through Debian's RocksDB's software CRC-32C.
constexpr size_t kBatchedBytes = 8 * kChunkBytes;
constexpr char kMetaPrefix = 'm';
constexpr char kChunkPrefix = 'c';

struct BlobMetadata {
  uint64_t size = 0;
  uint64_t chunks = 0;
  uint64_t generation = 0;
};

void PutBigEndian(std::string& out, uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetBigEndian(absl::string_view in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

std::string MetaKey(absl::string_view key) { return absl::StrCat(std::string(1, kMetaPrefix), key); }

std::string ChunkPrefix(absl::string_view key, uint64_t generation) {
  std::string out = absl::StrCat(std::string(1, kChunkPrefix), key, std::string(1, '\0'));
  PutBigEndian(out, generation);
  return out;
}

std::string ChunkKey(absl::string_view key, uint64_t generation, uint64_t index) {
  std::string out = ChunkPrefix(key, generation);
  PutBigEndian(out, index);
  return out;
}

std::string EncodeMetadata(const BlobMetadata& m) {
  std::string out;
  PutBigEndian(out, m.size);
  PutBigEndian(out, m.chunks);
  PutBigEndian(out, m.generation);
  return out;
}

absl::StatusOr<BlobMetadata> DecodeMetadata(absl::string_view key, absl::string_view bytes) {
  if (bytes.size() != 24) {
    return absl::DataLossError(absl::StrCat("blob \"", key, "\" has corrupt metadata"));
  }
  return BlobMetadata{GetBigEndian(bytes), GetBigEndian(bytes.substr(8)),
                      GetBigEndian(bytes.substr(16))};
}

absl::Status FromRocks(const rocksdb::Status& s, absl::string_view what) {
  if (s.ok()) return absl::OkStatus();
  const std::string message = absl::StrCat("RocksDB ", what, ": ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(message);
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return absl::UnavailableError(message);
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::FailedPreconditionError(message);
  }
  return absl::InternalError(message);
}

absl::Status CheckKey(absl::string_view key) {
  if (key.empty()) return absl::InvalidArgumentError("blob key is empty");
  if (key.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError("blob key contains a NUL byte");
  }
  return absl::OkStatus();
}

rocksdb::WriteOptions SyncedWrite() {
  rocksdb::WriteOptions options;
  options.sync = true;
  return options;
}

class RocksDbBlobStore;

class RocksDbBlobWriter : public BlobWriter {
 public:
  RocksDbBlobWriter(rocksdb::DB* db, std::string key)
      : db_(db), key_(std::move(key)), generation_(crypto::SecureRandomUint64()) {}

  ~RocksDbBlobWriter() override {
    if (committed_ || !unlogged_) return;
    // Chunks already flushed belong to no committed blob.
    const std::string begin = ChunkPrefix(key_, generation_);
    db_->DeleteRange(rocksdb::WriteOptions(), db_->DefaultColumnFamily(), begin,
                     ChunkPrefix(key_, generation_ + 1));
  }

  absl::Status Append(absl::string_view data) override {
    if (committed_) return absl::FailedPreconditionError("blob writer already committed");
    while (!data.empty()) {
      if (unlogged_ && pending_.empty() && data.size() >= kChunkBytes) {
        // A whole chunk goes straight from the caller's bytes.
        RETURN_IF_ERROR(PutUnlogged(chunks_, data.substr(0, kChunkBytes)));
        ++chunks_;
        size_ += kChunkBytes;
        data.remove_prefix(kChunkBytes);
        continue;
      }
      const size_t take = std::min(data.size(), kChunkBytes - pending_.size());
      pending_.append(data.data(), take);
      data.remove_prefix(take);
      size_ += take;
      if (pending_.size() == kChunkBytes) RETURN_IF_ERROR(EndChunk());
    }
    return absl::OkStatus();
  }

  absl::Status Commit() override {
    if (committed_) return absl::FailedPreconditionError("blob writer already committed");
    if (!pending_.empty()) RETURN_IF_ERROR(EndChunk());
    rocksdb::WriteBatch batch;
    if (unlogged_) {
      // The chunks reach a synced table file before anything refers to them.
      rocksdb::FlushOptions flush;
      flush.wait = true;
      RETURN_IF_ERROR(FromRocks(db_->Flush(flush), absl::StrCat("flushing blob \"", key_, "\"")));
    } else {
      for (size_t i = 0; i < held_.size(); ++i) batch.Put(ChunkKey(key_, generation_, i), held_[i]);
    }
    std::string previous;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), MetaKey(key_), &previous);
    if (s.ok()) {
      ASSIGN_OR_RETURN(BlobMetadata old, DecodeMetadata(key_, previous));
      batch.DeleteRange(ChunkPrefix(key_, old.generation), ChunkPrefix(key_, old.generation + 1));
    } else if (!s.IsNotFound()) {
      return FromRocks(s, absl::StrCat("reading metadata of \"", key_, "\""));
    }
    batch.Put(MetaKey(key_), EncodeMetadata({size_, chunks_, generation_}));
    RETURN_IF_ERROR(FromRocks(db_->Write(SyncedWrite(), &batch),
                              absl::StrCat("committing blob \"", key_, "\"")));
    committed_ = true;
    return absl::OkStatus();
  }

 private:
  // A full (or the last) chunk: held for the commit's batch while the blob
  // is small, written unlogged once it is not.
  absl::Status EndChunk() {
    held_.push_back(std::move(pending_));
    pending_.clear();
    ++chunks_;
    if (!unlogged_ && size_ <= kBatchedBytes) return absl::OkStatus();
    unlogged_ = true;
    for (size_t i = 0; i < held_.size(); ++i) RETURN_IF_ERROR(PutUnlogged(chunks_ - held_.size() + i, held_[i]));
    held_.clear();
    return absl::OkStatus();
  }

  absl::Status PutUnlogged(uint64_t index, absl::string_view chunk) {
    rocksdb::WriteOptions unlogged;
    unlogged.disableWAL = true;
    return FromRocks(db_->Put(unlogged, ChunkKey(key_, generation_, index), rocksdb::Slice(chunk.data(), chunk.size())),
                     absl::StrCat("writing blob \"", key_, "\""));
  }

  rocksdb::DB* db_;
  std::string key_;
  uint64_t generation_;
  std::string pending_;
  std::vector<std::string> held_;  // ended chunks not yet written
  bool unlogged_ = false;          // chunks written without the log
  uint64_t size_ = 0;
  uint64_t chunks_ = 0;
  bool committed_ = false;
};

class RocksDbBlobReader : public BlobReader {
 public:
  RocksDbBlobReader(rocksdb::DB* db, const rocksdb::Snapshot* snapshot, std::string key,
                    BlobMetadata metadata)
      : db_(db), snapshot_(snapshot), key_(std::move(key)), metadata_(metadata) {}
  ~RocksDbBlobReader() override { db_->ReleaseSnapshot(snapshot_); }

  uint64_t size() const override { return metadata_.size; }

  absl::StatusOr<std::optional<std::string>> Next() override {
    if (next_chunk_ == metadata_.chunks) return std::nullopt;
    rocksdb::ReadOptions options;
    options.snapshot = snapshot_;
    std::string chunk;
    rocksdb::Status s =
        db_->Get(options, ChunkKey(key_, metadata_.generation, next_chunk_), &chunk);
    if (s.IsNotFound()) {
      return absl::DataLossError(
          absl::StrCat("blob \"", key_, "\" is missing chunk ", next_chunk_));
    }
    RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading blob \"", key_, "\"")));
    ++next_chunk_;
    return chunk;
  }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snapshot_;
  std::string key_;
  BlobMetadata metadata_;
  uint64_t next_chunk_ = 0;
};

class RocksDbBlobStore : public BlobStore {
 public:
  explicit RocksDbBlobStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}

  absl::StatusOr<std::unique_ptr<BlobWriter>> OpenWriter(absl::string_view key) override {
    RETURN_IF_ERROR(CheckKey(key));
    return std::make_unique<RocksDbBlobWriter>(db_.get(), std::string(key));
  }

  absl::StatusOr<std::unique_ptr<BlobReader>> OpenReader(absl::string_view key) override {
    RETURN_IF_ERROR(CheckKey(key));
    const rocksdb::Snapshot* snapshot = db_->GetSnapshot();
    rocksdb::ReadOptions options;
    options.snapshot = snapshot;
    std::string meta;
    rocksdb::Status s = db_->Get(options, MetaKey(key), &meta);
    if (!s.ok()) {
      db_->ReleaseSnapshot(snapshot);
      if (s.IsNotFound()) return absl::NotFoundError(absl::StrCat("no blob \"", key, "\""));
      return FromRocks(s, absl::StrCat("reading metadata of \"", key, "\""));
    }
    auto metadata = DecodeMetadata(key, meta);
    if (!metadata.ok()) {
      db_->ReleaseSnapshot(snapshot);
      return metadata.status();
    }
    return std::make_unique<RocksDbBlobReader>(db_.get(), snapshot, std::string(key), *metadata);
  }

  absl::Status Delete(absl::string_view key) override {
    RETURN_IF_ERROR(CheckKey(key));
    std::string meta;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), MetaKey(key), &meta);
    if (s.IsNotFound()) return absl::OkStatus();
    RETURN_IF_ERROR(FromRocks(s, absl::StrCat("reading metadata of \"", key, "\"")));
    ASSIGN_OR_RETURN(BlobMetadata metadata, DecodeMetadata(key, meta));
    rocksdb::WriteBatch batch;
    batch.Delete(MetaKey(key));
    batch.DeleteRange(ChunkPrefix(key, metadata.generation),
                      ChunkPrefix(key, metadata.generation + 1));
    return FromRocks(db_->Write(SyncedWrite(), &batch), absl::StrCat("deleting \"", key, "\""));
  }

  absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) override {
    std::vector<std::string> keys;
    const std::string start = MetaKey(prefix);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(start); it->Valid() && it->key().starts_with(start); it->Next()) {
      keys.push_back(it->key().ToString().substr(1));
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "listing blobs"));
    return keys;
  }

  // Removes chunks that no committed blob references: what a writer left when
  // its process died before Commit.
  absl::Status CollectOrphanChunks() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    const std::string chunk_prefix(1, kChunkPrefix);
    rocksdb::WriteBatch batch;
    for (it->Seek(chunk_prefix); it->Valid() && it->key().starts_with(chunk_prefix); it->Next()) {
      const std::string chunk_key = it->key().ToString();
      const size_t nul = chunk_key.find('\0');
      if (nul == std::string::npos || chunk_key.size() != nul + 17) continue;
      const std::string key = chunk_key.substr(1, nul - 1);
      const uint64_t generation = GetBigEndian(absl::string_view(chunk_key).substr(nul + 1));
      std::string meta;
      rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), MetaKey(key), &meta);
      bool referenced = false;
      if (s.ok()) {
        auto metadata = DecodeMetadata(key, meta);
        referenced = metadata.ok() && metadata->generation == generation;
      }
      if (!referenced) batch.Delete(chunk_key);
    }
    RETURN_IF_ERROR(FromRocks(it->status(), "scanning for orphan chunks"));
    if (batch.Count() == 0) return absl::OkStatus();
    return FromRocks(db_->Write(SyncedWrite(), &batch), "removing orphan chunks");
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
};

}  // namespace

absl::Status BlobStore::Put(absl::string_view key, absl::string_view data) {
  ASSIGN_OR_RETURN(std::unique_ptr<BlobWriter> writer, OpenWriter(key));
  RETURN_IF_ERROR(writer->Append(data));
  return writer->Commit();
}

absl::StatusOr<std::string> ReadAll(BlobReader& reader, absl::string_view key) {
  std::string out;
  out.reserve(reader.size());
  while (true) {
    ASSIGN_OR_RETURN(std::optional<std::string> chunk, reader.Next());
    if (!chunk) break;
    out += *chunk;
  }
  if (out.size() != reader.size()) {
    return absl::DataLossError(absl::StrCat("blob \"", key, "\" is ", out.size(),
                                            " bytes but its metadata says ", reader.size()));
  }
  return out;
}

absl::StatusOr<std::string> BlobStore::Get(absl::string_view key) {
  ASSIGN_OR_RETURN(std::unique_ptr<BlobReader> reader, OpenReader(key));
  return ReadAll(*reader, key);
}

absl::StatusOr<std::unique_ptr<BlobStore>> OpenRocksDbBlobStore(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.compression = rocksdb::kNoCompression;  // blobs are ciphertexts
  rocksdb::DB* raw = nullptr;
  RETURN_IF_ERROR(FromRocks(rocksdb::DB::Open(options, path, &raw),
                            absl::StrCat("opening blob store ", path)));
  auto store = std::make_unique<RocksDbBlobStore>(std::unique_ptr<rocksdb::DB>(raw));
  RETURN_IF_ERROR(store->CollectOrphanChunks());
  return store;
}

}  // namespace halo::storage
