// Blobs travel between parties as a header and then chunks: duchy to duchy
// (stage inputs) and EDP to duchy (sketches and shares).
#ifndef HALO_NET_CHUNKS_H_
#define HALO_NET_CHUNKS_H_

#include <cstddef>
#include <functional>

#include "absl/strings/string_view.h"

namespace halo::net {

// The largest chunk a sender sends and a receiver accepts.
inline constexpr size_t kChunkBytes = 32 * 1024;

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
