#include "halo/protocol/llv2.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "halo/common/cpu_timer.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/hash_to_curve.h"
#include "halo/protocol/reach_only_llv2.h"
#include "register_vectors.h"

namespace halo::protocol::llv2 {
namespace {

using crypto::EcPoint;
using crypto::ElGamalCiphertext;
using internal::CheckWholeRecords;
using internal::EncodeRecord;
using internal::SecurePermutation;
using internal::TransformRecords;

constexpr absl::string_view kKeyDst = "HALO-LLV2-V01-register-key";
constexpr absl::string_view kCountUnitDst = "HALO-LLV2-V01-count-unit";
constexpr absl::string_view kConstantDst = "HALO-LLV2-V01-constant";

absl::StatusOr<crypto::ElGamalPublicKey> DecodePublicKey(absl::string_view bytes, absl::string_view what) {
  auto key = crypto::ElGamalPublicKey::Decode(bytes);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", key.status().message()));
  return key;
}

absl::StatusOr<crypto::ElGamalKeyPair> DecodeSecretKey(absl::string_view bytes) {
  auto scalar = crypto::Scalar::FromBytes(bytes);
  if (!scalar.ok()) return absl::InvalidArgumentError(absl::StrCat("secret_key: ", scalar.status().message()));
  auto key = crypto::ElGamalKeyPair::FromSecret(*scalar);
  if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat("secret_key: ", key.status().message()));
  return key;
}

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
      threads, [&](absl::Span<const ElGamalCiphertext> r) {
        const EcPoint u = r[0].u.Mul(blinding);
        return EncodeRecord({ElGamalCiphertext{u, r[0].e.Mul(blinding).Add(u.Mul(neg_x))},
                             combined.ReRandomize(r[1]), combined.ReRandomize(r[2])});
      }));
  ExecutionPhaseOneResponse response;
  response.set_registers(std::move(output));
  response.set_cpu_micros(cpu.ElapsedMicros());
  return response;
}

}  // namespace halo::protocol::llv2
