#include "halo/protocol/llv2.h"

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "halo/common/cpu_timer.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/hash_to_curve.h"
#include "halo/crypto/random.h"
#include "halo/dp/calibration.h"
#include "halo/dp/limits.h"
#include "halo/stats/liquid_legions_estimator.h"
#include "halo/protocol/reach_only_llv2.h"
#include "register_vectors.h"

namespace halo::protocol::llv2 {
namespace {

using crypto::EcPoint;
using crypto::ElGamalCiphertext;
using internal::CheckStage;
using internal::CheckWholeRecords;
using internal::kBytesPerCiphertext;
using internal::DecodePublicKey;
using internal::DecodeSecretKey;
using internal::EncodeRecord;
using internal::RemoveLayerEncoded;
using internal::NoiseSource;
using internal::SecurePermutation;
using internal::CountStreamedRecords;
using internal::TransformRecords;
using internal::TransformStreamedRecords;

constexpr absl::string_view kKeyDst = "HALO-LLV2-V01-register-key";
constexpr absl::string_view kCountUnitDst = "HALO-LLV2-V01-count-unit";
constexpr absl::string_view kConstantDst = "HALO-LLV2-V01-constant";

}  // namespace

EcPoint KeyPoint(uint64_t fingerprint) {
  char bytes[8];
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(fingerprint >> (56 - 8 * i));
  return *crypto::HashToCurve(absl::string_view(bytes, 8), kKeyDst);
}

const EcPoint& CountUnit() {
  static const EcPoint unit = *crypto::HashToCurve("count unit", kCountUnitDst);
  return unit;
}

const EcPoint& DestroyedKey() {
  static const EcPoint destroyed = *crypto::HashToCurve("destroyed register key", kConstantDst);
  return destroyed;
}

const EcPoint& BlindedHistogramKey() {
  static const EcPoint key = *crypto::HashToCurve("blinded histogram noise register key", kConstantDst);
  return key;
}

const EcPoint& PublisherNoiseIndex() {
  static const EcPoint index = *crypto::HashToCurve("publisher noise register index", kConstantDst);
  return index;
}

const EcPoint& PaddingIndex() {
  static const EcPoint index = *crypto::HashToCurve("padding register index", kConstantDst);
  return index;
}

namespace {

struct SetupNoisePlan {
  SetupNoiseBounds bounds;
  std::optional<dp::CountNoise> blinded_histogram, publisher, global_reach;
};

absl::StatusOr<SetupNoisePlan> PlanSetupNoise(const RegisterNoiseParameters& p) {
  if (p.duchy_count() < 1) {
    return absl::InvalidArgumentError(absl::StrCat("noise.duchy_count must be >= 1, got ", p.duchy_count()));
  }
  if (p.total_sketches_count() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("noise.total_sketches_count must be >= 1, got ", p.total_sketches_count()));
  }
  SetupNoisePlan plan;
  if (p.mechanism() == NONE) return plan;
  if (p.mechanism() != GEOMETRIC && p.mechanism() != DISCRETE_GAUSSIAN) {
    return absl::InvalidArgumentError("noise.mechanism is unspecified");
  }
  const dp::NoiseMechanism mechanism =
      p.mechanism() == GEOMETRIC ? dp::NoiseMechanism::kGeometric : dp::NoiseMechanism::kDiscreteGaussian;
  auto plan_one = [&](const DpParams& dp_params, absl::string_view field) -> absl::StatusOr<dp::CountNoise> {
    auto noise = dp::PlanCountNoise(mechanism, {.epsilon = dp_params.epsilon(), .delta = dp_params.delta()}, 1,
                                    p.duchy_count());
    if (!noise.ok()) return absl::InvalidArgumentError(absl::StrCat("noise.", field, ": ", noise.status().message()));
    return noise;
  };
  ASSIGN_OR_RETURN(plan.blinded_histogram, plan_one(p.blinded_histogram(), "blinded_histogram"));
  ASSIGN_OR_RETURN(plan.publisher, plan_one(p.publisher_noise(), "publisher_noise"));
  ASSIGN_OR_RETURN(plan.global_reach, plan_one(p.global_reach(), "global_reach"));
  const int64_t t = p.total_sketches_count();
  plan.bounds.blinded_histogram_shift = plan.blinded_histogram->shift;
  plan.bounds.publisher_shift = plan.publisher->shift;
  plan.bounds.global_reach_shift = plan.global_reach->shift;
  // Groups of size k at most 2 shift each: sum_k k 2 shift = shift t (t+1).
  // The publisher-noise and padding registers each share one index, and the
  // aggregator drops a group only when it has more than t registers; so each
  // is at least t + 1 (see DrawSetupNoise), which the last term leaves room
  // for.
  plan.bounds.total_registers = plan.blinded_histogram->shift * t * (t + 1) + 2 * plan.publisher->shift +
                                2 * plan.global_reach->shift + (t + 1);
  plan.bounds.global_reach_variance = plan.global_reach->total_variance;
  if (plan.bounds.total_registers > dp::kMaxNoiseRecords) {
    return absl::InvalidArgumentError(absl::StrCat(
        "noise: these DP parameters would have each duchy add ", plan.bounds.total_registers,
        " noise registers; at most ", dp::kMaxNoiseRecords, " are allowed (raise epsilon or delta)"));
  }
  return plan;
}

// A register (index, key, count) of noise, as points to encrypt.
struct NoiseRegister {
  EcPoint index, key, count;
};

EcPoint FreshIndex() { return *crypto::HashToCurve(crypto::SecureRandomBytes(32), "HALO-LLV2-V01-noise-index"); }
EcPoint RandomPoint() { return EcPoint::MulGenerator(crypto::Scalar::Random()); }

absl::StatusOr<std::vector<NoiseRegister>> DrawSetupNoise(const SetupNoisePlan& plan, int64_t total_sketches,
                                                         absl::string_view replay_seed) {
  std::vector<NoiseRegister> noise;
  if (!plan.blinded_histogram) return noise;
  ASSIGN_OR_RETURN(auto random, NoiseSource(replay_seed));
  for (int64_t k = 1; k <= total_sketches; ++k) {
    ASSIGN_OR_RETURN(int64_t groups, dp::SampleTruncatedShifted(*plan.blinded_histogram->share,
                                                                plan.blinded_histogram->shift, *random));
    for (int64_t g = 0; g < groups; ++g) {
      const EcPoint index = FreshIndex();
      for (int64_t j = 0; j < k; ++j) noise.push_back({index, BlindedHistogramKey(), BlindedHistogramKey()});
    }
  }
  ASSIGN_OR_RETURN(int64_t publisher, dp::SampleTruncatedShifted(*plan.publisher->share, plan.publisher->shift, *random));
  // A draw this low lies ~20 standard deviations below the shift, so raising
  // it changes the distribution by a negligible amount; a group of t or fewer
  // would otherwise reach the aggregator as one more active register.
  publisher = std::max(publisher, total_sketches + 1);
  for (int64_t i = 0; i < publisher; ++i) {
    const EcPoint key = RandomPoint();
    noise.push_back({PublisherNoiseIndex(), key, key});
  }
  ASSIGN_OR_RETURN(int64_t reach, dp::SampleTruncatedShifted(*plan.global_reach->share, plan.global_reach->shift, *random));
  for (int64_t i = 0; i < reach; ++i) noise.push_back({FreshIndex(), DestroyedKey(), DestroyedKey()});
  while (static_cast<int64_t>(noise.size()) < plan.bounds.total_registers) {
    const EcPoint key = RandomPoint();
    noise.push_back({PaddingIndex(), key, key});
  }
  return noise;
}

}  // namespace

