#include "halo/crypto/hash_to_curve.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/sha.h>

#include <array>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "openssl_util.h"

namespace halo::crypto {
namespace {

using internal::BnPtr;
using internal::NewBn;
using internal::OpenSslFatal;
using internal::P256Prime;
using internal::ThreadBnCtx;

constexpr size_t kSha256Bytes = 32;
constexpr size_t kSha256BlockBytes = 64;
// L = ceil((ceil(log2(p)) + k) / 8) with k = 128.
constexpr size_t kFieldElementHashBytes = 48;

std::string Sha256(absl::string_view data) {
  std::string out(kSha256Bytes, '\0');
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(),
         reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

// Field arithmetic modulo p for the simplified SWU map.
class FieldOps {
 public:
  FieldOps() : ctx_(ThreadBnCtx()) {}

  BnPtr FromHex(const char* hex) const {
    BIGNUM* bn = nullptr;
    if (!BN_hex2bn(&bn, hex)) OpenSslFatal("BN_hex2bn");
    return BnPtr(bn);
  }
  BnPtr Mul(const BIGNUM* a, const BIGNUM* b) const {
    BnPtr r = NewBn();
    if (!BN_mod_mul(r.get(), a, b, P256Prime(), ctx_)) OpenSslFatal("BN_mod_mul");
    return r;
  }
  BnPtr Add(const BIGNUM* a, const BIGNUM* b) const {
    BnPtr r = NewBn();
    if (!BN_mod_add(r.get(), a, b, P256Prime(), ctx_)) OpenSslFatal("BN_mod_add");
    return r;
  }
  BnPtr Neg(const BIGNUM* a) const {
    BnPtr zero = NewBn();
    BnPtr r = NewBn();
    if (!BN_mod_sub(r.get(), zero.get(), a, P256Prime(), ctx_)) OpenSslFatal("BN_mod_sub");
    return r;
  }
  // inv0: the inverse, with inv0(0) = 0.
  BnPtr Inv0(const BIGNUM* a) const {
    BnPtr r = NewBn();
    if (BN_is_zero(a)) return r;
    if (BN_mod_inverse(r.get(), a, P256Prime(), ctx_) == nullptr) OpenSslFatal("BN_mod_inverse");
    return r;
  }
  // For p = 3 mod 4, a^((p+1)/4) is a square root of a whenever one exists.
  BnPtr SqrtCandidate(const BIGNUM* a) const {
    static const BIGNUM* exponent = [] {
      BIGNUM* e = BN_dup(P256Prime());
      if (e == nullptr || !BN_add_word(e, 1) || !BN_rshift(e, e, 2)) OpenSslFatal("sqrt exponent");
      return e;
    }();
    BnPtr r = NewBn();
    if (!BN_mod_exp(r.get(), a, exponent, P256Prime(), ctx_)) OpenSslFatal("BN_mod_exp");
    return r;
  }
  // g(x) = x^3 + A x + B.
  BnPtr CurveEquation(const BIGNUM* x, const BIGNUM* a, const BIGNUM* b) const {
    BnPtr x2 = Mul(x, x);
    BnPtr x3 = Mul(x2.get(), x);
    BnPtr ax = Mul(a, x);
    BnPtr sum = Add(x3.get(), ax.get());
    return Add(sum.get(), b);
  }

 private:
  BN_CTX* ctx_;
};

// hash_to_field with count = 2, m = 1.
absl::StatusOr<std::array<BnPtr, 2>> HashToField(absl::string_view message,
                                                 absl::string_view dst) {
  ASSIGN_OR_RETURN(std::string uniform,
                   ExpandMessageXmd(message, dst, 2 * kFieldElementHashBytes));
  std::array<BnPtr, 2> u;
  for (int i = 0; i < 2; ++i) {
    u[i] = NewBn();
    BN_bin2bn(reinterpret_cast<const unsigned char*>(uniform.data()) +
                  i * kFieldElementHashBytes,
              kFieldElementHashBytes, u[i].get());
    if (!BN_nnmod(u[i].get(), u[i].get(), P256Prime(), ThreadBnCtx())) OpenSslFatal("BN_nnmod");
  }
  return u;
}

// Simplified Shallue-van de Woestijne-Ulas map (RFC 9380 section 6.6.2) with
// A = -3, B = the P-256 constant, Z = -10.
EcPoint MapToCurveSswu(const BIGNUM* u) {
  FieldOps f;
  BnPtr a = f.Neg(f.FromHex("3").get());
  BnPtr b = f.FromHex("5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B");
  BnPtr z = f.Neg(f.FromHex("A").get());
  BnPtr one = f.FromHex("1");

  BnPtr u2 = f.Mul(u, u);
  BnPtr z_u2 = f.Mul(z.get(), u2.get());
  BnPtr tv1 = f.Inv0(f.Add(f.Mul(z_u2.get(), z_u2.get()).get(), z_u2.get()).get());
  BnPtr minus_b_over_a = f.Mul(f.Neg(b.get()).get(), f.Inv0(a.get()).get());
  BnPtr x1 = BN_is_zero(tv1.get())
                 ? f.Mul(b.get(), f.Inv0(f.Mul(z.get(), a.get()).get()).get())
                 : f.Mul(minus_b_over_a.get(), f.Add(one.get(), tv1.get()).get());
  BnPtr gx1 = f.CurveEquation(x1.get(), a.get(), b.get());
  BnPtr y1 = f.SqrtCandidate(gx1.get());

  BnPtr x;
  BnPtr y;
  if (BN_cmp(f.Mul(y1.get(), y1.get()).get(), gx1.get()) == 0) {
    x = std::move(x1);
    y = std::move(y1);
  } else {
    x = f.Mul(z_u2.get(), x1.get());
    y = f.SqrtCandidate(f.CurveEquation(x.get(), a.get(), b.get()).get());
  }
  if (BN_is_odd(u) != BN_is_odd(y.get())) y = f.Neg(y.get());

  internal::EcPointPtr p = internal::NewPoint();
  if (!EC_POINT_set_affine_coordinates(internal::P256Group(), p.get(), x.get(), y.get(),
                                       ThreadBnCtx())) {
    OpenSslFatal("SSWU produced a point off the curve");
  }
  return internal::Access::Wrap(std::move(p));
}

}  // namespace

absl::StatusOr<std::string> ExpandMessageXmd(absl::string_view message,
                                             absl::string_view dst, size_t length) {
  const size_t blocks = (length + kSha256Bytes - 1) / kSha256Bytes;
  if (dst.size() > 255) {
    return absl::InvalidArgumentError(
        absl::StrCat("hash-to-curve domain separation tag is ", dst.size(),
                     " bytes; at most 255 allowed"));
  }
  if (length == 0 || blocks > 255 || length > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("expand_message_xmd cannot produce ", length, " bytes"));
  }
  std::string dst_prime(dst);
  dst_prime.push_back(static_cast<char>(dst.size()));

