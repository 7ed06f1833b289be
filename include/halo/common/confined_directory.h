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
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo {

// INVALID_ARGUMENT naming `what` and the path unless `path` is a relative
// path of plain components, at most 1,024 bytes.
absl::Status CheckConfinedPath(absl::string_view path, absl::string_view what);

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

 private:
  ConfinedDirectory(std::string root, int fd) : root_(std::move(root)), fd_(fd) {}
  std::string root_;
  int fd_;
};

}  // namespace halo

#endif  // HALO_COMMON_CONFINED_DIRECTORY_H_
