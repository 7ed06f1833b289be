#include "halo/common/confined_directory.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <dirent.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
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
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// A writer's temporary file beside `target`: hidden, and never listed.
std::string TemporaryName(const std::string& target, uint64_t nonce) {
  return absl::StrCat(".", target, ".", absl::Hex(nonce, absl::kZeroPad16), ".tmp");
}

bool IsTemporaryName(absl::string_view name) {
  constexpr size_t kSuffix = 1 + 16 + 4;  // ".{16 hex}.tmp"
  if (name.size() < 1 + kSuffix || name.front() != '.' || !absl::EndsWith(name, ".tmp")) return false;
  const absl::string_view hex = name.substr(name.size() - kSuffix + 1, 16);
  return name[name.size() - kSuffix] == '.' &&
         hex.find_first_not_of("0123456789abcdef") == absl::string_view::npos;
}

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

absl::StatusOr<std::unique_ptr<ConfinedFileReader>> ConfinedDirectory::OpenReader(absl::string_view name,
                                                                                    uint64_t maximum_bytes) const {
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
  return std::unique_ptr<ConfinedFileReader>(
      new ConfinedFileReader(std::string(name), file.release(), static_cast<uint64_t>(status.st_size)));
}

ConfinedFileReader::~ConfinedFileReader() { ::close(fd_); }

absl::StatusOr<std::optional<std::string>> ConfinedFileReader::Next() {
  constexpr uint64_t kPieceBytes = 1 << 20;
  if (read_ >= size_) return std::nullopt;
  std::string piece(static_cast<size_t>(std::min(kPieceBytes, size_ - read_)), '\0');
  size_t at = 0;
  while (at < piece.size()) {
    const ssize_t n = ::read(fd_, piece.data() + at, piece.size() - at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError(absl::StrCat("\"", name_, "\": ", std::strerror(errno)));
    if (n == 0) break;
    at += static_cast<size_t>(n);
  }
  if (at == 0) {
    read_ = size_;  // it shrank: what is there has been read
    return std::nullopt;
  }
  piece.resize(at);
  read_ += at;
  return piece;
}

absl::StatusOr<std::string> ConfinedDirectory::Read(absl::string_view name, uint64_t maximum_bytes) const {
  absl::StatusOr<std::unique_ptr<ConfinedFileReader>> reader = OpenReader(name, maximum_bytes);
  if (!reader.ok()) return reader.status();
  std::string bytes;
  bytes.reserve(static_cast<size_t>((*reader)->size()));
  while (true) {
    absl::StatusOr<std::optional<std::string>> piece = (*reader)->Next();
    if (!piece.ok()) return piece.status();
    if (!piece->has_value()) break;
    bytes += **piece;
  }
  return bytes;
}

absl::StatusOr<std::unique_ptr<ConfinedFileWriter>> ConfinedDirectory::OpenWriter(absl::string_view name,
                                                                                    mode_t mode) const {
  if (absl::Status path = CheckConfinedPath(name, "the file name"); !path.ok()) return path;
  const std::vector<std::string> components = absl::StrSplit(name, '/');
  absl::StatusOr<Fd> dir = OpenParent(fd_, name, components, /*create=*/true);
  if (!dir.ok()) return dir.status();
  uint64_t nonce = 0;
  if (::getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce)) {
    return absl::UnavailableError(absl::StrCat("\"", name, "\": no randomness for a temporary name"));
  }
  std::string temp = TemporaryName(components.back(), nonce);
  Fd file(::openat(dir->get(), temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (file.get() < 0) {
    return absl::UnavailableError(absl::StrCat("cannot create a temporary file for \"", name, "\" in ", root_, ": ",
                                               std::strerror(errno)));
  }
  const int dir_fd = dir->release();
  return std::unique_ptr<ConfinedFileWriter>(new ConfinedFileWriter(std::string(name),
                                                                    absl::StrCat("\"", name, "\" in ", root_), dir_fd,
                                                                    file.release(), std::move(temp),
                                                                    components.back()));
}

ConfinedFileWriter::~ConfinedFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!done_) ::unlinkat(dir_, temp_.c_str(), 0);
  ::close(dir_);
}

