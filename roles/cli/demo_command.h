// `halo demo`: a whole deployment in one process on generated data, every
// protocol and measurement type, each result beside the truth.
#ifndef HALO_ROLES_CLI_DEMO_COMMAND_H_
#define HALO_ROLES_CLI_DEMO_COMMAND_H_

#include <CLI/CLI.hpp>

namespace halo::cli {

// Sets `exit_code` to 1 if any result lies outside 3 standard errors of
// the truth or any measurement fails.
void AddDemoCommand(CLI::App& app, int& exit_code);

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_DEMO_COMMAND_H_
