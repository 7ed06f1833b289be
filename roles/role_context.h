// What every daemon role runs with besides its config.
#ifndef HALO_ROLES_ROLE_CONTEXT_H_
#define HALO_ROLES_ROLE_CONTEXT_H_

#include <string>

#include "halo/common/shutdown.h"

namespace halo {

struct RoleContext {
  // The role runs until this fires (SIGTERM, SIGINT).
  const ShutdownSignal& shutdown;
  // Tests only (`--insecure-replay-seed`, which no config can set): the
  // seed a process's DP noise and the Kingdom's sketch seeds derive from,
  // so that a test of separate processes replays. Empty in production: the
  // operating system's randomness.
  std::string replay_seed;
};

}  // namespace halo

#endif  // HALO_ROLES_ROLE_CONTEXT_H_
