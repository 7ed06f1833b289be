// The one shape of every daemon role: a factory starts the role's service
// from its config, the role table (role_table.h) runs it until shutdown.
// Roles never include each other; only the table knows them all.
#ifndef HALO_ROLES_SERVICE_H_
#define HALO_ROLES_SERVICE_H_

#include <grpcpp/channel.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "halo/config/config.pb.h"
#include "halo/monitoring/metrics.h"

namespace halo {

// What a role starts with besides its config.
struct ServiceEnvironment {
  // Where the role counts what it does, when the config asks for
  // monitoring; null otherwise.
  std::shared_ptr<monitoring::Registry> metrics;
  // The role's data directory, acquired (locked) for this process.
  std::string data_dir;
  // Tests only (`--insecure-replay-seed`, which no config can set): the
  // seed a process's DP noise and the Kingdom's sketch seeds derive from,
  // so that a test of separate processes replays. Empty in production: the
  // operating system's randomness.
  std::string replay_seed;
};

class Service {
 public:
  virtual ~Service() = default;
  // Stops serving and working; logs what the role did, if it counts that.
  virtual void Shutdown() = 0;
};

struct StartedService {
  std::unique_ptr<Service> service;
  // Who it is ("kingdom", "duchy worker1"), for the log.
  std::string name;
  // Logged once it serves (tests and operators wait for it).
  std::string started;
  // The Kingdom it works for, watched until shutdown so that the log says
  // when it cannot be reached; null for the Kingdom itself.
  std::shared_ptr<grpc::Channel> kingdom;
  std::string kingdom_name;  // "kingdom system API at HOST:PORT"
  // What the role needs beyond serving to be healthy (the Kingdom: its
  // database); null when serving is all. Its Kingdom's reachability is
  // checked besides.
  std::function<absl::Status()> health;
  // The role's status page (halo/monitoring/status_page.h), served at / on
  // the monitoring listener; null for none.
  std::function<absl::StatusOr<std::string>()> status_page;
};

using ServiceFactory =
    std::function<absl::StatusOr<StartedService>(const config::HaloConfig& config, const ServiceEnvironment& env)>;

}  // namespace halo

#endif  // HALO_ROLES_SERVICE_H_
