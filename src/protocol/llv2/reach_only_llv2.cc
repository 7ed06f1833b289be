#include "halo/protocol/reach_only_llv2.h"

#include <algorithm>
#include <functional>
#include <cmath>
#include <mutex>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "halo/common/cpu_timer.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/hash_to_curve.h"
#include "halo/crypto/random.h"
#include "halo/dp/calibration.h"
#include "halo/dp/limits.h"
#include "halo/stats/liquid_legions_estimator.h"
#include "register_vectors.h"

namespace halo::protocol::llv2 {
namespace {

using internal::CheckStage;
using internal::CheckWholeRecords;
using internal::DecodePublicKey;
using internal::DecodeSecretKey;
using internal::EncodeRecord;
using internal::NoiseSource;
using internal::SecurePermutation;
using internal::CountStreamedRecords;
using internal::TransformRecords;
using internal::TransformStreamedRecords;

using crypto::EcPoint;
using crypto::ElGamalCiphertext;

constexpr absl::string_view kIndexDst = "HALO-LLV2-V01-register-index";
constexpr absl::string_view kNoiseDst = "HALO-LLV2-V01-noise-index";
constexpr absl::string_view kPaddingDst = "HALO-LLV2-V01-padding-index";

struct ReachNoisePlan {
  uint64_t shift = 0;  // each duchy adds shift + X noise registers, X in [-shift, shift]
  std::unique_ptr<dp::IntegerNoise> share;
  double total_variance = 0;
  int duchies = 0;
};

absl::StatusOr<ReachNoisePlan> PlanReachNoise(const ReachNoiseParameters& p) {
  if (p.duchy_count() < 1) {
    return absl::InvalidArgumentError(absl::StrCat("noise.duchy_count must be >= 1, got ", p.duchy_count()));
  }
  ReachNoisePlan plan;
  plan.duchies = p.duchy_count();
  if (p.mechanism() == NONE) return plan;
  if (p.mechanism() != GEOMETRIC && p.mechanism() != DISCRETE_GAUSSIAN) {
    return absl::InvalidArgumentError("noise.mechanism is unspecified");
  }
  auto noise = dp::PlanCountNoise(
      p.mechanism() == GEOMETRIC ? dp::NoiseMechanism::kGeometric : dp::NoiseMechanism::kDiscreteGaussian,
      {.epsilon = p.epsilon(), .delta = p.delta()}, 1, p.duchy_count());
  if (!noise.ok()) return absl::InvalidArgumentError(absl::StrCat("noise: ", noise.status().message()));
  plan.share = std::move(noise->share);
  plan.shift = noise->shift;
  plan.total_variance = noise->total_variance;
  if (2 * plan.shift + 1 > static_cast<uint64_t>(dp::kMaxNoiseRecords)) {
    return absl::InvalidArgumentError(absl::StrCat("noise: these DP parameters would have each duchy add ",
                                                   2 * plan.shift + 1, " noise registers; at most ",
                                                   dp::kMaxNoiseRecords, " are allowed (raise epsilon or delta)"));
  }
  return plan;
}



}  // namespace

absl::StatusOr<int64_t> ReachNoiseRegisters(const ReachNoiseParameters& noise) {
  ASSIGN_OR_RETURN(ReachNoisePlan plan, PlanReachNoise(noise));
  return static_cast<int64_t>(2 * plan.shift + 1);
}

EcPoint IndexPoint(uint32_t index) {
  const char bytes[4] = {static_cast<char>(index >> 24), static_cast<char>(index >> 16),
                         static_cast<char>(index >> 8), static_cast<char>(index)};
  return *crypto::HashToCurve(absl::string_view(bytes, 4), kIndexDst);
}

absl::StatusOr<std::string> EncryptReachOnlySketch(const sketch::LiquidLegionsSketch& sketch,
                                                   const crypto::ElGamalPublicKey& combined_key,
                                                   int parallelism) {
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(parallelism));
  const auto registers = sketch.registers();
  std::string out(registers.size() * kBytesPerRegister, '\0');
  ParallelFor(registers.size(), threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const std::string c = EncodeRecord({combined_key.Encrypt(IndexPoint(registers[i].index))});
      std::copy(c.begin(), c.end(), out.begin() + i * kBytesPerRegister);
    }
  });
  return out;
}

absl::StatusOr<ReachOnlySetupPhaseResponse> CompleteReachOnlySetupPhase(
    const ReachOnlySetupPhaseRequest& request) {
  return CompleteReachOnlySetupPhase(request, StreamsOf(request.register_vectors()));
}

