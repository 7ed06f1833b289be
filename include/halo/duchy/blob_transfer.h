// A duchy's end of blob transfers (halo/net/chunks.h): the receiver keeps a
// blob only when its size and SHA-256 match what the header announced; the
// sender streams a stored blob.
#ifndef HALO_DUCHY_BLOB_TRANSFER_H_
#define HALO_DUCHY_BLOB_TRANSFER_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "halo/net/chunks.h"
#include "halo/storage/blob_store.h"

namespace halo::duchy {

using net::kChunkBytes;
using net::SendChunks;

// Writes the chunks `next` yields (nullopt at the end of the stream) to
// `writer` and commits them if they are `total_bytes` long with digest
// `sha256`. INVALID_ARGUMENT saying which check failed otherwise, with
// nothing committed.
absl::Status ReceiveChunks(const std::function<std::optional<std::string>()>& next, int64_t total_bytes,
                           absl::string_view sha256, storage::BlobWriter& writer);

// Hands a stored blob to `send` in chunks of kChunkBytes; UNAVAILABLE as
// soon as `send` returns false (the stream broke).
absl::Status SendChunks(storage::BlobReader& reader, const std::function<bool(absl::string_view chunk)>& send);

}  // namespace halo::duchy

#endif  // HALO_DUCHY_BLOB_TRANSFER_H_
