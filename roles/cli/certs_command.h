// `halo certs`: a development CA and per-entity certificates for a local
// deployment.
#ifndef HALO_ROLES_CLI_CERTS_COMMAND_H_
#define HALO_ROLES_CLI_CERTS_COMMAND_H_

#include <CLI/CLI.hpp>

namespace halo::cli {

// Adds `certs create-ca` and `certs issue` to `app`; each sets `exit_code`.
void AddCertsCommand(CLI::App& app, int& exit_code);

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_CERTS_COMMAND_H_
