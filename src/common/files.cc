#include "halo/common/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace halo {

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

void WipeSecret(std::string& secret) {
  explicit_bzero(secret.data(), secret.size());
  secret.clear();
}

absl::StatusOr<std::string> ReadSecretFile(const std::string& path, absl::string_view what) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::NotFoundError(absl::StrCat(what, " ", path, " cannot be read: ", std::strerror(errno)));
  struct stat status;
  std::string bytes;
  absl::Status result;
  if (fstat(fd, &status) != 0) {
    result = absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
  } else if ((status.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(status.st_mode & 07777));
    result = absl::PermissionDeniedError(absl::StrCat(what, " ", path, " may be read by its group or others (mode ",
                                                      mode, "); it holds a secret: chmod 600 it"));
  } else {
    char buffer[4096];
    while (true) {
      const ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        result = absl::UnavailableError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
        break;
      }
      if (n == 0) break;
      bytes.append(buffer, static_cast<size_t>(n));
    }
    explicit_bzero(buffer, sizeof(buffer));
  }
  close(fd);
  if (!result.ok()) return result;
  return bytes;
}

absl::Status WriteFileAtomically(const std::string& path, absl::string_view bytes, mode_t mode) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  std::error_code error;
  if (!parent.empty()) std::filesystem::create_directories(parent, error);
  if (error) return absl::UnavailableError(absl::StrCat("cannot create ", parent.string(), ": ", error.message()));
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot write ", temp, ": ", std::strerror(errno)));
  bool ok = true;
  for (size_t at = 0; ok && at < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
    ok = n > 0;
    if (ok) at += static_cast<size_t>(n);
  }
  ok = ok && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return absl::UnavailableError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

}  // namespace halo