absl::StatusOr<SetupNoiseBounds> SetupNoise(const RegisterNoiseParameters& noise) {
  ASSIGN_OR_RETURN(SetupNoisePlan plan, PlanSetupNoise(noise));
  return plan.bounds;
}

absl::StatusOr<SetupPhaseResponse> CompleteSetupPhase(const SetupPhaseRequest& request) {
  return CompleteSetupPhase(request, StreamsOf(request.register_vectors()));
}

absl::StatusOr<SetupPhaseResponse> CompleteSetupPhase(const SetupPhaseRequest& request,
                                                      std::vector<RegisterVectorStream> register_vectors) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), SETUP_PHASE));
  if (request.register_vectors_size() > 0 && static_cast<int>(register_vectors.size()) != request.register_vectors_size()) {
    return absl::InvalidArgumentError("register_vectors: given both in the request and as streams");
  }
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(crypto::ElGamalPublicKey combined,
                   DecodePublicKey(request.combined_public_key(), "combined_public_key"));
  ASSIGN_OR_RETURN(SetupNoisePlan plan, PlanSetupNoise(request.noise()));
  ASSIGN_OR_RETURN(const size_t input_registers, CountStreamedRecords(register_vectors, kBytesPerFullRegister));
  ASSIGN_OR_RETURN(std::vector<NoiseRegister> noise, DrawSetupNoise(plan, request.noise().total_sketches_count(), request.noise().replay_seed()));

  const size_t total = input_registers + noise.size();
  const std::vector<uint32_t> destination = SecurePermutation(total);
  std::string output(total * kBytesPerFullRegister, '\0');
  RETURN_IF_ERROR(TransformStreamedRecords(register_vectors, kCiphertextsPerRegister, destination, output,
                                           kBytesPerFullRegister, threads,
                                           [](size_t, absl::Span<const ElGamalCiphertext> r) { return EncodeRecord(r); }));
  const size_t at = input_registers;
  ParallelFor(noise.size(), threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const std::string record = EncodeRecord(
          {combined.Encrypt(noise[i].index), combined.Encrypt(noise[i].key), combined.Encrypt(noise[i].count)});
      std::copy(record.begin(), record.end(), output.begin() + destination[at + i] * kBytesPerFullRegister);
    }
  });
  SetupPhaseResponse response;
  response.set_registers(std::move(output));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

