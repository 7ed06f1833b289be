// `halo mc`: a measurement consumer's commands (create-measurement, get,
// list, cancel, event-groups), with results decrypted and checked.
#ifndef HALO_ROLES_CLI_MC_COMMAND_H_
#define HALO_ROLES_CLI_MC_COMMAND_H_

#include <CLI/CLI.hpp>

namespace halo::cli {

void AddMcCommand(CLI::App& app, int& exit_code);

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_MC_COMMAND_H_
