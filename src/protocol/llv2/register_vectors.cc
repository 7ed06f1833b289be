#include "register_vectors.h"

#include "halo/common/status_macros.h"

#include <algorithm>
#include <mutex>
#include <optional>

#include "absl/strings/str_cat.h"
#include "halo/common/parallel.h"
#include "halo/crypto/random.h"

namespace halo::protocol::llv2::internal {

absl::Status CheckStage(Stage actual, Stage expected) {
  if (actual == expected) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("request is for stage ", Stage_Name(actual), ", not ", Stage_Name(expected)));
}

absl::Status CheckWholeRecords(absl::string_view bytes, size_t record_bytes, absl::string_view what) {
  if (bytes.size() % record_bytes != 0) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is ", bytes.size(), " bytes, not a whole number of ",
                                                   record_bytes, "-byte registers"));
  }
  return absl::OkStatus();
}

std::vector<uint32_t> SecurePermutation(size_t n) {
  std::vector<uint32_t> permutation(n);
  for (size_t i = 0; i < n; ++i) permutation[i] = static_cast<uint32_t>(i);
  auto random = crypto::NewSecureRandomSource();
  for (size_t i = n; i > 1; --i) std::swap(permutation[i - 1], permutation[random->UniformBelow(i)]);
  return permutation;
}

absl::StatusOr<std::unique_ptr<crypto::RandomSource>> NoiseSource(absl::string_view replay_seed) {
  auto source = crypto::NewRandomSource(replay_seed);
  if (!source.ok()) return absl::InvalidArgumentError(absl::StrCat("noise.replay_seed: ", source.status().message()));
  return source;
}

absl::StatusOr<crypto::ElGamalKeyPair> DecodeSecretKey(absl::string_view bytes) {
  auto scalar = crypto::Scalar::FromBytes(bytes);
  if (!scalar.ok()) return absl::InvalidArgumentError(absl::StrCat("secret_key: ", scalar.status().message()));
  auto key = crypto::ElGamalKeyPair::FromSecret(*scalar);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat("secret_key: ", key.status().message()));
  return key;
}

absl::StatusOr<crypto::ElGamalPublicKey> DecodePublicKey(absl::string_view bytes, absl::string_view field) {
  auto key = crypto::ElGamalPublicKey::Decode(bytes);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ": ", key.status().message()));
  return key;
}

std::string EncodeRecord(absl::Span<const crypto::ElGamalCiphertext> ciphertexts) {
  std::string out;
  out.reserve(ciphertexts.size() * kBytesPerCiphertext);
  for (const auto& c : ciphertexts) out += c.Encode(crypto::PointEncoding::kUncompressed);
  return out;
}

std::string RemoveLayerEncoded(const crypto::ElGamalKeyPair& key, const crypto::ElGamalCiphertext& c,
                               absl::string_view encoded) {
  std::string out(encoded.substr(0, crypto::kUncompressedPointBytes));
  out += key.Decrypt(c).Encode(crypto::PointEncoding::kUncompressed);
  return out;
}

absl::Status TransformRecords(absl::string_view input, size_t ciphertexts_per_record,
                              absl::string_view what, absl::Span<const uint32_t> destination,
                              std::string& output, size_t output_record_bytes, int threads,
                              const RecordTransform& transform, size_t first_index) {
  const size_t record_bytes = ciphertexts_per_record * kBytesPerCiphertext;
  const size_t n = input.size() / record_bytes;
  std::mutex mu;
  size_t first_bad = n;
  absl::Status first_error;
  ParallelFor(n, threads, [&](size_t begin, size_t end) {
    std::vector<crypto::ElGamalCiphertext> record;
    for (size_t i = begin; i < end; ++i) {
      record.clear();
      for (size_t c = 0; c < ciphertexts_per_record; ++c) {
        auto decoded = crypto::ElGamalCiphertext::Decode(
            input.substr(i * record_bytes + c * kBytesPerCiphertext, kBytesPerCiphertext));
        if (!decoded.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          if (i < first_bad) {
            first_bad = i;
            first_error = ciphertexts_per_record == 1
                              ? decoded.status()
                              : absl::InvalidArgumentError(
                                    absl::StrCat("ciphertext ", c, ": ", decoded.status().message()));
          }
          return;
        }
        record.push_back(*std::move(decoded));
      }
      const std::string out = transform(first_index + i, record);
      if (output_record_bytes > 0) {
        std::copy(out.begin(), out.end(), output.begin() + destination[i] * output_record_bytes);
      }
    }
  });
  if (first_bad < n) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": register ", first_index + first_bad, ": ", first_error.message()));
  }
  return absl::OkStatus();
}