absl::StatusOr<std::string> EncryptSketch(const sketch::LiquidLegionsSketch& sketch,
                                          const crypto::ElGamalPublicKey& combined_key, int parallelism) {
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(parallelism));
  const auto registers = sketch.registers();
  std::string out(registers.size() * kBytesPerFullRegister, '\0');
  ParallelFor(registers.size(), threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const sketch::Register& r = registers[i];
      const EcPoint key = r.destroyed ? DestroyedKey() : KeyPoint(r.key);
      const EcPoint count = r.destroyed ? DestroyedKey() : CountUnit().Mul(crypto::Scalar::FromUint64(r.count));
      const std::string record = EncodeRecord(
          {combined_key.Encrypt(IndexPoint(r.index)), combined_key.Encrypt(key), combined_key.Encrypt(count)});
      std::copy(record.begin(), record.end(), out.begin() + i * kBytesPerFullRegister);
    }
  });
  return out;
}

absl::StatusOr<InitializationPhaseResponse> CompleteInitializationPhase(const InitializationPhaseRequest&) {
  const CpuTimer cpu;
  const crypto::ElGamalKeyPair key = crypto::ElGamalKeyPair::Generate();
  InitializationPhaseResponse response;
  response.set_public_key(key.public_key().Encode());
  response.set_secret_key(key.secret().ToBytes());
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

absl::StatusOr<ExecutionPhaseOneResponse> CompleteExecutionPhaseOne(const ExecutionPhaseOneRequest& request) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), EXECUTION_PHASE_ONE));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, DecodeSecretKey(request.secret_key()));
  ASSIGN_OR_RETURN(crypto::ElGamalPublicKey combined,
                   DecodePublicKey(request.combined_public_key(), "combined_public_key"));
  RETURN_IF_ERROR(CheckWholeRecords(request.registers(), kBytesPerFullRegister, "registers"));
  const crypto::Scalar blinding = crypto::Scalar::Random();
  const crypto::Scalar neg_x = key.secret().Negate();
  const std::vector<uint32_t> destination = SecurePermutation(request.registers().size() / kBytesPerFullRegister);
  std::string output(request.registers().size(), '\0');
  RETURN_IF_ERROR(TransformRecords(
      request.registers(), kCiphertextsPerRegister, "registers", destination, output, kBytesPerFullRegister,
      threads, [&](size_t, absl::Span<const ElGamalCiphertext> r) {
        const EcPoint u = r[0].u.Mul(blinding);
        return EncodeRecord({ElGamalCiphertext{u, r[0].e.Mul(blinding).Add(u.Mul(neg_x))},
                             combined.ReRandomize(r[1]), combined.ReRandomize(r[2])});
      }));
  ExecutionPhaseOneResponse response;
  response.set_registers(std::move(output));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

