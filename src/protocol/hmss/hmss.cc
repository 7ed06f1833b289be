#include "halo/protocol/hmss.h"

#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "halo/common/cpu_timer.h"
#include "halo/common/large_buffer.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/hkdf.h"
#include "halo/crypto/random.h"
#include "halo/crypto/seeded_prng.h"
#include "halo/dp/calibration.h"
#include "halo/dp/limits.h"
#include "halo/sketch/frequency_vector.h"

namespace halo::protocol::hmss {
namespace {

constexpr size_t kSeedBytes = crypto::SeededPrng::kSeedBytes;
constexpr uint64_t kMaxVectorSize = uint64_t{1} << 32;

// How each worker's noise registers are drawn.
struct NoisePlan {
  uint64_t shift = 0;       // per bucket; counts are shift + X, X in [-shift, shift]
  uint64_t block_size = 0;  // slots each worker appends
  std::unique_ptr<dp::IntegerNoise> share;
  double bucket_variance = 0;  // of the sum of both workers' X
};

absl::StatusOr<NoisePlan> PlanNoise(const HmssParameters& p) {
  NoisePlan plan;
  if (p.noise_mechanism() == NONE) return plan;
  if (p.noise_mechanism() != GEOMETRIC && p.noise_mechanism() != DISCRETE_GAUSSIAN) {
    return absl::InvalidArgumentError("parameters.noise_mechanism is unspecified");
  }
  const dp::NoiseMechanism mechanism = p.noise_mechanism() == GEOMETRIC
                                           ? dp::NoiseMechanism::kGeometric
                                           : dp::NoiseMechanism::kDiscreteGaussian;
  auto noise = dp::PlanCountNoise(
      mechanism, {.epsilon = p.bucket_noise().epsilon(), .delta = p.bucket_noise().delta()}, 1, 2);
  if (!noise.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("parameters.bucket_noise: ", noise.status().message()));
  }
  plan.share = std::move(noise->share);
  plan.shift = noise->shift;
  plan.block_size = uint64_t{p.max_frequency()} * 2 * plan.shift;
  plan.bucket_variance = noise->total_variance;
  if (plan.block_size > static_cast<uint64_t>(dp::kMaxNoiseRecords)) {
    return absl::InvalidArgumentError(absl::StrCat("parameters.bucket_noise: these DP parameters would have each ",
                                                   "worker add ", plan.block_size, " noise slots; at most ",
                                                   dp::kMaxNoiseRecords, " are allowed (raise epsilon or delta)"));
  }
  return plan;
}

absl::Status CheckParameters(const HmssParameters& p) {
  if (p.ring_modulus() < 2 || p.ring_modulus() > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameters.ring_modulus must be 2 to 256, got ", p.ring_modulus()));
  }
  if (p.max_frequency() < 1 || p.max_frequency() >= p.ring_modulus()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "parameters.max_frequency must be 1 to ring_modulus - 1, got ", p.max_frequency()));
  }
  if (p.vector_size() < 1 || p.vector_size() > kMaxVectorSize / 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("parameters.vector_size must be 1 to 2^31, got ", p.vector_size()));
  }
  return absl::OkStatus();
}

