#include "halo/common/data_directory.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace halo {

absl::StatusOr<std::unique_ptr<DataDirectory>> DataDirectory::Acquire(const std::string& path) {
  std::error_code error;
  std::filesystem::create_directories(path, error);
  if (error) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory ", path, " cannot be created: ", error.message()));
  }
  std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                               std::filesystem::perm_options::replace, error);
  const std::string lock_path = path + "/LOCK";
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("data directory lock ", lock_path, " cannot be opened: ", std::strerror(errno)));
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    const ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat(
        "data directory ", path, " is in use by another halo process",
        n > 0 ? absl::StrCat(" (pid ", absl::StripAsciiWhitespace(holder), ")") : ""));
  }
  const std::string pid = absl::StrCat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    close(fd);
    return absl::FailedPreconditionError(absl::StrCat("cannot write ", lock_path));
  }
  return std::unique_ptr<DataDirectory>(new DataDirectory(path, fd));
}

DataDirectory::~DataDirectory() {
  flock(lock_fd_, LOCK_UN);
  close(lock_fd_);
}

}  // namespace halo