namespace {

ElGamalCiphertext NegateCiphertext(const ElGamalCiphertext& c) { return {c.u.Negate(), c.e.Negate()}; }

// Same-key aggregation of one group of registers (see the header).
std::string FlagCountTuple(absl::Span<const ElGamalCiphertext> keys, absl::Span<const ElGamalCiphertext> counts,
                           const crypto::ElGamalPublicKey& combined, const ElGamalCiphertext& destroyed,
                           const ElGamalCiphertext& blinded_histogram) {
  const ElGamalCiphertext minus_k0 = NegateCiphertext(keys[0]);
  ElGamalCiphertext flag_a = combined.Encrypt(EcPoint::Identity());
  ElGamalCiphertext total = counts[0];
  for (size_t i = 1; i < keys.size(); ++i) {
    flag_a = crypto::AddCiphertexts(flag_a, crypto::Blind(crypto::AddCiphertexts(keys[i], minus_k0),
                                                          crypto::Scalar::Random()));
    total = crypto::AddCiphertexts(total, counts[i]);
  }
  const ElGamalCiphertext count = crypto::AddCiphertexts(total, crypto::Blind(flag_a, crypto::Scalar::Random()));
  const ElGamalCiphertext a_minus_k0 = crypto::AddCiphertexts(flag_a, minus_k0);
  const ElGamalCiphertext flag_b =
      crypto::Blind(crypto::AddCiphertexts(destroyed, a_minus_k0), crypto::Scalar::Random());
  const ElGamalCiphertext flag_c =
      crypto::Blind(crypto::AddCiphertexts(blinded_histogram, a_minus_k0), crypto::Scalar::Random());
  return EncodeRecord({flag_a, flag_b, flag_c, count});
}

}  // namespace

absl::StatusOr<ExecutionPhaseOneAtAggregatorResponse> CompleteExecutionPhaseOneAtAggregator(
    const ExecutionPhaseOneAtAggregatorRequest& request) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), EXECUTION_PHASE_ONE_AT_AGGREGATOR));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, DecodeSecretKey(request.secret_key()));
  ASSIGN_OR_RETURN(crypto::ElGamalPublicKey combined,
                   DecodePublicKey(request.combined_public_key(), "combined_public_key"));
  if (request.total_sketches_count() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("total_sketches_count must be >= 1, got ", request.total_sketches_count()));
  }
  RETURN_IF_ERROR(CheckWholeRecords(request.registers(), kBytesPerFullRegister, "registers"));
  const size_t n = request.registers().size() / kBytesPerFullRegister;

  // Decrypt every index to its blinded point, compressed, into one buffer.
  // Keys and counts stay as bytes until their group is aggregated, so the
  // stage holds the input, 33 bytes a register and its output.
  std::vector<uint32_t> identity(n);
  for (size_t i = 0; i < n; ++i) identity[i] = static_cast<uint32_t>(i);
  std::string blinded(n * crypto::kCompressedPointBytes, '\0');
  RETURN_IF_ERROR(TransformRecords(request.registers(), kCiphertextsPerRegister, "registers", identity, blinded,
                                   crypto::kCompressedPointBytes, threads,
                                   [&](size_t, absl::Span<const ElGamalCiphertext> r) {
                                     return key.Decrypt(r[0]).Encode();
                                   }));
  auto blinded_index = [&](uint32_t i) {
    return absl::string_view(blinded).substr(i * crypto::kCompressedPointBytes, crypto::kCompressedPointBytes);
  };

  // Group by blinded index.
  std::vector<uint32_t> order(n);
  for (size_t i = 0; i < n; ++i) order[i] = static_cast<uint32_t>(i);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return blinded_index(a) < blinded_index(b); });
  std::vector<std::pair<size_t, size_t>> groups;  // [begin, end) in `order`
  for (size_t begin = 0; begin < n;) {
    size_t end = begin + 1;
    while (end < n && blinded_index(order[end]) == blinded_index(order[begin])) ++end;
    if (end - begin <= static_cast<size_t>(request.total_sketches_count())) groups.emplace_back(begin, end);
    begin = end;
  }
  // Records were all checked above, so these decodes cannot fail.
  auto ciphertext_of = [&](uint32_t record, int which) {
    return *ElGamalCiphertext::Decode(absl::string_view(request.registers())
                                          .substr(record * kBytesPerFullRegister + which * kBytesPerCiphertext,
                                                  kBytesPerCiphertext));
  };

  const ElGamalCiphertext destroyed = combined.Encrypt(DestroyedKey());
  const ElGamalCiphertext blinded_histogram = combined.Encrypt(BlindedHistogramKey());
  std::string tuples(groups.size() * kBytesPerFlagCountTuple, '\0');
  ParallelFor(groups.size(), threads, [&](size_t begin, size_t end) {
    std::vector<ElGamalCiphertext> keys, counts;
    for (size_t g = begin; g < end; ++g) {
      keys.clear();
      counts.clear();
      for (size_t j = groups[g].first; j < groups[g].second; ++j) {
        keys.push_back(ciphertext_of(order[j], 1));
        counts.push_back(ciphertext_of(order[j], 2));
      }
      const std::string tuple = FlagCountTuple(keys, counts, combined, destroyed, blinded_histogram);
      std::copy(tuple.begin(), tuple.end(), tuples.begin() + g * kBytesPerFlagCountTuple);
    }
  });
  ExecutionPhaseOneAtAggregatorResponse response;
  response.set_flag_count_tuples(std::move(tuples));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

