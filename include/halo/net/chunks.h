// Blobs travel between parties as a header and then chunks: duchy to duchy
// (stage inputs) and EDP to duchy (sketches and shares).
#ifndef HALO_NET_CHUNKS_H_
#define HALO_NET_CHUNKS_H_

#include <cstddef>
#include <functional>

#include "absl/strings/string_view.h"

namespace halo::net {

// The largest chunk a sender sends and a receiver accepts: a MiB, well
// below gRPC's 4 MiB message limit. gRPC's cost is per message, so small
// chunks made moving a 300 MB HMSS share take seconds.
inline constexpr size_t kChunkBytes = size_t{1} << 20;
// The largest message a server of chunked streams takes: a chunk, or a
// header, with room for the message's own fields.
inline constexpr int kMaxChunkMessageBytes = static_cast<int>(kChunkBytes) + (16 << 10);

// Hands `data` to `send` in chunks of kChunkBytes; false as soon as `send`
// returns false (the stream broke).
inline bool SendChunks(absl::string_view data, const std::function<bool(absl::string_view chunk)>& send) {
  for (size_t at = 0; at < data.size(); at += kChunkBytes) {
    if (!send(data.substr(at, kChunkBytes))) return false;
  }
  return true;
}

}  // namespace halo::net

#endif  // HALO_NET_CHUNKS_H_
