// The Kingdom as a running service: its ledger in SQLite, the public API and
// the system API each on their own mTLS port, and housekeeping in the
// background. Used by `halo --role=kingdom`, `halo demo` and tests.
#ifndef HALO_KINGDOM_KINGDOM_SERVER_H_
#define HALO_KINGDOM_KINGDOM_SERVER_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "halo/config/config.pb.h"
#include "halo/net/tls.h"

namespace halo::monitoring {
class Registry;
}  // namespace halo::monitoring

namespace halo::kingdom {

class Ledger;

struct KingdomServerOptions {
  config::KingdomConfig config;
  std::string database_path;
  net::TlsMaterial tls;
  std::function<absl::Time()> clock = [] { return absl::Now(); };
  // Tests and the demo only; no config sets it. A measurement's sketch
  // fingerprint seed is derived from it and the measurement spec, so that a
  // run replays (halo/api/replay_seed.h). Empty: the operating system's.
  std::string replay_seed;
  // Where its calls and records are counted; none when null. Not owned.
  monitoring::Registry* metrics = nullptr;
};

class KingdomServer {
 public:
  // Opens (or creates) the database, checks the protocol config, binds both
  // addresses and starts serving.
  static absl::StatusOr<std::unique_ptr<KingdomServer>> Start(KingdomServerOptions options);
  ~KingdomServer();

  int public_port() const;
  int system_port() const;
  // Runs housekeeping now (it also runs on the configured interval);
  // returns how many measurements it cancelled and deleted.
  absl::StatusOr<std::pair<int, int>> RunHousekeeping();
  // OK when its database answers.
  absl::Status CheckHealth();
  // Its status page: measurements by state and the recent failures, why.
  absl::StatusOr<std::string> StatusPage();
  // Stops serving, waiting up to `grace` for calls in flight.
  void Shutdown(absl::Duration grace);

 private:
  struct State;
  explicit KingdomServer(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace halo::kingdom

#endif  // HALO_KINGDOM_KINGDOM_SERVER_H_