absl::Span<const uint8_t> Bytes(absl::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Pieces of bytes held in memory, a MiB at a time.
SharePieces PiecesOf(absl::string_view bytes) {
  return [bytes, at = size_t{0}]() mutable -> absl::StatusOr<std::optional<std::string>> {
    if (at == bytes.size()) return std::nullopt;
    const size_t n = std::min<size_t>(size_t{1} << 20, bytes.size() - at);
    std::string piece(bytes.substr(at, n));
    at += n;
    return piece;
  };
}

// Reads exact runs of slots from pieces of any size.
class PieceReader {
 public:
  explicit PieceReader(const SharePieces& pieces) : pieces_(pieces) {}
  // Up to out.size() slots; fewer only at the end of the share.
  absl::StatusOr<size_t> Read(absl::Span<uint8_t> out) {
    size_t got = 0;
    while (got < out.size()) {
      if (at_ == piece_.size()) {
        ASSIGN_OR_RETURN(std::optional<std::string> next, pieces_());
        if (!next.has_value()) break;
        piece_ = *std::move(next);
        at_ = 0;
      }
      const size_t n = std::min(out.size() - got, piece_.size() - at_);
      std::memcpy(out.data() + got, piece_.data() + at_, n);
      at_ += n;
      got += n;
    }
    return got;
  }

 private:
  const SharePieces& pieces_;
  std::string piece_;
  size_t at_ = 0;
};

// A 32-byte key for one use of the common seed.
std::string Subkey(absl::string_view common_seed, absl::string_view purpose) {
  return *crypto::HkdfSha256(common_seed, "halo hmss", purpose, kSeedBytes);
}

std::vector<uint8_t> Expand(absl::string_view key, uint64_t slots, uint32_t modulus) {
  return *sketch::ExpandShareSeed(key, slots, modulus);
}

const char* OrderName(WorkerOrder order) { return order == FIRST ? "first" : "second"; }

// This worker's share of its own noise block: the block minus what the peer
// holds for it, which the peer derives from the common seed.
absl::StatusOr<std::vector<uint8_t>> OwnNoiseShare(const NoisePlan& plan, const HmssParameters& p,
                                                   absl::string_view common_seed, WorkerOrder order,
                                                   absl::string_view replay_seed) {
  std::vector<uint8_t> block(plan.block_size, 0);
  absl::StatusOr<std::unique_ptr<crypto::RandomSource>> random = crypto::NewRandomSource(replay_seed);
  if (!random.ok()) return absl::InvalidArgumentError(absl::StrCat("replay_seed: ", random.status().message()));
  size_t at = 0;
  for (uint32_t k = 1; k <= p.max_frequency(); ++k) {
    ASSIGN_OR_RETURN(int64_t count, dp::SampleTruncatedShifted(*plan.share, plan.shift, **random));
    std::fill_n(block.begin() + at, count, static_cast<uint8_t>(k));
    at += count;
  }
  const std::vector<uint8_t> peer_holds =
      Expand(Subkey(common_seed, absl::StrCat("noise ", OrderName(order))), plan.block_size, p.ring_modulus());
  const uint32_t q = p.ring_modulus();
  for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<uint8_t>((block[i] + q - peer_holds[i]) % q);
  return block;
}

// Shuffles `values` by a permutation both workers derive from the common
// seed, and masks the result (FIRST adds the common mask, SECOND subtracts
// it). A uniformly random bucket for every slot, then a uniform shuffle
// within each bucket, is a uniformly random permutation; here the buckets
// are two levels of 256, so that the last level (about 4,600 slots at 300M)
// shuffles inside the L1 cache and the first scatters through 256 streams.
// Every piece of randomness comes from a key derived for its place (a chunk
// of slots, a bucket), so threads work on their own and the result does not
// depend on how many there are. Frees `values` once it is scattered.
absl::StatusOr<LargeBuffer> CommonShuffle(LargeBuffer& values, absl::string_view common_seed, uint32_t modulus,
                                          bool add_mask, int threads) {
  constexpr int kBuckets = 256;
  constexpr uint64_t kChunk = uint64_t{1} << 20;  // slots whose bucket bytes share one key
  const uint64_t total = values.size();
  const uint64_t chunks = (total + kChunk - 1) / kChunk;
  auto bucket_bytes = [&](uint64_t c, std::vector<uint8_t>& out) {
    const uint64_t n = std::min(kChunk, total - c * kChunk);
    out.resize(n);
    crypto::SeededPrng::Create(Subkey(common_seed, absl::StrCat("shuffle buckets ", c)))->Fill(absl::MakeSpan(out));
  };
  // Where each chunk's slots of each bucket go: buckets in order, and
  // within a bucket, chunks in order.
  std::vector<std::array<uint64_t, kBuckets>> place(chunks);
  ParallelFor(chunks, threads, [&](size_t begin, size_t end) {
    std::vector<uint8_t> bytes;
    for (size_t c = begin; c < end; ++c) {
      bucket_bytes(c, bytes);
      uint32_t counts[4][kBuckets] = {};
      size_t i = 0;
      for (; i + 4 <= bytes.size(); i += 4) {
        ++counts[0][bytes[i]];
        ++counts[1][bytes[i + 1]];
        ++counts[2][bytes[i + 2]];
        ++counts[3][bytes[i + 3]];
      }
      for (; i < bytes.size(); ++i) ++counts[0][bytes[i]];
      for (int b = 0; b < kBuckets; ++b) place[c][b] = counts[0][b] + counts[1][b] + counts[2][b] + counts[3][b];
    }
  });
  std::array<uint64_t, kBuckets + 1> bucket_start{};
  uint64_t at = 0;
  for (int b = 0; b < kBuckets; ++b) {
    bucket_start[b] = at;
    for (uint64_t c = 0; c < chunks; ++c) {
      const uint64_t count = place[c][b];
      place[c][b] = at;
      at += count;
    }
  }
  bucket_start[kBuckets] = at;
  ASSIGN_OR_RETURN(LargeBuffer shuffled, LargeBuffer::Allocate(total));
  ParallelFor(chunks, threads, [&](size_t begin, size_t end) {
    std::vector<uint8_t> bytes;
    for (size_t c = begin; c < end; ++c) {
      bucket_bytes(c, bytes);
      std::array<uint64_t, kBuckets>& next = place[c];
      const uint8_t* from = values.data() + c * kChunk;
      uint8_t* to = shuffled.data();
      for (size_t i = 0; i < bytes.size(); ++i) to[next[bytes[i]]++] = from[i];
    }
  });
  values.Release();

  uint64_t largest = 0;
  for (int b = 0; b < kBuckets; ++b) largest = std::max(largest, bucket_start[b + 1] - bucket_start[b]);
  ParallelFor(kBuckets, threads, [&](size_t begin, size_t end) {
    std::vector<uint8_t> keys(largest), scratch(largest);
    for (size_t b = begin; b < end; ++b) {
      const uint64_t size = bucket_start[b + 1] - bucket_start[b];
      uint8_t* bucket = shuffled.data() + bucket_start[b];
      crypto::SeededPrng prng = *crypto::SeededPrng::Create(Subkey(common_seed, absl::StrCat("shuffle bucket ", b)));
      prng.Fill(absl::MakeSpan(keys.data(), size));
      std::array<uint32_t, kBuckets + 1> start{};
      for (uint64_t i = 0; i < size; ++i) ++start[keys[i] + 1];
      for (int s = 0; s < kBuckets; ++s) start[s + 1] += start[s];
      std::array<uint32_t, kBuckets> next;
      std::copy(start.begin(), start.end() - 1, next.begin());
      for (uint64_t i = 0; i < size; ++i) scratch[next[keys[i]]++] = bucket[i];
      for (int s = 0; s < kBuckets; ++s) {
        uint8_t* part = scratch.data() + start[s];
        for (uint32_t i = start[s + 1] - start[s]; i > 1; --i) std::swap(part[i - 1], part[prng.UniformBelow32(i)]);
      }
      sketch::ShareSeedExpander mask = *sketch::ShareSeedExpander::Create(Subkey(common_seed, absl::StrCat("mask ", b)), modulus);
      mask.Next(absl::MakeSpan(keys.data(), size));
      if (add_mask) {
        sketch::AddInRing(absl::MakeSpan(scratch.data(), size), absl::MakeConstSpan(keys.data(), size), modulus);
      } else {
        sketch::SubtractInRing(absl::MakeSpan(scratch.data(), size), absl::MakeConstSpan(keys.data(), size), modulus);
      }
      std::memcpy(bucket, scratch.data(), size);
    }
  });
  return shuffled;
}

}  // namespace

