#include "halo/protocol/hmss.h"

#include <openssl/sha.h>

#include <algorithm>
#include <mutex>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "halo/common/cpu_timer.h"
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
// Re-masks are drawn in chunks, each from its own derived seed, so that
// threads can draw them independently and both workers agree.
constexpr uint64_t kMaskChunk = 1 << 20;

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

absl::Status CheckValues(absl::string_view values, uint32_t modulus, absl::string_view what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (static_cast<uint8_t>(values[i]) >= modulus) {
      return absl::InvalidArgumentError(absl::StrCat(what, ": slot ", i, " holds ",
                                                     static_cast<int>(static_cast<uint8_t>(values[i])),
                                                     ", not below the ring modulus ", modulus));
    }
  }
  return absl::OkStatus();
}

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
// seed: each slot goes to one of 256 buckets by one keystream byte, then each
// bucket is shuffled (Fisher-Yates) by its own derived key. A uniformly
// random bucket assignment followed by uniform shuffles within buckets is a
// uniformly random permutation; buckets fit in cache and shuffle in
// parallel, and the result does not depend on the number of threads. The
// bucket bytes are streamed twice (count, then scatter) rather than stored,
// so the stage holds just the input and the output.
std::string CommonShuffle(const std::vector<uint8_t>& values, absl::string_view common_seed, int threads) {
  constexpr int kBuckets = 256;
  const std::string bucket_key = Subkey(common_seed, "shuffle buckets");
  auto for_each_bucket_byte = [&](const auto& visit) {
    crypto::SeededPrng prng = *crypto::SeededPrng::Create(bucket_key);
    uint8_t buffer[4096];
    for (size_t i = 0; i < values.size(); i += sizeof(buffer)) {
      const size_t n = std::min(sizeof(buffer), values.size() - i);
      prng.Fill(absl::MakeSpan(buffer, n));
      for (size_t j = 0; j < n; ++j) visit(i + j, buffer[j]);
    }
  };
  std::vector<uint64_t> start(kBuckets + 1, 0);
  for_each_bucket_byte([&](size_t, uint8_t b) { ++start[b + 1]; });
  for (int b = 0; b < kBuckets; ++b) start[b + 1] += start[b];
  std::vector<uint64_t> next(start.begin(), start.end() - 1);
  std::string shuffled(values.size(), '\0');
  for_each_bucket_byte([&](size_t i, uint8_t b) { shuffled[next[b]++] = static_cast<char>(values[i]); });
  ParallelFor(kBuckets, threads, [&](size_t begin, size_t end) {
    for (size_t b = begin; b < end; ++b) {
      crypto::SeededPrng prng = *crypto::SeededPrng::Create(Subkey(common_seed, absl::StrCat("shuffle bucket ", b)));
      char* bucket = shuffled.data() + start[b];
      for (uint64_t i = start[b + 1] - start[b]; i > 1; --i) std::swap(bucket[i - 1], bucket[prng.UniformBelow(i)]);
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

absl::StatusOr<ShufflePhaseResponse> CompleteShufflePhase(const ShufflePhaseRequest& request) {
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
  if (request.shares().empty()) return absl::InvalidArgumentError("no EDP shares");
  const uint32_t q = p.ring_modulus();
  if (uint64_t{static_cast<uint64_t>(request.shares_size())} * p.max_frequency() >= q) {
    return absl::InvalidArgumentError(absl::StrCat(
        request.shares_size(), " EDPs at max_frequency ", p.max_frequency(),
        " could sum past the ring modulus ", q, "; use a larger modulus or fewer EDPs"));
  }
  const uint64_t n = p.vector_size();
  for (int i = 0; i < request.shares_size(); ++i) {
    const FrequencyVectorShare& share = request.shares(i);
    if (share.has_data()) {
      if (share.data().size() != n) {
        return absl::InvalidArgumentError(absl::StrCat("share ", i, ": data has ", share.data().size(),
                                                       " slots; the vector has ", n));
      }
      RETURN_IF_ERROR(CheckValues(share.data(), q, absl::StrCat("share ", i)));
    } else if (share.has_seed()) {
      if (share.seed().size() != kSeedBytes) {
        return absl::InvalidArgumentError(absl::StrCat("share ", i, ": seed must be ", kSeedBytes,
                                                       " bytes, got ", share.seed().size()));
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat("share ", i, ": neither data nor seed"));
    }
  }
  ASSIGN_OR_RETURN(NoisePlan noise, PlanNoise(p));

  // Sum the shares: data shares in parallel over slot ranges, seed shares
  // streamed through a small buffer (their expansion is sequential), so no
  // share is ever held expanded in full. FIRST's noise block, then SECOND's,
  // follow the vector.
  const uint64_t total = n + 2 * noise.block_size;
  std::vector<uint8_t> combined(total, 0);
  for (const FrequencyVectorShare& share : request.shares()) {
    if (share.has_data()) {
      const auto* values = reinterpret_cast<const uint8_t*>(share.data().data());
      ParallelFor(n, threads, [&](size_t begin, size_t end) {
        for (size_t s = begin; s < end; ++s) combined[s] = static_cast<uint8_t>((combined[s] + values[s]) % q);
      });
      continue;
    }
    sketch::ShareSeedExpander expander = *sketch::ShareSeedExpander::Create(share.seed(), q);
    uint8_t buffer[4096];
    for (uint64_t s = 0; s < n; s += sizeof(buffer)) {
      const size_t take = std::min<uint64_t>(sizeof(buffer), n - s);
      expander.Next(absl::MakeSpan(buffer, take));
      for (size_t j = 0; j < take; ++j) combined[s + j] = static_cast<uint8_t>((combined[s + j] + buffer[j]) % q);
    }
  }
  if (noise.block_size > 0) {
    const WorkerOrder peer = request.order() == FIRST ? SECOND : FIRST;
    ASSIGN_OR_RETURN(std::vector<uint8_t> own, OwnNoiseShare(noise, p, request.common_seed(), request.order(), request.replay_seed()));
    const std::vector<uint8_t> peers = Expand(
        Subkey(request.common_seed(), absl::StrCat("noise ", OrderName(peer))), noise.block_size, q);
    const std::vector<uint8_t>& first_block = request.order() == FIRST ? own : peers;
    const std::vector<uint8_t>& second_block = request.order() == FIRST ? peers : own;
    std::copy(first_block.begin(), first_block.end(), combined.begin() + n);
    std::copy(second_block.begin(), second_block.end(), combined.begin() + n + noise.block_size);
  }

  // Permute and re-mask: FIRST adds the common mask, SECOND subtracts it.
  std::string shuffled = CommonShuffle(combined, request.common_seed(), threads);
  combined.clear();
  combined.shrink_to_fit();
  const uint64_t chunks = (total + kMaskChunk - 1) / kMaskChunk;
  const bool add_mask = request.order() == FIRST;
  ParallelFor(chunks, threads, [&](size_t begin, size_t end) {
    for (size_t c = begin; c < end; ++c) {
      const uint64_t from = c * kMaskChunk;
      const uint64_t to = std::min(total, from + kMaskChunk);
      const std::vector<uint8_t> mask =
          Expand(Subkey(request.common_seed(), absl::StrCat("mask ", c)), to - from, q);
      for (uint64_t s = from; s < to; ++s) {
        const uint32_t m = add_mask ? mask[s - from] : q - mask[s - from];
        shuffled[s] = static_cast<char>((static_cast<uint8_t>(shuffled[s]) + m) % q);
      }
    }
  });

  ShufflePhaseResponse response;
  response.set_shuffled_share(std::move(shuffled));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

absl::StatusOr<AggregationPhaseResponse> CompleteAggregationPhase(const AggregationPhaseRequest& request) {
  const CpuTimer cpu;
  const HmssParameters& p = request.parameters();
  RETURN_IF_ERROR(CheckParameters(p));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(NoisePlan noise, PlanNoise(p));
  const uint64_t total = p.vector_size() + 2 * noise.block_size;
  const uint32_t q = p.ring_modulus();
  for (const auto& [share, name] : {std::pair{&request.first_share(), "first_share"},
                                    std::pair{&request.second_share(), "second_share"}}) {
    if (share->size() != total) {
      return absl::InvalidArgumentError(absl::StrCat(name, " has ", share->size(),
                                                     " slots; expected ", total,
                                                     " (vector and two noise blocks)"));
    }
    RETURN_IF_ERROR(CheckValues(*share, q, name));
  }

  // Histogram of the combined values: each range counts locally, then adds
  // its counts in.
  std::vector<int64_t> by_value(q, 0);
  std::mutex by_value_mutex;
  const auto* a = reinterpret_cast<const uint8_t*>(request.first_share().data());
  const auto* b = reinterpret_cast<const uint8_t*>(request.second_share().data());
  ParallelFor(total, threads, [&](size_t begin, size_t end) {
    std::vector<int64_t> local(q, 0);
    for (size_t s = begin; s < end; ++s) ++local[(a[s] + b[s]) % q];
    std::lock_guard<std::mutex> lock(by_value_mutex);
    for (uint32_t v = 0; v < q; ++v) by_value[v] += local[v];
  });

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
