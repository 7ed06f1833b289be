#include "openssl_util.h"

#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"

namespace halo::crypto::internal {
namespace {

struct P256Constants {
  EC_GROUP* group;
  BIGNUM* order;
  BIGNUM* prime;
};

const P256Constants& Constants() {
  static const P256Constants constants = [] {
    P256Constants c;
    c.group = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    c.order = BN_new();
    c.prime = BN_new();
    if (c.group == nullptr || c.order == nullptr || c.prime == nullptr ||
        !EC_GROUP_get_order(c.group, c.order, nullptr) ||
        !EC_GROUP_get_curve(c.group, c.prime, nullptr, nullptr, nullptr)) {
      OpenSslFatal("P-256 group setup");
    }
    return c;
  }();
  return constants;
}

struct BnCtxDeleter { void operator()(BN_CTX* p) const { BN_CTX_free(p); } };

}  // namespace

const EC_GROUP* P256Group() { return Constants().group; }
const BIGNUM* P256Order() { return Constants().order; }
const BIGNUM* P256Prime() { return Constants().prime; }

BN_CTX* ThreadBnCtx() {
  thread_local std::unique_ptr<BN_CTX, BnCtxDeleter> ctx(BN_CTX_secure_new());
  if (ctx == nullptr) OpenSslFatal("BN_CTX_secure_new");
  return ctx.get();
}

BnPtr NewBn() {
  BIGNUM* bn = BN_new();
  if (bn == nullptr) OpenSslFatal("BN_new");
  return BnPtr(bn);
}

EcPointPtr NewPoint() {
  EC_POINT* p = EC_POINT_new(P256Group());
  if (p == nullptr) OpenSslFatal("EC_POINT_new");
  return EcPointPtr(p);
}

absl::Status OpenSslError(absl::string_view context) {
  std::string detail;
  while (unsigned long code = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof(buf));
    if (!detail.empty()) detail += "; ";
    detail += buf;
  }
  if (detail.empty()) return absl::InvalidArgumentError(context);
  return absl::InvalidArgumentError(absl::StrCat(context, " (", detail, ")"));
}

void OpenSslFatal(const char* what) {
  std::fprintf(stderr, "halo: fatal OpenSSL failure in %s\n", what);
  ERR_print_errors_fp(stderr);
  std::abort();
}

}  // namespace halo::crypto::internal