absl::StatusOr<ReachOnlySetupPhaseResponse> CompleteReachOnlySetupPhase(
    const ReachOnlySetupPhaseRequest& request, std::vector<RegisterVectorStream> register_vectors) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), REACH_ONLY_SETUP_PHASE));
  if (request.register_vectors_size() > 0 && static_cast<int>(register_vectors.size()) != request.register_vectors_size()) {
    return absl::InvalidArgumentError("register_vectors: given both in the request and as streams");
  }
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(crypto::ElGamalPublicKey combined,
                   DecodePublicKey(request.combined_public_key(), "combined_public_key"));
  ASSIGN_OR_RETURN(ReachNoisePlan noise, PlanReachNoise(request.noise()));
  ASSIGN_OR_RETURN(const size_t input_registers, CountStreamedRecords(register_vectors, kBytesPerRegister));

  // shift + X registers of fresh random indexes, then padding up to
  // 2 shift + 1 so every duchy adds the same number whatever X is; the
  // padding shares one index, so it always forms exactly one group.
  ASSIGN_OR_RETURN(auto random, NoiseSource(request.noise().replay_seed()));
  int64_t noise_count = 0;
  if (noise.share != nullptr) {
    ASSIGN_OR_RETURN(noise_count, dp::SampleTruncatedShifted(*noise.share, noise.shift, *random));
  }
  const size_t noise_registers = 2 * noise.shift + 1;
  const EcPoint padding = *crypto::HashToCurve("padding", kPaddingDst);

  // Inputs are checked and copied, noise encrypted, all to shuffled places.
  const size_t total = input_registers + noise_registers;
  const std::vector<uint32_t> destination = SecurePermutation(total);
  std::string output(total * kBytesPerRegister, '\0');
  RETURN_IF_ERROR(TransformStreamedRecords(register_vectors, 1, destination, output, kBytesPerRegister, threads,
                                           [](size_t, absl::Span<const ElGamalCiphertext> c) { return EncodeRecord(c); }));
  const size_t at = input_registers;
  ParallelFor(noise_registers, threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const EcPoint point = static_cast<int64_t>(i) < noise_count
                                ? *crypto::HashToCurve(crypto::SecureRandomBytes(32), kNoiseDst)
                                : padding;
      const std::string c = EncodeRecord({combined.Encrypt(point)});
      std::copy(c.begin(), c.end(), output.begin() + destination[at + i] * kBytesPerRegister);
    }
  });

  ReachOnlySetupPhaseResponse response;
  response.set_registers(std::move(output));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

absl::StatusOr<ReachOnlyExecutionPhaseResponse> CompleteReachOnlyExecutionPhase(
    const ReachOnlyExecutionPhaseRequest& request) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), REACH_ONLY_EXECUTION_PHASE));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, DecodeSecretKey(request.secret_key()));
  RETURN_IF_ERROR(CheckWholeRecords(request.registers(), kBytesPerRegister, "registers"));
  // (k u, k (e - x u)): this duchy's layer removed, its blinding added; each
  // register lands at a secret random place.
  const crypto::Scalar blinding = crypto::Scalar::Random();
  const crypto::Scalar neg_x = key.secret().Negate();
  const std::vector<uint32_t> destination = SecurePermutation(request.registers().size() / kBytesPerRegister);
  std::string output(request.registers().size(), '\0');
  RETURN_IF_ERROR(TransformRecords(
      request.registers(), 1, "registers", destination, output, kBytesPerRegister, threads,
      [&](size_t, absl::Span<const ElGamalCiphertext> c) {
        const EcPoint u = c[0].u.Mul(blinding);
        return ElGamalCiphertext{u, c[0].e.Mul(blinding).Add(u.Mul(neg_x))}.Encode(
            crypto::PointEncoding::kUncompressed);
      }));
  ReachOnlyExecutionPhaseResponse response;
  response.set_registers(std::move(output));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

absl::StatusOr<ReachOnlyAggregationResponse> CompleteReachOnlyExecutionPhaseAtAggregator(
    const ReachOnlyAggregationRequest& request) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), REACH_ONLY_EXECUTION_PHASE_AT_AGGREGATOR));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(sketch::LiquidLegionsParams params,
                   sketch::LiquidLegionsParams::Create(request.decay_rate(), request.sketch_size(), 0));
  ASSIGN_OR_RETURN(ReachNoisePlan noise, PlanReachNoise(request.noise()));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, DecodeSecretKey(request.secret_key()));
  RETURN_IF_ERROR(CheckWholeRecords(request.registers(), kBytesPerRegister, "registers"));
  // Decrypted blinded index points, compressed, in place of each register.
  const size_t n = request.registers().size() / kBytesPerRegister;
  std::vector<uint32_t> identity(n);
  for (size_t i = 0; i < n; ++i) identity[i] = static_cast<uint32_t>(i);
  std::string decrypted(n * crypto::kCompressedPointBytes, '\0');
  RETURN_IF_ERROR(TransformRecords(request.registers(), 1, "registers", identity, decrypted,
                                   crypto::kCompressedPointBytes, threads,
                                   [&](size_t, absl::Span<const ElGamalCiphertext> c) { return key.Decrypt(c[0]).Encode(); }));
  std::vector<absl::string_view> blinded_indexes(n);
  for (size_t i = 0; i < n; ++i) {
    blinded_indexes[i] = absl::string_view(decrypted).substr(i * crypto::kCompressedPointBytes,
                                                             crypto::kCompressedPointBytes);
  }
  const absl::flat_hash_set<absl::string_view> distinct(blinded_indexes.begin(), blinded_indexes.end());
  // Less the padding group and each duchy's noise offset.
  const int64_t noisy_active = static_cast<int64_t>(distinct.size()) - 1 -
                               static_cast<int64_t>(noise.duchies * noise.shift);
  ASSIGN_OR_RETURN(stats::Estimate reach,
                   stats::LiquidLegionsReach(params, {.active_registers = static_cast<double>(noisy_active),
                                                      .noise_variance = noise.total_variance,
                                                      .sampling_width = request.vid_sampling_width()}));
  ReachOnlyAggregationResponse response;
  response.set_reach(reach.value);
  response.set_reach_std_error(reach.std_error);
  response.set_noisy_active_registers(noisy_active);
  response.set_noise_variance(noise.total_variance);
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

}  // namespace halo::protocol::llv2
