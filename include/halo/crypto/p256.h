// NIST P-256 scalars and points through OpenSSL 3's libcrypto.
//
// Points stay in OpenSSL's internal (Jacobian) form between operations; only
// Encode() converts to affine coordinates, so chains of additions and
// multiplications pay for one field inversion at the end, not one per step.
// Values are immutable after construction and safe to share across threads
// for reading; every operation uses a per-thread BN_CTX.
#ifndef HALO_CRYPTO_P256_H_
#define HALO_CRYPTO_P256_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct bignum_st;
struct ec_point_st;

namespace halo::crypto {
namespace internal {
struct Access;
}  // namespace internal

inline constexpr size_t kScalarBytes = 32;
inline constexpr size_t kCompressedPointBytes = 33;
inline constexpr size_t kUncompressedPointBytes = 65;

// An integer modulo the P-256 group order n.
class Scalar {
 public:
  // Uniform in [1, n).
  static Scalar Random();
  static Scalar FromUint64(uint64_t value);
  // 32 big-endian bytes; refuses other lengths and values >= n.
  static absl::StatusOr<Scalar> FromBytes(absl::string_view big_endian);
  // Any length of big-endian bytes, reduced modulo n (for hash outputs).
  static Scalar FromBytesReduced(absl::string_view big_endian);

  Scalar(const Scalar& other);
  Scalar& operator=(const Scalar& other);
  Scalar(Scalar&&) noexcept;
  Scalar& operator=(Scalar&&) noexcept;
  ~Scalar();

  // 32 big-endian bytes.
  std::string ToBytes() const;
  bool IsZero() const;
  // Refuses zero, which has no inverse.
  absl::StatusOr<Scalar> Inverse() const;
  Scalar Add(const Scalar& other) const;
  Scalar Sub(const Scalar& other) const;
  Scalar Mul(const Scalar& other) const;
  Scalar Negate() const;
  bool operator==(const Scalar& other) const;

  const bignum_st* bn() const { return bn_; }

 private:
  friend struct internal::Access;
  explicit Scalar(bignum_st* bn) : bn_(bn) {}
  bignum_st* bn_;  // owned, always reduced into [0, n)
};

enum class PointEncoding { kCompressed, kUncompressed };

// Whether a decoder accepts the point at infinity. Public keys, ciphertext
// components and hashed identifiers must not be the identity; a decrypted
// message (m*G with m = 0) may.
enum class IdentityPolicy { kRefuse, kAllow };

// A point on P-256.
class EcPoint {
 public:
  static EcPoint Identity();
  static EcPoint Generator();
  // k*G, using OpenSSL's precomputed generator table.
  static EcPoint MulGenerator(const Scalar& k);
  // Decodes SEC1 compressed (33 bytes, 02/03) or uncompressed (65 bytes, 04)
  // points, checking the point lies on P-256. The identity encodes as 33 or
  // 65 zero bytes and is refused unless `identity` is kAllow. Hybrid
  // encodings (06/07) and every other length are refused.
  static absl::StatusOr<EcPoint> Decode(
      absl::string_view bytes, IdentityPolicy identity = IdentityPolicy::kRefuse);
  // From 32-byte big-endian affine coordinates; refuses points off the curve.
  static absl::StatusOr<EcPoint> FromAffine(absl::string_view x,
                                            absl::string_view y);

  EcPoint(const EcPoint& other);
  EcPoint& operator=(const EcPoint& other);
  EcPoint(EcPoint&&) noexcept;
  EcPoint& operator=(EcPoint&&) noexcept;
  ~EcPoint();

  std::string Encode(PointEncoding encoding = PointEncoding::kCompressed) const;
  // The affine x coordinate as 32 big-endian bytes; the identity has none.
  absl::StatusOr<std::string> AffineX() const;

  // The same point with Z = 1, for a point that will be a base many times.
  EcPoint Affine() const;

  EcPoint Add(const EcPoint& other) const;
  EcPoint Sub(const EcPoint& other) const;
  EcPoint Negate() const;
  EcPoint Mul(const Scalar& k) const;
  // a*G + b*this in one call.
  EcPoint MulAddGenerator(const Scalar& a, const Scalar& b) const;

  bool IsIdentity() const;
  bool operator==(const EcPoint& other) const;
  bool operator!=(const EcPoint& other) const { return !(*this == other); }

  const ec_point_st* raw() const { return point_; }

 private:
  friend struct internal::Access;
  explicit EcPoint(ec_point_st* point) : point_(point) {}
  ec_point_st* point_;  // owned
};

}  // namespace halo::crypto

#endif  // HALO_CRYPTO_P256_H_
