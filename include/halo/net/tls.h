// mTLS material for gRPC servers and channels, checked before use so that a
// wrong path, a key that does not match its certificate, or a certificate
// from another CA is reported at start-up, naming the file, instead of as an
// opaque handshake failure later.
#ifndef HALO_NET_TLS_H_
#define HALO_NET_TLS_H_

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "halo/config/config.pb.h"

namespace halo::net {

struct TlsMaterial {
  std::string certificate_pem;
  std::string private_key_pem;
  // Every organisation's root this process accepts or calls, one PEM after
  // another.
  std::string trusted_ca_pem;
  // The subject name of our certificate: the resource this process acts as.
  std::string identity;
};

// Reads the three files and checks that the key matches the certificate and
// that the certificate is currently valid under one of the trusted roots.
absl::StatusOr<TlsMaterial> LoadTlsMaterial(const config::TlsConfig& tls);

// Servers require and verify a client certificate from a trusted root; which
// root may speak for which entity is the application's check.
std::shared_ptr<grpc::ServerCredentials> ServerCredentials(const TlsMaterial& tls);
// Channels present our certificate and verify the server's: its chain to a
// trusted root, the host name, and that it is for `server_subject` (e.g.
// "kingdom" or "duchies/worker1"). Any organisation's root can issue a
// certificate for any host name, so without the subject a duchy could be
// impersonated by another party whose root we trust.
std::shared_ptr<grpc::ChannelCredentials> ChannelCredentials(const TlsMaterial& tls, absl::string_view server_subject);

}  // namespace halo::net

#endif  // HALO_NET_TLS_H_
