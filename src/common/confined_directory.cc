#include "halo/common/confined_directory.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace halo {
namespace {

constexpr size_t kMaximumPathBytes = 1024;

// Closes a descriptor when it goes out of scope.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

// Why `component` beneath `dir` could not be opened as what was wanted.
absl::Status OpenError(int dir, const std::string& component, absl::string_view name, int error) {
  struct stat status;
  if (::fstatat(dir, component.c_str(), &status, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(status.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", name, "\": \"", component, "\" is a symbolic link, which is never followed"));
  }
  if (error == ENOENT) return absl::NotFoundError(absl::StrCat("\"", name, "\" is not there"));
  if (error == ENOTDIR) return absl::InvalidArgumentError(absl::StrCat("\"", name, "\": \"", component, "\" is not a directory"));
  return absl::UnavailableError(absl::StrCat("\"", name, "\": ", std::strerror(error)));
}

// The directory that holds the last component of `name`, opened component by
// component without following links; with `create`, missing ones are made.
absl::StatusOr<Fd> OpenParent(int root, absl::string_view name, const std::vector<std::string>& components,
                              bool create) {
  Fd dir(::dup(root));
  if (dir.get() < 0) return absl::UnavailableError(absl::StrCat("\"", name, "\": ", std::strerror(errno)));
  for (size_t i = 0; i + 1 < components.size(); ++i) {
    const char* component = components[i].c_str();
    int next = ::openat(dir.get(), component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0 && errno == ENOENT && create) {
      if (::mkdirat(dir.get(), component, 0700) != 0 && errno != EEXIST) {
        return absl::UnavailableError(absl::StrCat("\"", name, "\": cannot create \"", components[i],
                                                   "\": ", std::strerror(errno)));
      }
      next = ::openat(dir.get(), component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (next < 0) return OpenError(dir.get(), components[i], name, errno);
    dir = Fd(next);
  }
  return dir;
}

absl::Status WriteAll(int fd, absl::string_view bytes) {
  for (size_t at = 0; at < bytes.size();) {
    const ssize_t n = ::write(fd, bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return absl::UnavailableError(std::strerror(errno));
    at += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckConfinedPath(absl::string_view path, absl::string_view what) {
  auto refuse = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(what, " \"", path, "\" ", why));
  };
  if (path.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (path.size() > kMaximumPathBytes) return refuse(absl::StrCat("is longer than ", kMaximumPathBytes, " bytes"));
  if (path.front() == '/') return refuse("is absolute; it must be relative to its directory");
  if (path.find('\0') != absl::string_view::npos) return refuse("holds a NUL byte");
  for (absl::string_view component : absl::StrSplit(path, '/')) {
    if (component.empty() || component == ".") return refuse("has an empty or \".\" component");
    if (component == "..") return refuse("has a \"..\" component, which would leave its directory");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<ConfinedDirectory>> ConfinedDirectory::Open(const std::string& root) {
  std::error_code error;
  std::filesystem::create_directories(root, error);
  if (error) return absl::UnavailableError(absl::StrCat("cannot create ", root, ": ", error.message()));
  const int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot open ", root, ": ", std::strerror(errno)));
  return std::unique_ptr<ConfinedDirectory>(new ConfinedDirectory(root, fd));
}

ConfinedDirectory::~ConfinedDirectory() { ::close(fd_); }

absl::StatusOr<std::string> ConfinedDirectory::Read(absl::string_view name, uint64_t maximum_bytes) const {
  if (absl::Status path = CheckConfinedPath(name, "the file name"); !path.ok()) return path;
  const std::vector<std::string> components = absl::StrSplit(name, '/');
  absl::StatusOr<Fd> dir = OpenParent(fd_, name, components, /*create=*/false);
  if (!dir.ok()) return dir.status();
  // O_NONBLOCK: a FIFO planted under the name must not hang the reader.
  Fd file(::openat(dir->get(), components.back().c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
  if (file.get() < 0) return OpenError(dir->get(), components.back(), name, errno);
  struct stat status;
  if (::fstat(file.get(), &status) != 0) return absl::UnavailableError(absl::StrCat("\"", name, "\": ", std::strerror(errno)));
  if (!S_ISREG(status.st_mode)) return absl::InvalidArgumentError(absl::StrCat("\"", name, "\" is not a regular file"));
  if (static_cast<uint64_t>(status.st_size) > maximum_bytes) {
    return absl::ResourceExhaustedError(absl::StrCat("\"", name, "\" holds ", status.st_size,
                                                     " bytes, more than the ", maximum_bytes, " allowed"));
  }
  std::string bytes(static_cast<size_t>(status.st_size), '\0');
  size_t at = 0;
  while (at < bytes.size()) {
    const ssize_t n = ::read(file.get(), bytes.data() + at, bytes.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("\"", name, "\": ", std::strerror(errno)));
    if (n == 0) break;
    at += static_cast<size_t>(n);
  }
  // A file that shrank while we read is read as it now is; one that grew is
  // read as it was when we checked its size.
  bytes.resize(at);
  return bytes;
}

absl::Status ConfinedDirectory::Write(absl::string_view name, absl::string_view bytes, mode_t mode) const {
  if (absl::Status path = CheckConfinedPath(name, "the file name"); !path.ok()) return path;
  const std::vector<std::string> components = absl::StrSplit(name, '/');
  absl::StatusOr<Fd> dir = OpenParent(fd_, name, components, /*create=*/true);
  if (!dir.ok()) return dir.status();
  uint64_t nonce = 0;
  if (::getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce)) {
    return absl::UnavailableError(absl::StrCat("\"", name, "\": no randomness for a temporary name"));
  }
  const std::string temp = absl::StrCat(".", components.back(), ".", absl::Hex(nonce, absl::kZeroPad16), ".tmp");
  Fd file(::openat(dir->get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (file.get() < 0) {
    return absl::UnavailableError(absl::StrCat("cannot create a temporary file for \"", name, "\" in ", root_, ": ",
                                               std::strerror(errno)));
  }
  absl::Status written = WriteAll(file.get(), bytes);
  if (written.ok() && ::fsync(file.get()) != 0) written = absl::UnavailableError(std::strerror(errno));
  if (written.ok() && ::renameat(dir->get(), temp.c_str(), dir->get(), components.back().c_str()) != 0) {
    written = absl::UnavailableError(std::strerror(errno));
  }
  if (!written.ok()) {
    ::unlinkat(dir->get(), temp.c_str(), 0);
    return absl::UnavailableError(absl::StrCat("cannot write \"", name, "\" in ", root_, ": ", written.message()));
  }
  // The rename is durable only once the directory that holds it is.
  if (::fsync(dir->get()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot sync the directory of \"", name, "\" in ", root_, ": ",
                                               std::strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace halo
