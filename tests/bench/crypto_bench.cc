// Per-operation costs of the crypto core, and each ElGamal operation beside
// the EC operations it is made of (its floor). Run through scripts/bench.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "halo/common/parallel.h"
#include "halo/crypto/commutative_cipher.h"
#include "halo/crypto/elgamal.h"
#include "halo/crypto/hash_to_curve.h"
#include "halo/crypto/p256.h"
#include "paired_ratio.h"

namespace halo::crypto {
namespace {

EcPoint RandomPoint() { return EcPoint::MulGenerator(Scalar::Random()); }

// A point as it comes off the wire: affine (Z = 1).
EcPoint AffinePoint() { return *EcPoint::Decode(RandomPoint().Encode()); }

void BM_ScalarRandom(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(Scalar::Random());
}
BENCHMARK(BM_ScalarRandom);

void BM_P256VariableBaseMul(benchmark::State& state) {
  const EcPoint p = AffinePoint();
  const Scalar k = Scalar::Random();
  for (auto _ : state) benchmark::DoNotOptimize(p.Mul(k));
}
BENCHMARK(BM_P256VariableBaseMul);

void BM_P256FixedBaseMul(benchmark::State& state) {
  const Scalar k = Scalar::Random();
  for (auto _ : state) benchmark::DoNotOptimize(EcPoint::MulGenerator(k));
}
BENCHMARK(BM_P256FixedBaseMul);

void BM_P256AddAffine(benchmark::State& state) {
  const EcPoint a = AffinePoint();
  const EcPoint b = AffinePoint();
  for (auto _ : state) benchmark::DoNotOptimize(a.Add(b));
}
BENCHMARK(BM_P256AddAffine);

// Both operands in Jacobian form, as inside a stage between operations.
void BM_P256AddProjective(benchmark::State& state) {
  const EcPoint a = RandomPoint().Add(RandomPoint());
  const EcPoint b = RandomPoint().Add(RandomPoint());
  for (auto _ : state) benchmark::DoNotOptimize(a.Add(b));
}
BENCHMARK(BM_P256AddProjective);

void BM_P256EncodeCompressed(benchmark::State& state) {
  const EcPoint p = RandomPoint().Add(RandomPoint());
  for (auto _ : state) benchmark::DoNotOptimize(p.Encode(PointEncoding::kCompressed));
}
BENCHMARK(BM_P256EncodeCompressed);

void BM_P256EncodeUncompressed(benchmark::State& state) {
  const EcPoint p = RandomPoint().Add(RandomPoint());
  for (auto _ : state) benchmark::DoNotOptimize(p.Encode(PointEncoding::kUncompressed));
}
BENCHMARK(BM_P256EncodeUncompressed);

void BM_P256DecodeCompressed(benchmark::State& state) {
  const std::string bytes = RandomPoint().Encode(PointEncoding::kCompressed);
  for (auto _ : state) benchmark::DoNotOptimize(EcPoint::Decode(bytes));
}
BENCHMARK(BM_P256DecodeCompressed);

void BM_P256DecodeUncompressed(benchmark::State& state) {
  const std::string bytes = RandomPoint().Encode(PointEncoding::kUncompressed);
  for (auto _ : state) benchmark::DoNotOptimize(EcPoint::Decode(bytes));
}
BENCHMARK(BM_P256DecodeUncompressed);

void BM_ElGamalEncrypt(benchmark::State& state) {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const EcPoint m = AffinePoint();
  for (auto _ : state) benchmark::DoNotOptimize(key.public_key().Encrypt(m));
}
BENCHMARK(BM_ElGamalEncrypt);

void BM_ElGamalEncryptInteger(benchmark::State& state) {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  for (auto _ : state) benchmark::DoNotOptimize(key.public_key().EncryptInteger(3));
}
BENCHMARK(BM_ElGamalEncryptInteger);

// Ciphertexts as decoded from a peer's blob: affine components.
ElGamalCiphertext WireCiphertext(const ElGamalKeyPair& key) {
  return *ElGamalCiphertext::Decode(
      key.public_key().Encrypt(AffinePoint()).Encode(PointEncoding::kUncompressed));
}

void BM_ElGamalReRandomize(benchmark::State& state) {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const ElGamalCiphertext c = WireCiphertext(key);
  for (auto _ : state) benchmark::DoNotOptimize(key.public_key().ReRandomize(c));
}
BENCHMARK(BM_ElGamalReRandomize);

void BM_ElGamalRemoveLayer(benchmark::State& state) {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const ElGamalCiphertext c = WireCiphertext(key);
  for (auto _ : state) benchmark::DoNotOptimize(key.RemoveLayer(c));
}
BENCHMARK(BM_ElGamalRemoveLayer);

void BM_ElGamalBlind(benchmark::State& state) {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const ElGamalCiphertext c = WireCiphertext(key);
  const Scalar k = Scalar::Random();
  for (auto _ : state) benchmark::DoNotOptimize(Blind(c, k));
}
BENCHMARK(BM_ElGamalBlind);

void BM_HashToCurve(benchmark::State& state) {
  int i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(HashToCurve(std::to_string(i++), kJoinKeyHashDst));
}
BENCHMARK(BM_HashToCurve);

void BM_CommutativeEncrypt(benchmark::State& state) {
  const CommutativeCipher cipher = CommutativeCipher::Generate();
  int i = 0;
  for (auto _ : state) benchmark::DoNotOptimize(cipher.Encrypt(std::to_string(i++)));
}
BENCHMARK(BM_CommutativeEncrypt);

void BM_CommutativeReEncrypt(benchmark::State& state) {
  const CommutativeCipher a = CommutativeCipher::Generate();
  const CommutativeCipher b = CommutativeCipher::Generate();
  const std::string encrypted = *a.Encrypt("join key");
  for (auto _ : state) benchmark::DoNotOptimize(b.ReEncrypt(encrypted));
}
BENCHMARK(BM_CommutativeReEncrypt);

// Batch throughput: range(0) ciphertexts on range(1) threads.
constexpr int kBatch = 4096;

std::vector<ElGamalCiphertext> WireBatch(const ElGamalKeyPair& key) {
  std::vector<ElGamalCiphertext> batch;
  for (int i = 0; i < kBatch; ++i) batch.push_back(WireCiphertext(key));
  return batch;
}

void BM_ReRandomizeBatch(benchmark::State& state) {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const auto batch = WireBatch(key);
  for (auto _ : state) {
    benchmark::DoNotOptimize(ReRandomizeBatch(key.public_key(), batch, state.range(0)));
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_ReRandomizeBatch)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_RemoveLayerBatch(benchmark::State& state) {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const auto batch = WireBatch(key);
  for (auto _ : state) benchmark::DoNotOptimize(RemoveLayerBatch(key, batch, state.range(0)));
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_RemoveLayerBatch)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_BlindBatch(benchmark::State& state) {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const auto batch = WireBatch(key);
  const Scalar k = Scalar::Random();
  for (auto _ : state) benchmark::DoNotOptimize(BlindBatch(k, batch, state.range(0)));
  state.SetItemsProcessed(state.iterations() * kBatch);
}
BENCHMARK(BM_BlindBatch)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);

using bench::PairedRatio;

void PrintPairedFloors() {
  const ElGamalKeyPair key = ElGamalKeyPair::Generate();
  const ElGamalPublicKey& pk = key.public_key();
  const ElGamalCiphertext c = WireCiphertext(key);
  const EcPoint m = AffinePoint();
  const EcPoint base = AffinePoint();
  const Scalar k = Scalar::Random();
  const CommutativeCipher cipher = CommutativeCipher::Generate();
  const std::string encrypted = *cipher.Encrypt("join key");
  auto var = [&] { benchmark::DoNotOptimize(base.Mul(k)); };
  auto fixed = [&] { benchmark::DoNotOptimize(EcPoint::MulGenerator(k)); };
  // A mixed addition (affine + Jacobian), as in every operation below.
  const EcPoint jacobian = base.Mul(k);
  auto add = [&] { benchmark::DoNotOptimize(m.Add(jacobian)); };

  struct Row {
    const char* op;
    const char* made_of;
    double ratio;
  };
  const Row rows[] = {
      {"Encrypt", "fixed + var + add",
       PairedRatio([&] { benchmark::DoNotOptimize(pk.Encrypt(m)); },
                   [&] { fixed(); var(); add(); })},
      {"EncryptInteger", "2 fixed + var + add",
       PairedRatio([&] { benchmark::DoNotOptimize(pk.EncryptInteger(3)); },
                   [&] { fixed(); fixed(); var(); add(); })},
      {"ReRandomize", "fixed + var + 2 add",
       PairedRatio([&] { benchmark::DoNotOptimize(pk.ReRandomize(c)); },
                   [&] { fixed(); var(); add(); add(); })},
      {"RemoveLayer", "var + add",
       PairedRatio([&] { benchmark::DoNotOptimize(key.RemoveLayer(c)); }, [&] { var(); add(); })},
      {"Blind", "2 var",
       PairedRatio([&] { benchmark::DoNotOptimize(Blind(c, k)); }, [&] { var(); var(); })},
      {"CommutativeReEncrypt", "decompress + var + encode",
       PairedRatio([&] { benchmark::DoNotOptimize(cipher.ReEncrypt(encrypted)); },
                   [&] {
                     benchmark::DoNotOptimize(EcPoint::Decode(encrypted));
                     benchmark::DoNotOptimize(jacobian.Encode());
                     var();
                   })},
  };
  std::printf("\nEach operation against the EC operations it is made of (paired, interleaved):\n");
  std::printf("%-22s %-28s %7s\n", "operation", "made of", "ratio");
  for (const Row& row : rows) std::printf("%-22s %-28s %7.3f\n", row.op, row.made_of, row.ratio);

  const auto batch = WireBatch(key);
  struct Batch {
    const char* name;
    std::function<void(int)> run;
  };
  const Batch batches[] = {
      // The machine's own limit: independent multiplications, no inputs or
      // outputs to move.
      {"reference: 4096 muls", [&](int t) {
         ParallelFor(kBatch, t, [&](size_t begin, size_t end) {
           for (size_t i = begin; i < end; ++i) benchmark::DoNotOptimize(base.Mul(k));
         });
       }},
      {"ReRandomizeBatch", [&](int t) { benchmark::DoNotOptimize(ReRandomizeBatch(pk, batch, t)); }},
      {"RemoveLayerBatch", [&](int t) { benchmark::DoNotOptimize(RemoveLayerBatch(key, batch, t)); }},
      {"BlindBatch", [&](int t) { benchmark::DoNotOptimize(BlindBatch(k, batch, t)); }},
  };
  std::printf("\n2-thread speed-up over 1 thread, %d ciphertexts a batch (paired, interleaved):\n",
              kBatch);
  for (const Batch& b : batches) {
    const double ratio = PairedRatio([&] { b.run(1); }, [&] { b.run(2); }, 8, 1);
    std::printf("%-22s %7.3fx\n", b.name, ratio);
  }
}

}  // namespace
}  // namespace halo::crypto

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  halo::crypto::PrintPairedFloors();
  benchmark::Shutdown();
  return 0;
}
