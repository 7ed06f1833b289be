// Owning handles and shared state for OpenSSL objects used inside src/crypto.
#ifndef HALO_SRC_CRYPTO_OPENSSL_UTIL_H_
#define HALO_SRC_CRYPTO_OPENSSL_UTIL_H_

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "halo/crypto/p256.h"

namespace halo::crypto::internal {

struct BnDeleter { void operator()(BIGNUM* p) const { BN_clear_free(p); } };
struct EcPointDeleter { void operator()(EC_POINT* p) const { EC_POINT_free(p); } };
struct EvpPkeyDeleter { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct EvpPkeyCtxDeleter { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct EvpMdCtxDeleter { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct X509Deleter { void operator()(X509* p) const { X509_free(p); } };

using BnPtr = std::unique_ptr<BIGNUM, BnDeleter>;
using EcPointPtr = std::unique_ptr<EC_POINT, EcPointDeleter>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxDeleter>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxDeleter>;
using X509Ptr = std::unique_ptr<X509, X509Deleter>;

// The P-256 group, created once; OpenSSL allows concurrent const use.
const EC_GROUP* P256Group();
// The group order n and field prime p.
const BIGNUM* P256Order();
const BIGNUM* P256Prime();

// A BN_CTX owned by the calling thread, so batch work needs no locking.
BN_CTX* ThreadBnCtx();

BnPtr NewBn();
EcPointPtr NewPoint();

// Wraps OpenSSL objects that src/crypto built into the public value types,
// which take ownership.
struct Access {
  static EcPoint Wrap(EcPointPtr point) { return EcPoint(point.release()); }
  static Scalar Wrap(BnPtr bn) { return Scalar(bn.release()); }
};

// An error status carrying `context` and the text of OpenSSL's error queue,
// which it clears.
absl::Status OpenSslError(absl::string_view context);

// Aborts: a failure of an operation that cannot fail on valid inputs (an
// allocation, arithmetic on checked values) is a bug, not bad input.
[[noreturn]] void OpenSslFatal(const char* what);

}  // namespace halo::crypto::internal

#endif  // HALO_SRC_CRYPTO_OPENSSL_UTIL_H_