namespace {

struct FlagCountNoisePlan {
  FlagCountNoiseBounds bounds;
  std::optional<dp::CountNoise> frequency;
};

absl::StatusOr<FlagCountNoisePlan> PlanFlagCountNoise(const FlagCountNoiseParameters& p) {
  if (p.maximum_frequency() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("noise.maximum_frequency must be >= 2, got ", p.maximum_frequency()));
  }
  if (p.maximum_frequency() > dp::kMaxFrequency) {
    return absl::InvalidArgumentError(absl::StrCat("noise.maximum_frequency must be at most ", dp::kMaxFrequency,
                                                   ", got ", p.maximum_frequency()));
  }
  if (p.non_aggregator_count() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("noise.non_aggregator_count must be >= 1, got ", p.non_aggregator_count()));
  }
  FlagCountNoisePlan plan;
  if (p.mechanism() == NONE) return plan;
  if (p.mechanism() != GEOMETRIC && p.mechanism() != DISCRETE_GAUSSIAN) {
    return absl::InvalidArgumentError("noise.mechanism is unspecified");
  }
  auto frequency = dp::PlanCountNoise(
      p.mechanism() == GEOMETRIC ? dp::NoiseMechanism::kGeometric : dp::NoiseMechanism::kDiscreteGaussian,
      {.epsilon = p.frequency().epsilon(), .delta = p.frequency().delta()}, 1, p.non_aggregator_count());
  if (!frequency.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("noise.frequency: ", frequency.status().message()));
  }
  plan.frequency = *std::move(frequency);
  plan.bounds.frequency_shift = plan.frequency->shift;
  // Frequency noise for each f, destroyed noise, then padding: 2 shift each.
  plan.bounds.tuples_per_duchy = plan.frequency->shift * 2 * (p.maximum_frequency() + 1);
  plan.bounds.bucket_variance = plan.frequency->total_variance;
  if (plan.bounds.tuples_per_duchy > dp::kMaxNoiseRecords) {
    return absl::InvalidArgumentError(absl::StrCat("noise.frequency: these DP parameters would have each duchy add ",
                                                   plan.bounds.tuples_per_duchy, " noise tuples; at most ",
                                                   dp::kMaxNoiseRecords, " are allowed (raise epsilon or delta)"));
  }
  return plan;
}

// (u, e - M): the ciphertext of the plaintext less a known point.
ElGamalCiphertext SubtractPlaintext(const ElGamalCiphertext& c, const EcPoint& m) { return {c.u, c.e.Sub(m)}; }

absl::Status CheckCiphertexts(absl::string_view bytes, size_t per_record, absl::string_view what) {
  return CheckWholeRecords(bytes, per_record * kBytesPerCiphertext, what);
}

}  // namespace

absl::StatusOr<FlagCountNoiseBounds> FlagCountNoise(const FlagCountNoiseParameters& noise) {
  ASSIGN_OR_RETURN(FlagCountNoisePlan plan, PlanFlagCountNoise(noise));
  return plan.bounds;
}

