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

// Constants of the P-256 SSWU map, computed once: A = -3, B, Z = -10,
// c1 = (p - 3) / 4 and c2 = sqrt(-Z) for sqrt_ratio, and a Montgomery
// context for the exponentiation.
struct SswuConstants {
  BIGNUM* a;
  BIGNUM* b;
  BIGNUM* z;
  BIGNUM* c1;
  BIGNUM* c2;
  BN_MONT_CTX* mont;
};

const SswuConstants& Constants() {
  static const SswuConstants constants = [] {
    SswuConstants c;
    BN_CTX* ctx = ThreadBnCtx();
    const BIGNUM* p = P256Prime();
    c.a = BN_new();
    c.b = nullptr;
    c.z = BN_new();
    c.c1 = BN_dup(p);
    c.c2 = BN_new();
    BIGNUM* minus_z = BN_new();
    c.mont = BN_MONT_CTX_new();
    if (!BN_hex2bn(&c.b, "5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B") ||
        !BN_set_word(c.a, 3) || !BN_sub(c.a, p, c.a) ||            // A = p - 3
        !BN_set_word(c.z, 10) || !BN_sub(c.z, p, c.z) ||            // Z = p - 10
        !BN_sub_word(c.c1, 3) || !BN_rshift(c.c1, c.c1, 2) ||       // (p - 3) / 4
        !BN_set_word(minus_z, 10) || !BN_mod_sqrt(c.c2, minus_z, p, ctx) ||
        !BN_MONT_CTX_set(c.mont, p, ctx)) {
      OpenSslFatal("SSWU constants");
    }
    BN_free(minus_z);
    return c;
  }();
  return constants;
}

// Arithmetic modulo p on a small pool of BIGNUMs from the thread's BN_CTX.
class Field {
 public:
  Field() : ctx_(ThreadBnCtx()) { BN_CTX_start(ctx_); }
  ~Field() { BN_CTX_end(ctx_); }

  BIGNUM* New() {
    BIGNUM* r = BN_CTX_get(ctx_);
    if (r == nullptr) OpenSslFatal("BN_CTX_get");
    return r;
  }
  void Mul(BIGNUM* r, const BIGNUM* a, const BIGNUM* b) { Check(BN_mod_mul(r, a, b, P256Prime(), ctx_)); }
  void Sqr(BIGNUM* r, const BIGNUM* a) { Check(BN_mod_sqr(r, a, P256Prime(), ctx_)); }
  void Add(BIGNUM* r, const BIGNUM* a, const BIGNUM* b) { Check(BN_mod_add(r, a, b, P256Prime(), ctx_)); }
  void Neg(BIGNUM* r, const BIGNUM* a) {
    if (BN_is_zero(a)) {
      BN_zero(r);
    } else {
      Check(BN_sub(r, P256Prime(), a));
    }
  }
  void Inv(BIGNUM* r, const BIGNUM* a) { Check(BN_mod_inverse(r, a, P256Prime(), ctx_) != nullptr); }
  void Pow(BIGNUM* r, const BIGNUM* a, const BIGNUM* e) {
    Check(BN_mod_exp_mont(r, a, e, P256Prime(), ctx_, Constants().mont));
  }
  void Copy(BIGNUM* r, const BIGNUM* a) { Check(BN_copy(r, a) != nullptr); }
  BN_CTX* ctx() { return ctx_; }

 private:
  static void Check(int ok) {
    if (!ok) OpenSslFatal("field arithmetic");
  }
  BN_CTX* ctx_;
};

// sqrt_ratio for p = 3 mod 4 (RFC 9380 F.2.1.2): returns whether u/v is a
// square, and sets y to sqrt(u/v) if so, else to sqrt(Z u/v). One
// exponentiation.
bool SqrtRatio(Field& f, BIGNUM* y, const BIGNUM* u, const BIGNUM* v) {
  const SswuConstants& k = Constants();
  BIGNUM* tv1 = f.New();
  BIGNUM* tv2 = f.New();
  BIGNUM* tv3 = f.New();
  BIGNUM* y1 = f.New();
  f.Sqr(tv1, v);
  f.Mul(tv2, u, v);
  f.Mul(tv1, tv1, tv2);
  f.Pow(y1, tv1, k.c1);
  f.Mul(y1, y1, tv2);
  f.Sqr(tv3, y1);
  f.Mul(tv3, tv3, v);
  const bool is_square = BN_cmp(tv3, u) == 0;
  if (is_square) {
    f.Copy(y, y1);
  } else {
    f.Mul(y, y1, k.c2);
  }
  return is_square;
}

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

// The simplified Shallue-van de Woestijne-Ulas map, straight-line form
// (RFC 9380 section 6.6.2 and appendix F.2): one exponentiation and one
// inversion.
EcPoint MapToCurveSswu(const BIGNUM* u) {
  const SswuConstants& k = Constants();
  Field f;
  BIGNUM* tv1 = f.New();
  BIGNUM* tv2 = f.New();
  BIGNUM* tv3 = f.New();
  BIGNUM* tv4 = f.New();
  BIGNUM* tv5 = f.New();
  BIGNUM* tv6 = f.New();
  BIGNUM* x = f.New();
  BIGNUM* y = f.New();
  BIGNUM* y1 = f.New();
  BIGNUM* one = f.New();
  BN_one(one);

  f.Sqr(tv1, u);
  f.Mul(tv1, k.z, tv1);        // Z u^2
  f.Sqr(tv2, tv1);
  f.Add(tv2, tv2, tv1);        // Z^2 u^4 + Z u^2
  f.Add(tv3, tv2, one);
  f.Mul(tv3, k.b, tv3);        // B (tv2 + 1)
  if (BN_is_zero(tv2)) {
    f.Copy(tv4, k.z);
  } else {
    f.Neg(tv4, tv2);
  }
  f.Mul(tv4, k.a, tv4);        // denominator of x
  f.Sqr(tv2, tv3);
  f.Sqr(tv6, tv4);
  f.Mul(tv5, k.a, tv6);
  f.Add(tv2, tv2, tv5);
  f.Mul(tv2, tv2, tv3);
  f.Mul(tv6, tv6, tv4);
  f.Mul(tv5, k.b, tv6);
  f.Add(tv2, tv2, tv5);        // numerator of g(x1), with tv6 its denominator
  f.Mul(x, tv1, tv3);
  const bool gx1_is_square = SqrtRatio(f, y1, tv2, tv6);
  f.Mul(y, tv1, u);
  f.Mul(y, y, y1);
  if (gx1_is_square) {
    f.Copy(x, tv3);
    f.Copy(y, y1);
  }
  if (BN_is_odd(u) != BN_is_odd(y)) f.Neg(y, y);
  f.Inv(tv4, tv4);
  f.Mul(x, x, tv4);

  internal::EcPointPtr p = internal::NewPoint();
  if (!EC_POINT_set_affine_coordinates(internal::P256Group(), p.get(), x, y, f.ctx())) {
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