  std::string message_prime(kSha256BlockBytes, '\0');
  message_prime.append(message.data(), message.size());
  message_prime.push_back(static_cast<char>(length >> 8));
  message_prime.push_back(static_cast<char>(length & 0xff));
  message_prime.push_back('\0');
  message_prime += dst_prime;

  const std::string b0 = Sha256(message_prime);
  std::string out;
  std::string previous(kSha256Bytes, '\0');
  for (size_t i = 1; i <= blocks; ++i) {
    std::string input(kSha256Bytes, '\0');
    for (size_t j = 0; j < kSha256Bytes; ++j) input[j] = b0[j] ^ previous[j];
    if (i == 1) input = b0;
    input.push_back(static_cast<char>(i));
    input += dst_prime;
    previous = Sha256(input);
    out += previous;
  }
  out.resize(length);
  return out;
}

absl::StatusOr<EcPoint> HashToCurve(absl::string_view message, absl::string_view dst) {
  if (dst.empty()) {
    return absl::InvalidArgumentError("hash-to-curve needs a non-empty domain separation tag");
  }
  auto u = HashToField(message, dst);
  if (!u.ok()) return u.status();
  return MapToCurveSswu((*u)[0].get()).Add(MapToCurveSswu((*u)[1].get()));
}

}  // namespace halo::crypto
