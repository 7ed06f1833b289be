#include "halo/api/encryption_key_file.h"

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "halo/common/files.h"
#include "halo/common/hex.h"
#include "halo/common/status_macros.h"

namespace halo::api {
namespace {
constexpr absl::string_view kFirstLine = "halo encryption key v1";
}  // namespace

absl::Status WriteEncryptionKeyFile(const std::string& path, const crypto::EncryptionKeyPair& key) {
  return WriteFileAtomically(path, absl::StrCat(kFirstLine, "\n", HexEncode(key.secret.ToBytes()), "\n"), 0600);
}

absl::StatusOr<crypto::EncryptionKeyPair> ReadEncryptionKeyFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadSecretFile(path, "encryption key file");
  if (!text.ok()) return text.status();
  std::vector<std::string> lines = absl::StrSplit(*text, '\n', absl::SkipWhitespace());
  WipeSecret(*text);
  absl::Cleanup wipe_lines = [&lines] {
    for (std::string& line : lines) WipeSecret(line);
  };
  if (lines.size() != 2 || absl::StripAsciiWhitespace(lines[0]) != kFirstLine) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not an encryption key file (expected \"", kFirstLine, "\" and a hex key)"));
  }
  auto bytes = HexDecode(absl::StripAsciiWhitespace(lines[1]));
  if (!bytes.ok() || bytes->size() != 32) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the key is not 64 hex digits"));
  }
  auto secret = crypto::Scalar::FromBytes(*bytes);
  WipeSecret(*bytes);
  if (!secret.ok() || secret->IsZero()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": the key is not a P-256 secret (zero or too large)"));
  }
  crypto::EncryptionKeyPair key{*secret, crypto::EcPoint::MulGenerator(*secret)};
  return key;
}

}  // namespace halo::api
