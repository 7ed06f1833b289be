// Files that another party names, reached only beneath one directory. A name
// is a relative path of plain components (no "", ".", ".." or absolute
// part); every component is opened from its parent's descriptor with
// O_NOFOLLOW, so a symbolic link planted anywhere on the way (by a partner
// that shares the directory, or by a workflow) is refused, never followed.
// Writes create a fresh temporary file exclusively beside the target, sync
// it, rename it over the target (which replaces a planted link rather than
// writing through it) and sync the directory, so a reader sees the old
// bytes or the new ones and a crash loses neither.
#ifndef HALO_COMMON_CONFINED_DIRECTORY_H_
#define HALO_COMMON_CONFINED_DIRECTORY_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo {

// INVALID_ARGUMENT naming `what` and the path unless `path` is a relative
// path of plain components, at most 1,024 bytes.
absl::Status CheckConfinedPath(absl::string_view path, absl::string_view what);

// A file opened for reading beneath a ConfinedDirectory, read in pieces.
class ConfinedFileReader {
 public:
  ~ConfinedFileReader();
  ConfinedFileReader(const ConfinedFileReader&) = delete;
  ConfinedFileReader& operator=(const ConfinedFileReader&) = delete;
  // Its size when it was opened.
  uint64_t size() const { return size_; }
  // The next piece (at most 1 MiB), or nullopt at the end. A file that
  // shrinks while it is read ends early; one that grows is read to the size
  // it had.
  absl::StatusOr<std::optional<std::string>> Next();

 private:
  friend class ConfinedDirectory;
  ConfinedFileReader(std::string name, int fd, uint64_t size) : name_(std::move(name)), fd_(fd), size_(size) {}
  std::string name_;
  int fd_;
  uint64_t size_;
  uint64_t read_ = 0;
};

// A file being written beneath a ConfinedDirectory: a fresh temporary file
// until Commit moves it over its name; dropped uncommitted, it is removed.
class ConfinedFileWriter {
 public:
  ~ConfinedFileWriter();
  ConfinedFileWriter(const ConfinedFileWriter&) = delete;
  ConfinedFileWriter& operator=(const ConfinedFileWriter&) = delete;
  absl::Status Append(absl::string_view bytes);
  // Syncs the file, renames it over its name and syncs the directory.
  absl::Status Commit();

 private:
  friend class ConfinedDirectory;
  ConfinedFileWriter(std::string name, std::string description, int dir, int fd, std::string temp,
                     std::string target)
      : name_(std::move(name)), description_(std::move(description)), dir_(dir), fd_(fd), temp_(std::move(temp)),
        target_(std::move(target)) {}
  std::string name_;
  std::string description_;  // the name and the root, for errors
  int dir_;
  int fd_;
  std::string temp_;
  std::string target_;
  bool done_ = false;
};

class ConfinedDirectory {
 public:
  // Opens `root` (created with its parents if missing; the root itself may
  // be reached through links the operator made).
  static absl::StatusOr<std::unique_ptr<ConfinedDirectory>> Open(const std::string& root);
  ~ConfinedDirectory();
  ConfinedDirectory(const ConfinedDirectory&) = delete;
  ConfinedDirectory& operator=(const ConfinedDirectory&) = delete;

  const std::string& root() const { return root_; }

  // NOT_FOUND naming the file if it is not there; INVALID_ARGUMENT for a
  // bad name, a link on the way, or a file that is not a regular file;
  // RESOURCE_EXHAUSTED when it holds more than `maximum_bytes`, checked
  // before anything is read.
  absl::StatusOr<std::string> Read(absl::string_view name, uint64_t maximum_bytes) const;
  // Creates missing directories on the way (mode 0700).
  absl::Status Write(absl::string_view name, absl::string_view bytes, mode_t mode = 0600) const;

  // The same, piece by piece; the errors are Read's and Write's.
  absl::StatusOr<std::unique_ptr<ConfinedFileReader>> OpenReader(absl::string_view name,
                                                                  uint64_t maximum_bytes) const;
  absl::StatusOr<std::unique_ptr<ConfinedFileWriter>> OpenWriter(absl::string_view name, mode_t mode = 0600) const;
  // Removing a file that is not there is not an error.
  absl::Status Delete(absl::string_view name) const;
  // The regular files beneath the root whose names start with `prefix`, in
  // byte order, without following links or listing files being written.
  absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) const;

 private:
  ConfinedDirectory(std::string root, int fd) : root_(std::move(root)), fd_(fd) {}
  std::string root_;
  int fd_;
};

}  // namespace halo

#endif  // HALO_COMMON_CONFINED_DIRECTORY_H_
