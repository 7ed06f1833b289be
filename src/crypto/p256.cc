#include "halo/crypto/p256.h"

#include <openssl/bn.h>
#include <openssl/ec.h>

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "openssl_util.h"

namespace halo::crypto {

using internal::NewBn;
using internal::NewPoint;
using internal::OpenSslFatal;
using internal::P256Group;
using internal::P256Order;
using internal::ThreadBnCtx;

namespace {

bool AllZero(absl::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

}  // namespace

// ---- Scalar ----

Scalar Scalar::Random() {
  internal::BnPtr bn = NewBn();
  do {
    if (!BN_priv_rand_range(bn.get(), P256Order())) OpenSslFatal("BN_priv_rand_range");
  } while (BN_is_zero(bn.get()));
  return Scalar(bn.release());
}

Scalar Scalar::FromUint64(uint64_t value) {
  internal::BnPtr bn = NewBn();
  if (!BN_set_word(bn.get(), value)) OpenSslFatal("BN_set_word");
  return Scalar(bn.release());
}

absl::StatusOr<Scalar> Scalar::FromBytes(absl::string_view big_endian) {
  if (big_endian.size() != kScalarBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "scalar must be ", kScalarBytes, " bytes, got ", big_endian.size()));
  }
  internal::BnPtr bn = NewBn();
  BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
            big_endian.size(), bn.get());
  if (BN_cmp(bn.get(), P256Order()) >= 0) {
    return absl::InvalidArgumentError("scalar is not below the P-256 group order");
  }
  return Scalar(bn.release());
}

Scalar Scalar::FromBytesReduced(absl::string_view big_endian) {
  internal::BnPtr bn = NewBn();
  BN_bin2bn(reinterpret_cast<const unsigned char*>(big_endian.data()),
            big_endian.size(), bn.get());
  if (!BN_nnmod(bn.get(), bn.get(), P256Order(), ThreadBnCtx())) OpenSslFatal("BN_nnmod");
  return Scalar(bn.release());
}

Scalar::Scalar(const Scalar& other) : bn_(BN_dup(other.bn_)) {
  if (bn_ == nullptr) OpenSslFatal("BN_dup");
}

Scalar& Scalar::operator=(const Scalar& other) {
  if (this != &other) *this = Scalar(other);
  return *this;
}

Scalar::Scalar(Scalar&& other) noexcept : bn_(std::exchange(other.bn_, nullptr)) {}

Scalar& Scalar::operator=(Scalar&& other) noexcept {
  std::swap(bn_, other.bn_);
  return *this;
}

Scalar::~Scalar() { BN_clear_free(bn_); }

std::string Scalar::ToBytes() const {
  std::string out(kScalarBytes, '\0');
  if (BN_bn2binpad(bn_, reinterpret_cast<unsigned char*>(out.data()), kScalarBytes) !=
      static_cast<int>(kScalarBytes)) {
    OpenSslFatal("BN_bn2binpad");
  }
  return out;
}

bool Scalar::IsZero() const { return BN_is_zero(bn_); }

absl::StatusOr<Scalar> Scalar::Inverse() const {
  if (IsZero()) return absl::InvalidArgumentError("zero scalar has no inverse");
  internal::BnPtr out = NewBn();
  if (BN_mod_inverse(out.get(), bn_, P256Order(), ThreadBnCtx()) == nullptr) {
    OpenSslFatal("BN_mod_inverse");
  }
  return Scalar(out.release());
}

Scalar Scalar::Add(const Scalar& other) const {
  internal::BnPtr out = NewBn();
  if (!BN_mod_add(out.get(), bn_, other.bn_, P256Order(), ThreadBnCtx())) OpenSslFatal("BN_mod_add");
  return Scalar(out.release());
}

Scalar Scalar::Sub(const Scalar& other) const {
  internal::BnPtr out = NewBn();
  if (!BN_mod_sub(out.get(), bn_, other.bn_, P256Order(), ThreadBnCtx())) OpenSslFatal("BN_mod_sub");
  return Scalar(out.release());
}

Scalar Scalar::Mul(const Scalar& other) const {
  internal::BnPtr out = NewBn();
  if (!BN_mod_mul(out.get(), bn_, other.bn_, P256Order(), ThreadBnCtx())) OpenSslFatal("BN_mod_mul");
  return Scalar(out.release());
}

Scalar Scalar::Negate() const { return Scalar::FromUint64(0).Sub(*this); }

bool Scalar::operator==(const Scalar& other) const { return BN_cmp(bn_, other.bn_) == 0; }

// ---- EcPoint ----

EcPoint EcPoint::Identity() {
  internal::EcPointPtr p = NewPoint();
  if (!EC_POINT_set_to_infinity(P256Group(), p.get())) OpenSslFatal("EC_POINT_set_to_infinity");
  return EcPoint(p.release());
}

EcPoint EcPoint::Generator() {
  EC_POINT* p = EC_POINT_dup(EC_GROUP_get0_generator(P256Group()), P256Group());
  if (p == nullptr) OpenSslFatal("EC_POINT_dup");
  return EcPoint(p);
}

EcPoint EcPoint::MulGenerator(const Scalar& k) {
  internal::EcPointPtr p = NewPoint();
  if (!EC_POINT_mul(P256Group(), p.get(), k.bn(), nullptr, nullptr, ThreadBnCtx())) {
    OpenSslFatal("EC_POINT_mul(generator)");
  }
  return EcPoint(p.release());
}

