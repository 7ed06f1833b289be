// `halo admin`: an operator registers data providers, measurement consumers
// and duchies with the Kingdom.
#ifndef HALO_ROLES_CLI_ADMIN_COMMAND_H_
#define HALO_ROLES_CLI_ADMIN_COMMAND_H_

#include <CLI/CLI.hpp>

namespace halo::cli {

void AddAdminCommand(CLI::App& app, int& exit_code);

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_ADMIN_COMMAND_H_