absl::StatusOr<ExecutionPhaseTwoResponse> CompleteExecutionPhaseTwo(const ExecutionPhaseTwoRequest& request) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), EXECUTION_PHASE_TWO));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, DecodeSecretKey(request.secret_key()));
  ASSIGN_OR_RETURN(crypto::ElGamalPublicKey combined,
                   DecodePublicKey(request.combined_public_key(), "combined_public_key"));
  ASSIGN_OR_RETURN(crypto::ElGamalPublicKey partial,
                   DecodePublicKey(request.partial_composite_public_key(), "partial_composite_public_key"));
  ASSIGN_OR_RETURN(FlagCountNoisePlan plan, PlanFlagCountNoise(request.noise()));
  RETURN_IF_ERROR(CheckCiphertexts(request.flag_count_tuples(), 4, "flag_count_tuples"));
  const size_t n = request.flag_count_tuples().size() / kBytesPerFlagCountTuple;

  // Noise tuples: (flag_a, flag_b, flag_c) under the partial key, count under
  // the combined key; identity flags are zeros, random points are "R".
  struct NoiseTuple {
    bool a_zero, b_zero, c_zero;
    std::optional<int> frequency;  // count f U, or a random count
  };
  std::vector<NoiseTuple> noise;
  if (plan.frequency) {
    ASSIGN_OR_RETURN(auto random, NoiseSource(request.noise().replay_seed()));
    for (int f = 1; f <= request.noise().maximum_frequency(); ++f) {
      ASSIGN_OR_RETURN(int64_t count, dp::SampleTruncatedShifted(*plan.frequency->share, plan.frequency->shift, *random));
      for (int64_t i = 0; i < count; ++i) noise.push_back({true, false, false, f});
    }
    ASSIGN_OR_RETURN(int64_t destroyed, dp::SampleTruncatedShifted(*plan.frequency->share, plan.frequency->shift, *random));
    for (int64_t i = 0; i < destroyed; ++i) noise.push_back({false, false, false, std::nullopt});
    while (static_cast<int64_t>(noise.size()) < plan.bounds.tuples_per_duchy) noise.push_back({true, true, false, std::nullopt});
  }

  const std::vector<uint32_t> destination = SecurePermutation(n + noise.size());
  std::string output((n + noise.size()) * kBytesPerFlagCountTuple, '\0');
  RETURN_IF_ERROR(TransformRecords(request.flag_count_tuples(), 4, "flag_count_tuples", destination, output,
                                   kBytesPerFlagCountTuple, threads,
                                   [&](size_t i, absl::Span<const ElGamalCiphertext> t) {
                                     const absl::string_view in = absl::string_view(request.flag_count_tuples())
                                                                      .substr(i * kBytesPerFlagCountTuple,
                                                                              kBytesPerFlagCountTuple);
                                     std::string out;
                                     for (int flag = 0; flag < 3; ++flag) {
                                       out += RemoveLayerEncoded(key, t[flag],
                                                                 in.substr(flag * kBytesPerCiphertext));
                                     }
                                     return out + EncodeRecord({combined.ReRandomize(t[3])});
                                   }));
  ParallelFor(noise.size(), threads, [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      const NoiseTuple& t = noise[i];
      auto flag = [&](bool zero) { return partial.Encrypt(zero ? EcPoint::Identity() : RandomPoint()); };
      const EcPoint count = t.frequency ? CountUnit().Mul(crypto::Scalar::FromUint64(*t.frequency)) : RandomPoint();
      const std::string record = EncodeRecord({flag(t.a_zero), flag(t.b_zero), flag(t.c_zero), combined.Encrypt(count)});
      std::copy(record.begin(), record.end(), output.begin() + destination[n + i] * kBytesPerFlagCountTuple);
    }
  });
  ExecutionPhaseTwoResponse response;
  response.set_flag_count_tuples(std::move(output));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

