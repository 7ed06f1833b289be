// A register vector read piece by piece, as a duchy's blob store holds an
// EDP's upload, so that an LLv2 setup stage never holds a whole upload in
// memory: it decodes each piece into its place in the output as it comes.
#ifndef HALO_PROTOCOL_REGISTER_VECTOR_STREAM_H_
#define HALO_PROTOCOL_REGISTER_VECTOR_STREAM_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace halo::protocol::llv2 {

struct RegisterVectorStream {
  // Bytes, known before the first piece (the blob's size).
  uint64_t size = 0;
  // The next piece, or nullopt after the last.
  std::function<absl::StatusOr<std::optional<std::string>>()> next;
};

// Streams of vectors already in memory (a request that carries them), each
// in pieces of a few MiB; `vectors` must outlive them.
std::vector<RegisterVectorStream> StreamsOf(const google::protobuf::RepeatedPtrField<std::string>& vectors);

}  // namespace halo::protocol::llv2

#endif  // HALO_PROTOCOL_REGISTER_VECTOR_STREAM_H_
