// `halo edp generate`: synthetic event data with its ground truth.
#ifndef HALO_ROLES_CLI_EDP_COMMAND_H_
#define HALO_ROLES_CLI_EDP_COMMAND_H_

#include <CLI/CLI.hpp>

#include "halo/edp/synthetic_events.h"

namespace halo::cli {

void AddEdpCommand(CLI::App& app, int& exit_code);

// The EDPs `halo edp generate` and `halo demo` make: edp1..edp{count},
// reaching 50%, 40%, 30%... of the audience (at least 20%), each with event
// groups "{name}-video" and "{name}-display".
std::vector<edp::SyntheticEdp> DefaultSyntheticEdps(int count);

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_EDP_COMMAND_H_
