#include "halo/crypto/elgamal.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "halo/common/parallel.h"
#include "halo/common/status_macros.h"

namespace halo::crypto {
std::string ElGamalCiphertext::Encode(PointEncoding encoding) const {
  return u.Encode(encoding) + e.Encode(encoding);
}

absl::StatusOr<ElGamalCiphertext> ElGamalCiphertext::Decode(absl::string_view bytes) {
  if (bytes.size() != 2 * kCompressedPointBytes && bytes.size() != 2 * kUncompressedPointBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ElGamal ciphertext must be ", 2 * kCompressedPointBytes, " or ",
        2 * kUncompressedPointBytes, " bytes, got ", bytes.size()));
  }
  const size_t half = bytes.size() / 2;
  auto u = EcPoint::Decode(bytes.substr(0, half));
  if (!u.ok()) return absl::InvalidArgumentError(absl::StrCat("ciphertext u: ", u.status().message()));
  auto e = EcPoint::Decode(bytes.substr(half), IdentityPolicy::kAllow);
  if (!e.ok()) return absl::InvalidArgumentError(absl::StrCat("ciphertext e: ", e.status().message()));
  return ElGamalCiphertext{*std::move(u), *std::move(e)};
}

absl::StatusOr<ElGamalPublicKey> ElGamalPublicKey::FromPoint(EcPoint y) {
  if (y.IsIdentity()) return absl::InvalidArgumentError("ElGamal public key is the identity");
  // Every encryption multiplies y; an affine base makes its table cheaper.
  return ElGamalPublicKey(y.Affine());
}

absl::StatusOr<ElGamalPublicKey> ElGamalPublicKey::Decode(absl::string_view bytes) {
  auto y = EcPoint::Decode(bytes);
  if (!y.ok()) return absl::InvalidArgumentError(absl::StrCat("ElGamal public key: ", y.status().message()));
  return FromPoint(*std::move(y));
}

absl::StatusOr<ElGamalPublicKey> ElGamalPublicKey::Combine(absl::Span<const ElGamalPublicKey> keys) {
  if (keys.empty()) return absl::InvalidArgumentError("no ElGamal public keys to combine");
  EcPoint sum = keys[0].point();
  for (size_t i = 1; i < keys.size(); ++i) sum = sum.Add(keys[i].point());
  return FromPoint(std::move(sum));
}

ElGamalCiphertext ElGamalPublicKey::Encrypt(const EcPoint& message) const {
  const Scalar r = Scalar::Random();
  return {EcPoint::MulGenerator(r), message.Add(y_.Mul(r))};
}

ElGamalCiphertext ElGamalPublicKey::EncryptInteger(uint64_t m) const {
  const Scalar r = Scalar::Random();
  // m*G + r*Y in one multi-scalar multiplication.
  return {EcPoint::MulGenerator(r), y_.MulAddGenerator(Scalar::FromUint64(m), r)};
}

ElGamalCiphertext ElGamalPublicKey::ReRandomize(const ElGamalCiphertext& c) const {
  const Scalar s = Scalar::Random();
  return {c.u.Add(EcPoint::MulGenerator(s)), c.e.Add(y_.Mul(s))};
}

ElGamalKeyPair ElGamalKeyPair::Generate() { return *FromSecret(Scalar::Random()); }

absl::StatusOr<ElGamalKeyPair> ElGamalKeyPair::FromSecret(const Scalar& x) {
  if (x.IsZero()) return absl::InvalidArgumentError("ElGamal secret key is zero");
  ASSIGN_OR_RETURN(ElGamalPublicKey public_key,
                   ElGamalPublicKey::FromPoint(EcPoint::MulGenerator(x)));
  return ElGamalKeyPair(x, std::move(public_key));
}

ElGamalCiphertext ElGamalKeyPair::RemoveLayer(const ElGamalCiphertext& c) const {
  return {c.u, c.e.Sub(c.u.Mul(x_))};
}

EcPoint ElGamalKeyPair::Decrypt(const ElGamalCiphertext& c) const {
  return c.e.Sub(c.u.Mul(x_));
}

ElGamalCiphertext AddCiphertexts(const ElGamalCiphertext& a, const ElGamalCiphertext& b) {
  return {a.u.Add(b.u), a.e.Add(b.e)};
}

ElGamalCiphertext Blind(const ElGamalCiphertext& c, const Scalar& k) {
  return {c.u.Mul(k), c.e.Mul(k)};
}

SmallIntegerTable::SmallIntegerTable(uint64_t max_value) : max_value_(max_value) {
  by_encoding_.reserve(max_value + 1);
  EcPoint point = EcPoint::Identity();
  const EcPoint generator = EcPoint::Generator();
  for (uint64_t m = 0; m <= max_value; ++m) {
    by_encoding_.emplace(point.Encode(), m);
    point = point.Add(generator);
  }
}

absl::StatusOr<uint64_t> SmallIntegerTable::Lookup(const EcPoint& point) const {
  auto it = by_encoding_.find(point.Encode());
  if (it == by_encoding_.end()) {
    return absl::NotFoundError(
        absl::StrCat("decrypted point is not m*G for any m in [0, ", max_value_, "]"));
  }
  return it->second;
}

std::vector<ElGamalCiphertext> EncryptBatch(const ElGamalPublicKey& key,
                                            absl::Span<const EcPoint> messages, int threads) {
  return ParallelMap<ElGamalCiphertext>(messages, threads,
                                        [&](const EcPoint& m) { return key.Encrypt(m); });
}

std::vector<ElGamalCiphertext> ReRandomizeBatch(const ElGamalPublicKey& key,
                                                absl::Span<const ElGamalCiphertext> ciphertexts,
                                                int threads) {
  return ParallelMap<ElGamalCiphertext>(
      ciphertexts, threads, [&](const ElGamalCiphertext& c) { return key.ReRandomize(c); });
}

std::vector<ElGamalCiphertext> RemoveLayerBatch(const ElGamalKeyPair& key,
                                                absl::Span<const ElGamalCiphertext> ciphertexts,
                                                int threads) {
  return ParallelMap<ElGamalCiphertext>(
      ciphertexts, threads, [&](const ElGamalCiphertext& c) { return key.RemoveLayer(c); });
}

std::vector<EcPoint> DecryptBatch(const ElGamalKeyPair& key,
                                  absl::Span<const ElGamalCiphertext> ciphertexts, int threads) {
  return ParallelMap<EcPoint>(ciphertexts, threads,
                              [&](const ElGamalCiphertext& c) { return key.Decrypt(c); });
}

std::vector<ElGamalCiphertext> BlindBatch(const Scalar& k,
                                          absl::Span<const ElGamalCiphertext> ciphertexts,
                                          int threads) {
  return ParallelMap<ElGamalCiphertext>(ciphertexts, threads,
                                        [&](const ElGamalCiphertext& c) { return Blind(c, k); });
}

}  // namespace halo::crypto