std::string GenerateSeedHalf() { return crypto::SeededPrng::GenerateSeed(); }

absl::StatusOr<std::string> DeriveCommonSeed(absl::string_view first_half, absl::string_view second_half) {
  if (first_half.size() != kSeedBytes || second_half.size() != kSeedBytes) {
    return absl::InvalidArgumentError(absl::StrCat("seed halves must be ", kSeedBytes, " bytes, got ",
                                                   first_half.size(), " and ", second_half.size()));
  }
  const std::string input = absl::StrCat("halo hmss common seed", first_half, second_half);
  std::string out(SHA256_DIGEST_LENGTH, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

absl::StatusOr<uint64_t> NoiseBlockSize(const HmssParameters& parameters) {
  RETURN_IF_ERROR(CheckParameters(parameters));
  ASSIGN_OR_RETURN(NoisePlan plan, PlanNoise(parameters));
  return plan.block_size;
}

absl::StatusOr<int64_t> StreamShufflePhase(const ShufflePhaseRequest& request,
                                           absl::Span<const SharePieces> data_shares, const ShareSink& output) {
  const CpuTimer cpu;
  const HmssParameters& p = request.parameters();
  RETURN_IF_ERROR(CheckParameters(p));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  if (request.order() != FIRST && request.order() != SECOND) {
    return absl::InvalidArgumentError("order must be FIRST or SECOND");
  }
  if (request.common_seed().size() != kSeedBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("common_seed must be ", kSeedBytes, " bytes, got ", request.common_seed().size()));
  }
  const uint64_t edps = static_cast<uint64_t>(request.shares_size()) + data_shares.size();
  if (edps == 0) return absl::InvalidArgumentError("no EDP shares");
  const uint32_t q = p.ring_modulus();
  if (edps * p.max_frequency() >= q) {
    return absl::InvalidArgumentError(absl::StrCat(edps, " EDPs at max_frequency ", p.max_frequency(),
                                                   " could sum past the ring modulus ", q,
                                                   "; use a larger modulus or fewer EDPs"));
  }
  const uint64_t n = p.vector_size();
  // Shares are named by their place: the request's first, then the streamed.
  std::vector<std::pair<std::string, SharePieces>> data;
  for (int i = 0; i < request.shares_size(); ++i) {
    const FrequencyVectorShare& share = request.shares(i);
    if (share.has_data()) {
      data.emplace_back(absl::StrCat("share ", i), PiecesOf(share.data()));
    } else if (share.has_seed()) {
      if (share.seed().size() != kSeedBytes) {
        return absl::InvalidArgumentError(absl::StrCat("share ", i, ": seed must be ", kSeedBytes,
                                                       " bytes, got ", share.seed().size()));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("share ", i, ": neither data nor seed"));
    }
  }
  for (size_t i = 0; i < data_shares.size(); ++i) {
    data.emplace_back(absl::StrCat("share ", request.shares_size() + i), data_shares[i]);
  }
  ASSIGN_OR_RETURN(NoisePlan noise, PlanNoise(p));

  // The working sum: every share added in as it is read, then FIRST's noise
  // block, then SECOND's.
  const uint64_t total = n + 2 * noise.block_size;
  ASSIGN_OR_RETURN(LargeBuffer combined, LargeBuffer::Allocate(total));
  for (const auto& [name, pieces] : data) {
    uint64_t at = 0;
    while (true) {
      ASSIGN_OR_RETURN(std::optional<std::string> piece, pieces());
      if (!piece.has_value()) break;
      if (piece->size() > n - at) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": data has more than the vector's ", n, " slots"));
      }
      RETURN_IF_ERROR(sketch::CheckSlotsInRing(Bytes(*piece), at, q, name));
      sketch::AddInRing(combined.span().subspan(at, piece->size()), Bytes(*piece), q);
      at += piece->size();
    }
    if (at != n) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": data has ", at, " slots; the vector has ", n));
    }
  }
  for (const FrequencyVectorShare& share : request.shares()) {
    if (!share.has_seed()) continue;
    sketch::ShareSeedExpander expander = *sketch::ShareSeedExpander::Create(share.seed(), q);
    std::vector<uint8_t> buffer(size_t{1} << 16);
    for (uint64_t s = 0; s < n; s += buffer.size()) {
      const size_t take = std::min<uint64_t>(buffer.size(), n - s);
      expander.Next(absl::MakeSpan(buffer.data(), take));
      sketch::AddInRing(combined.span().subspan(s, take), absl::MakeConstSpan(buffer.data(), take), q);
    }
  }
  if (noise.block_size > 0) {
    const WorkerOrder peer = request.order() == FIRST ? SECOND : FIRST;
    ASSIGN_OR_RETURN(std::vector<uint8_t> own,
                     OwnNoiseShare(noise, p, request.common_seed(), request.order(), request.replay_seed()));
    const std::vector<uint8_t> peers =
        Expand(Subkey(request.common_seed(), absl::StrCat("noise ", OrderName(peer))), noise.block_size, q);
    const std::vector<uint8_t>& first_block = request.order() == FIRST ? own : peers;
    const std::vector<uint8_t>& second_block = request.order() == FIRST ? peers : own;
    std::copy(first_block.begin(), first_block.end(), combined.data() + n);
    std::copy(second_block.begin(), second_block.end(), combined.data() + n + noise.block_size);
  }

  ASSIGN_OR_RETURN(LargeBuffer shuffled,
                   CommonShuffle(combined, request.common_seed(), q, request.order() == FIRST, threads));
  constexpr size_t kPiece = size_t{1} << 20;
  for (uint64_t at = 0; at < total; at += kPiece) {
    RETURN_IF_ERROR(output(shuffled.view().substr(at, kPiece)));
  }
  return cpu.ElapsedMicros();
}