absl::StatusOr<ExecutionPhaseTwoAtAggregatorResponse> CompleteExecutionPhaseTwoAtAggregator(
    const ExecutionPhaseTwoAtAggregatorRequest& request) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), EXECUTION_PHASE_TWO_AT_AGGREGATOR));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, DecodeSecretKey(request.secret_key()));
  ASSIGN_OR_RETURN(sketch::LiquidLegionsParams params,
                   sketch::LiquidLegionsParams::Create(request.decay_rate(), request.sketch_size(), 0));
  ASSIGN_OR_RETURN(SetupNoisePlan setup, PlanSetupNoise(request.register_noise()));
  ASSIGN_OR_RETURN(FlagCountNoisePlan flag_count, PlanFlagCountNoise(request.flag_count_noise()));
  RETURN_IF_ERROR(CheckCiphertexts(request.flag_count_tuples(), 4, "flag_count_tuples"));
  const size_t n = request.flag_count_tuples().size() / kBytesPerFlagCountTuple;
  const int max_frequency = request.flag_count_noise().maximum_frequency();

  // Classify every tuple by its decrypted flags; keep the counts of the
  // clean ones.
  enum class Kind : uint8_t { kBlindedHistogram, kClean, kOther };
  std::vector<Kind> kinds(n);
  std::vector<uint32_t> identity(n);
  for (size_t i = 0; i < n; ++i) identity[i] = static_cast<uint32_t>(i);
  std::string no_output;
  RETURN_IF_ERROR(TransformRecords(request.flag_count_tuples(), 4, "flag_count_tuples", identity, no_output, 0,
                                   threads, [&](size_t i, absl::Span<const ElGamalCiphertext> t) {
                                     const bool a = key.Decrypt(t[0]).IsIdentity();
                                     const bool b = key.Decrypt(t[1]).IsIdentity();
                                     const bool c = key.Decrypt(t[2]).IsIdentity();
                                     kinds[i] = a && c ? Kind::kBlindedHistogram
                                                       : (a && !b && !c ? Kind::kClean : Kind::kOther);
                                     return std::string();
                                   }));
  int64_t blinded_histogram = 0;
  std::vector<size_t> clean;
  for (size_t i = 0; i < n; ++i) {
    if (kinds[i] == Kind::kBlindedHistogram) ++blinded_histogram;
    if (kinds[i] == Kind::kClean) clean.push_back(i);
  }
  const int64_t duchies = request.register_noise().duchy_count();
  const int64_t noisy_active = static_cast<int64_t>(n) - blinded_histogram -
                               request.flag_count_noise().non_aggregator_count() * flag_count.bounds.tuples_per_duchy -
                               duchies * setup.bounds.global_reach_shift;
  ASSIGN_OR_RETURN(stats::Estimate reach,
                   stats::LiquidLegionsReach(params, {.active_registers = static_cast<double>(noisy_active),
                                                      .noise_variance = setup.bounds.global_reach_variance,
                                                      .sampling_width = request.vid_sampling_width()}));

  // The same-key-aggregator matrix: E(r_v (count - v U)), v = 1 .. max - 1,
  // with the points v U computed once.
  std::vector<EcPoint> multiples_of_unit;
  for (int v = 1; v < max_frequency; ++v) multiples_of_unit.push_back(CountUnit().Mul(crypto::Scalar::FromUint64(v)));
  const size_t row_bytes = (max_frequency - 1) * kBytesPerCiphertext;
  std::string matrix(clean.size() * row_bytes, '\0');
  ParallelFor(clean.size(), threads, [&](size_t begin, size_t end) {
    std::vector<ElGamalCiphertext> row;
    for (size_t j = begin; j < end; ++j) {
      row.clear();
      // Checked above; the count is the tuple's fourth ciphertext.
      const ElGamalCiphertext count = *ElGamalCiphertext::Decode(absl::string_view(request.flag_count_tuples())
                                                                     .substr(clean[j] * kBytesPerFlagCountTuple +
                                                                                 3 * kBytesPerCiphertext,
                                                                             kBytesPerCiphertext));
      for (const EcPoint& v_unit : multiples_of_unit) {
        row.push_back(crypto::Blind(SubtractPlaintext(count, v_unit), crypto::Scalar::Random()));
      }
      const std::string bytes = EncodeRecord(row);
      std::copy(bytes.begin(), bytes.end(), matrix.begin() + j * row_bytes);
    }
  });
  ExecutionPhaseTwoAtAggregatorResponse response;
  response.set_reach(reach.value);
  response.set_reach_std_error(reach.std_error);
  response.set_noisy_active_registers(noisy_active);
  response.set_same_key_aggregator_matrix(std::move(matrix));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