absl::Status ConfinedFileWriter::Append(absl::string_view bytes) {
  if (done_) return absl::FailedPreconditionError(absl::StrCat(description_, " is committed already"));
  if (absl::Status written = WriteAll(fd_, bytes); !written.ok()) {
    return absl::UnavailableError(absl::StrCat("cannot write ", description_, ": ", written.message()));
  }
  return absl::OkStatus();
}

absl::Status ConfinedFileWriter::Commit() {
  if (done_) return absl::FailedPreconditionError(absl::StrCat(description_, " is committed already"));
  if (::fsync(fd_) != 0) return absl::UnavailableError(absl::StrCat("cannot write ", description_, ": ", std::strerror(errno)));
  if (::renameat(dir_, temp_.c_str(), dir_, target_.c_str()) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot write ", description_, ": ", std::strerror(errno)));
  }
  done_ = true;
  // The rename is durable only once the directory that holds it is.
  if (::fsync(dir_) != 0) {
    return absl::UnavailableError(absl::StrCat("cannot sync the directory of ", description_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::Status ConfinedDirectory::Write(absl::string_view name, absl::string_view bytes, mode_t mode) const {
  absl::StatusOr<std::unique_ptr<ConfinedFileWriter>> writer = OpenWriter(name, mode);
  if (!writer.ok()) return writer.status();
  if (absl::Status appended = (*writer)->Append(bytes); !appended.ok()) return appended;
  return (*writer)->Commit();
}

absl::Status ConfinedDirectory::Delete(absl::string_view name) const {
  if (absl::Status path = CheckConfinedPath(name, "the file name"); !path.ok()) return path;
  const std::vector<std::string> components = absl::StrSplit(name, '/');
  absl::StatusOr<Fd> dir = OpenParent(fd_, name, components, /*create=*/false);
  if (absl::IsNotFound(dir.status())) return absl::OkStatus();
  if (!dir.ok()) return dir.status();
  if (::unlinkat(dir->get(), components.back().c_str(), 0) != 0 && errno != ENOENT) {
    return absl::UnavailableError(absl::StrCat("cannot delete \"", name, "\" in ", root_, ": ", std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ConfinedDirectory::List(absl::string_view prefix) const {
  std::vector<std::string> names;
  // Depth first from the root, entering only directories (never links)
  // whose names could still lead to the prefix.
  std::function<absl::Status(int, const std::string&)> walk = [&](int dir, const std::string& path) -> absl::Status {
    Fd reading(::dup(dir));
    if (reading.get() < 0) return absl::UnavailableError(absl::StrCat("listing ", root_, ": ", std::strerror(errno)));
    DIR* entries = ::fdopendir(reading.get());
    if (entries == nullptr) return absl::UnavailableError(absl::StrCat("listing ", root_, ": ", std::strerror(errno)));
    reading.release();
    // A duplicate shares its original's offset, which an earlier listing
    // left at the end.
    ::rewinddir(entries);
    std::vector<std::pair<std::string, bool>> found;  // name, is a directory
    while (struct dirent* entry = ::readdir(entries)) {
      const std::string name = entry->d_name;
      if (name == "." || name == ".." || IsTemporaryName(name)) continue;
      struct stat status;
      if (::fstatat(::dirfd(entries), name.c_str(), &status, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(status.st_mode) || S_ISREG(status.st_mode)) found.emplace_back(name, S_ISDIR(status.st_mode));
    }
    ::closedir(entries);
    for (const auto& [name, is_directory] : found) {
      const std::string full = path.empty() ? name : absl::StrCat(path, "/", name);
      if (!is_directory) {
        if (absl::StartsWith(full, prefix)) names.push_back(full);
        continue;
      }
      const std::string as_parent = full + "/";
      if (!absl::StartsWith(as_parent, prefix) && !absl::StartsWith(prefix, as_parent)) continue;
      Fd child(::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (child.get() < 0) continue;  // removed, or replaced by a link, since it was read
      if (absl::Status listed = walk(child.get(), full); !listed.ok()) return listed;
    }
    return absl::OkStatus();
  };
  if (absl::Status listed = walk(fd_, ""); !listed.ok()) return listed;
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace halo
