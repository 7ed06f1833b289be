#include "halo/api/encryption_key_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "halo/common/hex.h"
#include "halo/common/status_macros.h"

namespace halo::api {
namespace {
constexpr absl::string_view kFirstLine = "halo encryption key v1";
}  // namespace

absl::Status WriteEncryptionKeyFile(const std::string& path, const crypto::EncryptionKeyPair& key) {
  const std::string temp = path + ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("cannot create ", temp));
  const std::string text = absl::StrCat(kFirstLine, "\n", HexEncode(key.secret.ToBytes()), "\n");
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || std::rename(temp.c_str(), path.c_str()) != 0) {
    ::unlink(temp.c_str());
    return absl::DataLossError(absl::StrCat("cannot write ", path));
  }
  return absl::OkStatus();
}

absl::StatusOr<crypto::EncryptionKeyPair> ReadEncryptionKeyFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat(path, ": cannot read the encryption key file"));
  std::stringstream text;
  text << in.rdbuf();
  std::vector<std::string> lines = absl::StrSplit(text.str(), '\n', absl::SkipWhitespace());
  if (lines.size() != 2 || absl::StripAsciiWhitespace(lines[0]) != kFirstLine) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an encryption key file (expected \"", kFirstLine, "\" and a hex key)"));
  }
  auto bytes = HexDecode(absl::StripAsciiWhitespace(lines[1]));
  if (!bytes.ok() || bytes->size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the key is not 64 hex digits"));
  }
  auto secret = crypto::Scalar::FromBytes(*bytes);
  if (!secret.ok() || secret->IsZero()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the key is not a P-256 secret (zero or too large)"));
  }
  crypto::EncryptionKeyPair key{*secret, crypto::EcPoint::MulGenerator(*secret)};
  return key;
}

}  // namespace halo::api