absl::StatusOr<ShufflePhaseResponse> CompleteShufflePhase(const ShufflePhaseRequest& request) {
  ShufflePhaseResponse response;
  std::string& out = *response.mutable_shuffled_share();
  ASSIGN_OR_RETURN(const int64_t cpu_micros, StreamShufflePhase(request, {}, [&](absl::string_view piece) {
                     out.append(piece.data(), piece.size());
                     return absl::OkStatus();
                   }));
  response.set_cpu_micros(cpu_micros);
  return response;
}

absl::StatusOr<AggregationPhaseResponse> StreamAggregationPhase(const AggregationPhaseRequest& request,
                                                                const SharePieces& first_share,
                                                                const SharePieces& second_share) {
  const CpuTimer cpu;
  const HmssParameters& p = request.parameters();
  RETURN_IF_ERROR(CheckParameters(p));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(NoisePlan noise, PlanNoise(p));
  const uint64_t total = p.vector_size() + 2 * noise.block_size;
  const uint32_t q = p.ring_modulus();

  // Histogram of the combined values, a block at a time: each thread counts
  // its range of the block, then adds its counts in.
  std::vector<int64_t> by_value(q, 0);
  std::mutex by_value_mutex;
  PieceReader first(first_share), second(second_share);
  constexpr size_t kBlock = size_t{4} << 20;
  std::vector<uint8_t> a(kBlock), b(kBlock);
  for (uint64_t at = 0;;) {
    ASSIGN_OR_RETURN(const size_t got_a, first.Read(absl::MakeSpan(a)));
    ASSIGN_OR_RETURN(const size_t got_b, second.Read(absl::MakeSpan(b)));
    for (const auto& [got, name] : {std::pair{got_a, "first_share"}, std::pair{got_b, "second_share"}}) {
      if (at + got > total || (got < kBlock && at + got != total)) {
        return absl::InvalidArgumentError(absl::StrCat(name, " has ", at + got > total ? "more than " : "",
                                                       at + got > total ? total : at + got, " slots; expected ",
                                                       total, " (vector and two noise blocks)"));
      }
    }
    RETURN_IF_ERROR(sketch::CheckSlotsInRing(absl::MakeConstSpan(a.data(), got_a), at, q, "first_share"));
    RETURN_IF_ERROR(sketch::CheckSlotsInRing(absl::MakeConstSpan(b.data(), got_b), at, q, "second_share"));
    sketch::AddInRing(absl::MakeSpan(a.data(), got_a), absl::MakeConstSpan(b.data(), got_a), q);
    ParallelFor(got_a, threads, [&](size_t begin, size_t end) {
      std::vector<int64_t> local(4 * q, 0);
      size_t s = begin;
      for (; s + 4 <= end; s += 4) {
        ++local[a[s]];
        ++local[q + a[s + 1]];
        ++local[2 * q + a[s + 2]];
        ++local[3 * q + a[s + 3]];
      }
      for (; s < end; ++s) ++local[a[s]];
      std::lock_guard<std::mutex> lock(by_value_mutex);
      for (uint32_t v = 0; v < q; ++v) by_value[v] += local[v] + local[q + v] + local[2 * q + v] + local[3 * q + v];
    });
    at += got_a;
    if (got_a < kBlock) break;
  }
  // A share that ends exactly at a block's end still must not run on.
  for (PieceReader* reader : {&first, &second}) {
    uint8_t extra;
    ASSIGN_OR_RETURN(const size_t more, reader->Read(absl::MakeSpan(&extra, 1)));
    if (more > 0) {
      return absl::InvalidArgumentError(absl::StrCat(reader == &first ? "first_share" : "second_share",
                                                     " has more than ", total,
                                                     " slots; expected ", total, " (vector and two noise blocks)"));
    }
  }

  AggregationPhaseResponse response;
  for (uint32_t k = 1; k <= p.max_frequency(); ++k) {
    int64_t count = 0;
    if (k < p.max_frequency()) {
      count = by_value[k];
    } else {
      for (uint32_t v = k; v < q; ++v) count += by_value[v];
    }
    // Each worker appended shift + X registers of value k.
    response.add_frequency_histogram(count - static_cast<int64_t>(2 * noise.shift));
  }
  response.set_bucket_noise_variance(noise.bucket_variance);
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

absl::StatusOr<AggregationPhaseResponse> CompleteAggregationPhase(const AggregationPhaseRequest& request) {
  return StreamAggregationPhase(request, PiecesOf(request.first_share()), PiecesOf(request.second_share()));
}

namespace {

template <typename Request>
absl::StatusOr<Request> ParseStageRequest(absl::string_view bytes, Stage stage, absl::string_view name) {
  Request request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError(absl::StrCat(name, " request is not a valid message"));
  }
  if (request.stage() != stage || !request.GetReflection()->GetUnknownFields(request).empty()) {
    return absl::InvalidArgumentError(absl::StrCat("bytes are not a ", name, " request (stage ",
                                                   Stage_Name(request.stage()), ")"));
  }
  return request;
}

}  // namespace

absl::StatusOr<std::string> RunShufflePhase(absl::string_view request_bytes) {
  ASSIGN_OR_RETURN(ShufflePhaseRequest request,
                   ParseStageRequest<ShufflePhaseRequest>(request_bytes, SHUFFLE_PHASE, "shuffle phase"));
  ASSIGN_OR_RETURN(ShufflePhaseResponse response, CompleteShufflePhase(request));
  return response.SerializeAsString();
}

absl::StatusOr<std::string> RunAggregationPhase(absl::string_view request_bytes) {
  ASSIGN_OR_RETURN(AggregationPhaseRequest request,
                   ParseStageRequest<AggregationPhaseRequest>(request_bytes, AGGREGATION_PHASE,
                                                              "aggregation phase"));
  ASSIGN_OR_RETURN(AggregationPhaseResponse response, CompleteAggregationPhase(request));
  return response.SerializeAsString();
}

}  // namespace halo::protocol::hmss