absl::StatusOr<size_t> CountStreamedRecords(const std::vector<RegisterVectorStream>& streams, size_t record_bytes) {
  size_t records = 0;
  for (size_t v = 0; v < streams.size(); ++v) {
    if (streams[v].size % record_bytes != 0) {
      return absl::InvalidArgumentError(absl::StrCat("register_vectors[", v, "] is ", streams[v].size,
                                                     " bytes, not a whole number of ", record_bytes,
                                                     "-byte registers"));
    }
    records += streams[v].size / record_bytes;
  }
  return records;
}

absl::Status TransformStreamedRecords(std::vector<RegisterVectorStream>& streams, size_t ciphertexts_per_record,
                                      absl::Span<const uint32_t> destination, std::string& output,
                                      size_t output_record_bytes, int threads, const RecordTransform& transform) {
  // Enough records at once to keep every thread busy; a few MiB of input.
  constexpr size_t kBatchBytes = 8 << 20;
  const size_t record_bytes = ciphertexts_per_record * kBytesPerCiphertext;
  size_t at = 0;  // records of earlier streams
  for (size_t v = 0; v < streams.size(); ++v) {
    const std::string what = absl::StrCat("register_vectors[", v, "]");
    const size_t records = streams[v].size / record_bytes;
    size_t done = 0;       // records of this stream transformed
    uint64_t read = 0;     // bytes of it read
    std::string pending;   // read, not yet transformed
    bool ended = false;
    while (true) {
      while (!ended && pending.size() < kBatchBytes) {
        ASSIGN_OR_RETURN(std::optional<std::string> piece, streams[v].next());
        if (!piece) {
          ended = true;
          break;
        }
        read += piece->size();
        if (read > streams[v].size) {
          return absl::InvalidArgumentError(absl::StrCat(what, " holds more than its ", streams[v].size, " bytes"));
        }
        pending += *piece;
      }
      // Unless the stream ended, a batch holds many whole records; a
      // partial one left at the end fails the size check below.
      const size_t whole = pending.size() / record_bytes;
      if (whole == 0) break;
      RETURN_IF_ERROR(TransformRecords(absl::string_view(pending).substr(0, whole * record_bytes),
                                       ciphertexts_per_record, what, destination.subspan(at + done, whole), output,
                                       output_record_bytes, threads, transform, done));
      done += whole;
      pending.erase(0, whole * record_bytes);
    }
    if (read != streams[v].size || done != records) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " ended after ", read, " of its ", streams[v].size, " bytes"));
    }
    at += records;
  }
  return absl::OkStatus();
}

}  // namespace halo::protocol::llv2::internal

namespace halo::protocol::llv2 {

std::vector<RegisterVectorStream> StreamsOf(const google::protobuf::RepeatedPtrField<std::string>& vectors) {
  constexpr size_t kPieceBytes = 4 << 20;
  std::vector<RegisterVectorStream> streams;
  for (const std::string& vector : vectors) {
    auto at = std::make_shared<size_t>(0);
    streams.push_back({vector.size(), [&vector, at]() -> absl::StatusOr<std::optional<std::string>> {
                         if (*at >= vector.size()) return std::nullopt;
                         std::string piece = vector.substr(*at, kPieceBytes);
                         *at += piece.size();
                         return piece;
                       }});
  }
  return streams;
}

}  // namespace halo::protocol::llv2
