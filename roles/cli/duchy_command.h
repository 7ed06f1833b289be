// `halo duchy computations`: what a duchy's computations are doing, for its
// operator, without reading the database by hand.
#ifndef HALO_ROLES_CLI_DUCHY_COMMAND_H_
#define HALO_ROLES_CLI_DUCHY_COMMAND_H_

#include <CLI/CLI.hpp>

namespace halo::cli {

void AddDuchyCommand(CLI::App& app, int& exit_code);

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_DUCHY_COMMAND_H_