absl::StatusOr<ExecutionPhaseThreeResponse> CompleteExecutionPhaseThree(const ExecutionPhaseThreeRequest& request) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), EXECUTION_PHASE_THREE));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, DecodeSecretKey(request.secret_key()));
  if (request.maximum_frequency() < 2 || request.maximum_frequency() > dp::kMaxFrequency) {
    return absl::InvalidArgumentError(absl::StrCat("maximum_frequency must be 2 to ", dp::kMaxFrequency, ", got ",
                                                   request.maximum_frequency()));
  }
  const size_t per_row = request.maximum_frequency() - 1;
  RETURN_IF_ERROR(CheckCiphertexts(request.same_key_aggregator_matrix(), per_row, "same_key_aggregator_matrix"));
  const size_t rows = request.same_key_aggregator_matrix().size() / (per_row * kBytesPerCiphertext);
  std::vector<uint32_t> identity(rows);
  for (size_t i = 0; i < rows; ++i) identity[i] = static_cast<uint32_t>(i);
  std::string output(request.same_key_aggregator_matrix().size(), '\0');
  RETURN_IF_ERROR(TransformRecords(request.same_key_aggregator_matrix(), per_row, "same_key_aggregator_matrix",
                                   identity, output, per_row * kBytesPerCiphertext, threads,
                                   [&](size_t i, absl::Span<const ElGamalCiphertext> row) {
                                     const size_t row_bytes = per_row * kBytesPerCiphertext;
                                     const absl::string_view in =
                                         absl::string_view(request.same_key_aggregator_matrix())
                                             .substr(i * row_bytes, row_bytes);
                                     std::string out;
                                     out.reserve(row_bytes);
                                     for (size_t c = 0; c < row.size(); ++c) {
                                       out += RemoveLayerEncoded(key, row[c], in.substr(c * kBytesPerCiphertext));
                                     }
                                     return out;
                                   }));
  ExecutionPhaseThreeResponse response;
  response.set_same_key_aggregator_matrix(std::move(output));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

absl::StatusOr<ExecutionPhaseThreeAtAggregatorResponse> CompleteExecutionPhaseThreeAtAggregator(
    const ExecutionPhaseThreeAtAggregatorRequest& request) {
  const CpuTimer cpu;
  RETURN_IF_ERROR(CheckStage(request.stage(), EXECUTION_PHASE_THREE_AT_AGGREGATOR));
  ASSIGN_OR_RETURN(int threads, ThreadsForParallelism(request.parallelism()));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, DecodeSecretKey(request.secret_key()));
  ASSIGN_OR_RETURN(FlagCountNoisePlan plan, PlanFlagCountNoise(request.flag_count_noise()));
  const int max_frequency = request.flag_count_noise().maximum_frequency();
  const size_t per_row = max_frequency - 1;
  RETURN_IF_ERROR(CheckCiphertexts(request.same_key_aggregator_matrix(), per_row, "same_key_aggregator_matrix"));
  const size_t rows = request.same_key_aggregator_matrix().size() / (per_row * kBytesPerCiphertext);
  std::vector<int> frequency(rows, max_frequency);
  std::vector<uint32_t> identity(rows);
  for (size_t i = 0; i < rows; ++i) identity[i] = static_cast<uint32_t>(i);
  std::string no_output;
  RETURN_IF_ERROR(TransformRecords(request.same_key_aggregator_matrix(), per_row, "same_key_aggregator_matrix",
                                   identity, no_output, 0, threads,
                                   [&](size_t i, absl::Span<const ElGamalCiphertext> row) {
                                     for (size_t v = 0; v < row.size(); ++v) {
                                       if (key.Decrypt(row[v]).IsIdentity()) {
                                         frequency[i] = static_cast<int>(v) + 1;
                                         break;
                                       }
                                     }
                                     return std::string();
                                   }));
  std::vector<int64_t> histogram(max_frequency, 0);
  for (int f : frequency) ++histogram[f - 1];
  const int64_t offset = request.flag_count_noise().non_aggregator_count() * plan.bounds.frequency_shift;
  ExecutionPhaseThreeAtAggregatorResponse response;
  for (int64_t count : histogram) response.add_frequency_histogram(count - offset);
  response.set_bucket_noise_variance(plan.bounds.bucket_variance);
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

}  // namespace halo::protocol::llv2
