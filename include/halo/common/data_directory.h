// A role's data directory, held exclusively by one process: two processes
// writing the same SQLite and RocksDB files would corrupt them.
#ifndef HALO_COMMON_DATA_DIRECTORY_H_
#define HALO_COMMON_DATA_DIRECTORY_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace halo {

class DataDirectory {
 public:
  // Creates `path` (mode 0700) if needed and takes an exclusive lock on its
  // LOCK file. FAILED_PRECONDITION, naming the holder's pid, when another
  // process holds it.
  static absl::StatusOr<std::unique_ptr<DataDirectory>> Acquire(const std::string& path);
  ~DataDirectory();  // releases the lock

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  DataDirectory(std::string path, int lock_fd) : path_(std::move(path)), lock_fd_(lock_fd) {}
  std::string path_;
  int lock_fd_;
};

}  // namespace halo

#endif  // HALO_COMMON_DATA_DIRECTORY_H_
