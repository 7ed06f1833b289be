// A BlobStore of files beneath one directory: a blob's key is its path,
// every path is confined to the directory (no link followed), a writer
// commits by renaming a synced temporary file over the name, and a reader
// holds the file it opened, so a blob replaced or deleted meanwhile is read
// as it was.
#include "absl/strings/str_cat.h"
#include "halo/common/confined_directory.h"
#include "halo/common/status_macros.h"
#include "halo/storage/blob_store.h"

namespace halo::storage {
namespace {

class FileReader final : public BlobReader {
 public:
  explicit FileReader(std::unique_ptr<ConfinedFileReader> file) : file_(std::move(file)) {}
  uint64_t size() const override { return file_->size(); }
  absl::StatusOr<std::optional<std::string>> Next() override { return file_->Next(); }

 private:
  std::unique_ptr<ConfinedFileReader> file_;
};

class FileWriter final : public BlobWriter {
 public:
  explicit FileWriter(std::unique_ptr<ConfinedFileWriter> file) : file_(std::move(file)) {}
  absl::Status Append(absl::string_view data) override { return file_->Append(data); }
  absl::Status Commit() override { return file_->Commit(); }

 private:
  std::unique_ptr<ConfinedFileWriter> file_;
};

class FileSystemBlobStore final : public BlobStore {
 public:
  explicit FileSystemBlobStore(std::unique_ptr<ConfinedDirectory> root) : root_(std::move(root)) {}

  absl::StatusOr<std::unique_ptr<BlobWriter>> OpenWriter(absl::string_view key) override {
    ASSIGN_OR_RETURN(std::unique_ptr<ConfinedFileWriter> file, root_->OpenWriter(key));
    return std::unique_ptr<BlobWriter>(std::make_unique<FileWriter>(std::move(file)));
  }

  absl::StatusOr<std::unique_ptr<BlobReader>> OpenReader(absl::string_view key) override {
    absl::StatusOr<std::unique_ptr<ConfinedFileReader>> file = root_->OpenReader(key, UINT64_MAX);
    if (absl::IsNotFound(file.status())) return absl::NotFoundError(absl::StrCat("blob ", key, " not found"));
    if (!file.ok()) return file.status();
    return std::unique_ptr<BlobReader>(std::make_unique<FileReader>(*std::move(file)));
  }

  absl::Status Delete(absl::string_view key) override { return root_->Delete(key); }

  absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) override { return root_->List(prefix); }

 private:
  std::unique_ptr<ConfinedDirectory> root_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BlobStore>> OpenFileSystemBlobStore(const std::string& root) {
  ASSIGN_OR_RETURN(std::unique_ptr<ConfinedDirectory> directory, ConfinedDirectory::Open(root));
  return std::unique_ptr<BlobStore>(std::make_unique<FileSystemBlobStore>(std::move(directory)));
}

}  // namespace halo::storage