absl::StatusOr<EcPoint> EcPoint::Decode(absl::string_view bytes, IdentityPolicy identity) {
  if (bytes.size() != kCompressedPointBytes && bytes.size() != kUncompressedPointBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("P-256 point must be ", kCompressedPointBytes, " or ",
                     kUncompressedPointBytes, " bytes, got ", bytes.size()));
  }
  if (AllZero(bytes)) {
    if (identity == IdentityPolicy::kAllow) return Identity();
    return absl::InvalidArgumentError("P-256 point is the point at infinity");
  }
  const uint8_t prefix = static_cast<uint8_t>(bytes[0]);
  const bool compressed_prefix = prefix == 0x02 || prefix == 0x03;
  if ((bytes.size() == kCompressedPointBytes && !compressed_prefix) ||
      (bytes.size() == kUncompressedPointBytes && prefix != 0x04)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "P-256 point has prefix byte 0x", absl::Hex(prefix, absl::kZeroPad2),
        " which does not match its length ", bytes.size()));
  }
  internal::EcPointPtr p = NewPoint();
  if (!EC_POINT_oct2point(P256Group(), p.get(),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          bytes.size(), ThreadBnCtx())) {
    return internal::OpenSslError(compressed_prefix
                                      ? "P-256 point: x is not the coordinate of a curve point"
                                      : "P-256 point is not on the curve");
  }
  return EcPoint(p.release());
}

absl::StatusOr<EcPoint> EcPoint::FromAffine(absl::string_view x, absl::string_view y) {
  if (x.size() != kScalarBytes || y.size() != kScalarBytes) {
    return absl::InvalidArgumentError("affine coordinates must be 32 bytes each");
  }
  std::string encoded = std::string(1, '\x04');
  encoded.append(x.data(), x.size());
  encoded.append(y.data(), y.size());
  return Decode(encoded);
}

EcPoint::EcPoint(const EcPoint& other)
    : point_(EC_POINT_dup(other.point_, P256Group())) {
  if (point_ == nullptr) OpenSslFatal("EC_POINT_dup");
}

EcPoint& EcPoint::operator=(const EcPoint& other) {
  if (this != &other && !EC_POINT_copy(point_, other.point_)) OpenSslFatal("EC_POINT_copy");
  return *this;
}

EcPoint::EcPoint(EcPoint&& other) noexcept : point_(std::exchange(other.point_, nullptr)) {}

EcPoint& EcPoint::operator=(EcPoint&& other) noexcept {
  std::swap(point_, other.point_);
  return *this;
}

EcPoint::~EcPoint() { EC_POINT_free(point_); }

std::string EcPoint::Encode(PointEncoding encoding) const {
  const size_t size = encoding == PointEncoding::kCompressed ? kCompressedPointBytes
                                                              : kUncompressedPointBytes;
  std::string out(size, '\0');
  if (IsIdentity()) return out;
  const point_conversion_form_t form = encoding == PointEncoding::kCompressed
                                           ? POINT_CONVERSION_COMPRESSED
                                           : POINT_CONVERSION_UNCOMPRESSED;
  if (EC_POINT_point2oct(P256Group(), point_, form,
                         reinterpret_cast<unsigned char*>(out.data()), size,
                         ThreadBnCtx()) != size) {
    OpenSslFatal("EC_POINT_point2oct");
  }
  return out;
}

absl::StatusOr<std::string> EcPoint::AffineX() const {
  if (IsIdentity()) return absl::InvalidArgumentError("the point at infinity has no x coordinate");
  return Encode(PointEncoding::kCompressed).substr(1);
}

EcPoint EcPoint::Affine() const {
  EcPoint out(*this);
  if (!IsIdentity() && !EC_POINT_make_affine(P256Group(), out.point_, ThreadBnCtx())) {
    OpenSslFatal("EC_POINT_make_affine");
  }
  return out;
}

EcPoint EcPoint::Add(const EcPoint& other) const {
  internal::EcPointPtr p = NewPoint();
  if (!EC_POINT_add(P256Group(), p.get(), point_, other.point_, ThreadBnCtx())) {
    OpenSslFatal("EC_POINT_add");
  }
  return EcPoint(p.release());
}

EcPoint EcPoint::Sub(const EcPoint& other) const { return Add(other.Negate()); }

EcPoint EcPoint::Negate() const {
  EcPoint out(*this);
  if (!EC_POINT_invert(P256Group(), out.point_, ThreadBnCtx())) OpenSslFatal("EC_POINT_invert");
  return out;
}

EcPoint EcPoint::Mul(const Scalar& k) const {
  internal::EcPointPtr p = NewPoint();
  if (!EC_POINT_mul(P256Group(), p.get(), nullptr, point_, k.bn(), ThreadBnCtx())) {
    OpenSslFatal("EC_POINT_mul");
  }
  return EcPoint(p.release());
}

EcPoint EcPoint::MulAddGenerator(const Scalar& a, const Scalar& b) const {
  internal::EcPointPtr p = NewPoint();
  if (!EC_POINT_mul(P256Group(), p.get(), a.bn(), point_, b.bn(), ThreadBnCtx())) {
    OpenSslFatal("EC_POINT_mul");
  }
  return EcPoint(p.release());
}

bool EcPoint::IsIdentity() const { return EC_POINT_is_at_infinity(P256Group(), point_) == 1; }

bool EcPoint::operator==(const EcPoint& other) const {
  int r = EC_POINT_cmp(P256Group(), point_, other.point_, ThreadBnCtx());
  if (r < 0) OpenSslFatal("EC_POINT_cmp");
  return r == 0;
}

}  // namespace halo::crypto
