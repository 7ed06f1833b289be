// Whole small files: read at once, and written so that a reader sees the old
// contents or the new ones, never half of them.
#ifndef HALO_COMMON_FILES_H_
#define HALO_COMMON_FILES_H_

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace halo {

// NOT_FOUND naming the path if it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path);
// Reads a file that holds a secret (a private key), refusing one its group
// or others may read with PERMISSION_DENIED naming `what`, the path and the
// mode: a key another account could have copied is not secret any more.
absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view what);
// Overwrites a secret's bytes and empties it, so that the freed buffer does
// not keep a key for whoever reads the process's memory next.
void WipeSecret(std::string& secret);

// Writes a temporary file beside `path` with `mode`, syncs it and renames it
// over `path`, creating missing directories. UNAVAILABLE naming the path if
// the disk refuses; nothing is left half written.
absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes, mode_t mode = 0644);

}  // namespace halo

#endif  // HALO_COMMON_FILES_H_
