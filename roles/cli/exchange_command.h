// `halo exchange`: recurring exchanges, their exchanges, steps and
// attempts; the example workflows; checking a workflow file.
#ifndef HALO_ROLES_CLI_EXCHANGE_COMMAND_H_
#define HALO_ROLES_CLI_EXCHANGE_COMMAND_H_

#include <CLI/CLI.hpp>

namespace halo::cli {

void AddExchangeCommand(CLI::App& app, int& exit_code);

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_EXCHANGE_COMMAND_H_
