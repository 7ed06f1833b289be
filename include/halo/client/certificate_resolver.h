// Certificates by resource name, fetched from the Kingdom and checked before
// any signature is trusted with them: what an EDP needs to verify an MC's
// specs and the duchies' keys, and an MC to verify a result.
#ifndef HALO_CLIENT_CERTIFICATE_RESOLVER_H_
#define HALO_CLIENT_CERTIFICATE_RESOLVER_H_

#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/crypto/certificate.h"

namespace halo::client {

// Thread-safe. Answers are remembered for `ttl`, so a revocation is seen
// within that time.
class CertificateResolver {
 public:
  CertificateResolver(std::shared_ptr<grpc::Channel> kingdom, crypto::TrustedRoots trusted_roots,
                      absl::Duration ttl = absl::Minutes(5));

  // The certificate `name` ("{entity}/certificates/{id}"), checked: it is
  // not revoked, a trusted root issued it and it is valid now, and its
  // subject is `entity`. PERMISSION_DENIED naming the failed check;
  // NOT_FOUND for an unknown certificate; the Kingdom's status if it cannot
  // be asked.
  absl::StatusOr<crypto::Certificate> Resolve(const std::string& name);

  // Resolve, and also requires the certificate to belong to `owner`.
  absl::StatusOr<crypto::Certificate> ResolveOf(const std::string& name, const std::string& owner);

 private:
  struct Known {
    crypto::Certificate certificate;
    absl::Time fetched;
  };
  std::unique_ptr<api::v1::Certificates::Stub> certificates_;
  crypto::TrustedRoots trusted_roots_;
  absl::Duration ttl_;
  absl::Mutex mutex_;
  std::map<std::string, Known> known_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace halo::client

#endif  // HALO_CLIENT_CERTIFICATE_RESOLVER_H_
