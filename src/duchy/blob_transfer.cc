#include "halo/duchy/blob_transfer.h"

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/sha256.h"

namespace halo::duchy {

absl::Status ReceiveChunks(const std::function<std::optional<std::string>()>& next, int64_t total_bytes,
                           absl::string_view sha256, storage::BlobWriter& writer) {
  if (total_bytes < 0) return absl::InvalidArgumentError(absl::StrCat("total_bytes is negative: ", total_bytes));
  if (sha256.size() != crypto::kSha256Bytes) {
    return absl::InvalidArgumentError(absl::StrCat("sha256 has ", sha256.size(), " bytes, not 32"));
  }
  crypto::Sha256Hasher hasher;
  int64_t received = 0;
  while (std::optional<std::string> chunk = next()) {
    if (chunk->size() > kChunkBytes) {
      return absl::InvalidArgumentError(absl::StrCat("a chunk of ", chunk->size(), " bytes exceeds ", kChunkBytes));
    }
    received += static_cast<int64_t>(chunk->size());
    if (received > total_bytes) {
      return absl::InvalidArgumentError(absl::StrCat("the upload is longer than the ", total_bytes,
                                                     " bytes its header announced"));
    }
    hasher.Update(*chunk);
    RETURN_IF_ERROR(writer.Append(*chunk));
  }
  if (received != total_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the upload ended after ", received, " of the ", total_bytes, " bytes its header announced"));
  }
  if (hasher.Finish() != sha256) {
    return absl::InvalidArgumentError("the upload's SHA-256 does not match its header's sha256");
  }
  return writer.Commit();
}

absl::Status SendChunks(storage::BlobReader& reader, const std::function<bool(absl::string_view chunk)>& send) {
  while (true) {
    ASSIGN_OR_RETURN(std::optional<std::string> piece, reader.Next());
    if (!piece.has_value()) return absl::OkStatus();
    if (!SendChunks(*piece, send)) return absl::UnavailableError("the stream to the receiver broke");
  }
}

}  // namespace halo::duchy
