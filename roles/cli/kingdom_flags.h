// The flags of a client command that calls the Kingdom's public API as a
// party (an administrator, an exchange party): where it is and which
// certificate to present.
#ifndef HALO_ROLES_CLI_KINGDOM_FLAGS_H_
#define HALO_ROLES_CLI_KINGDOM_FLAGS_H_

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "halo/common/status_macros.h"
#include "halo/config/config.pb.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"

namespace halo::cli {

struct KingdomFlags {
  std::string kingdom = "localhost:18443";
  config::TlsConfig tls;
};

// Adds --kingdom, --tls-cert, --tls-key and --ca to `command`; the last
// three are required when every subcommand calls the Kingdom.
inline void AddKingdomFlags(CLI::App* command, KingdomFlags& flags, bool required) {
  command->add_option("--kingdom", flags.kingdom, "The Kingdom's public API (host:port)");
  auto* cert = command->add_option("--tls-cert", *flags.tls.mutable_certificate_file(), "Your certificate");
  auto* key = command->add_option("--tls-key", *flags.tls.mutable_private_key_file(), "Its private key");
  auto* ca = command->add_option("--ca", *flags.tls.mutable_trusted_ca_file(), "The CA of the deployment");
  if (required) {
    cert->required();
    key->required();
    ca->required();
  }
}

inline absl::StatusOr<std::shared_ptr<grpc::Channel>> OpenKingdom(const KingdomFlags& flags) {
  ASSIGN_OR_RETURN(net::TlsMaterial tls, net::LoadTlsMaterial(flags.tls));
  return net::OpenChannel(flags.kingdom, tls, net::kKingdomSubject);
}

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_KINGDOM_FLAGS_H_
