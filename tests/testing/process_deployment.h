// A deployment with every party its own `halo` process on loopback, as an
// operator runs it: a Kingdom, three duchies (worker1, worker2, aggregator)
// and two EDP agents (edp1, edp2) reading generated event files, all over
// mutual TLS (one test root, registered as every party's). The caller is
// the measurement consumer mc1. Roles can be killed with SIGKILL and started
// again on the same data, ports and config, for fault tests; the end-to-end
// benchmark measures it.
#ifndef HALO_TESTS_TESTING_PROCESS_DEPLOYMENT_H_
#define HALO_TESTS_TESTING_PROCESS_DEPLOYMENT_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/config/config.pb.h"
#include "halo/edp/synthetic_events.h"
#include "halo/mc/measurement_consumer_client.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"
#include "testing/tls_fixture.h"

namespace halo::testing {

struct ProcessDeploymentOptions {
  // The EDPs' event files: {events_dir}/edp1 and {events_dir}/edp2, each
  // with event groups "{edp}-video" and "{edp}-display".
  std::string events_dir;
  bool prefer_hmss = false;
  // 0: the Kingdom's defaults.
  int64_t population_size = 0;
  int64_t llv2_sketch_size = 0;
  double llv2_decay_rate = 0;
  // Every process's --insecure-replay-seed: its DP noise replays, so a
  // test's check of the result cannot fail by chance. Empty: none.
  std::string replay_seed;
  // 0: each duchy is one `--role=duchy` process. Otherwise each is a
  // `duchy-herald` ("duchy-{id}") and this many `duchy-mill`s
  // ("mill-{id}-{i}"), every one its own process.
  int mills_per_duchy = 0;
  // The mills' lease (0: 30 s).
  int mill_lease_seconds = 0;
  // Threads a stage uses (0: one per core).
  int mill_parallelism = 0;
  // Also a Panel Exchange daemon for edp1 ("exchange-edp1"); no exchange is
  // scheduled for it.
  bool exchange_daemon = false;
};

// Writes synthetic event files for the deployment's two EDPs under `dir`
// (each reaching 70% of an audience of `audience_size` out of
// `population_size`, 3 events a person on average, event groups
// "{edp}-video" and "{edp}-display"), and returns their truth.
absl::StatusOr<edp::SyntheticEventsSummary> WriteDeploymentEvents(const std::string& dir, uint64_t population_size,
                                                                  uint64_t audience_size, uint64_t seed);

class ProcessDeployment {
 public:
  // "kingdom", "duchy-worker1", "duchy-worker2", "duchy-aggregator",
  // "edp-edp1", "edp-edp2", any mills ("mill-worker1-0", ...) and the
  // exchange daemon ("exchange-edp1").
  const std::vector<std::string>& roles() const { return roles_; }

  // Starts the Kingdom, registers every party, starts the duchies and the
  // agents, and waits until the agents have registered their event groups.
  static absl::StatusOr<std::unique_ptr<ProcessDeployment>> Start(ProcessDeploymentOptions options);
  // Stops every role with SIGTERM.
  ~ProcessDeployment();

  // SIGKILL: the role dies where it stands, as on a power cut.
  void Kill(const std::string& role);
  // Starts a killed or stopped role again on its data, ports and config.
  absl::Status Restart(const std::string& role);
  bool Running(const std::string& role) const;
  pid_t Pid(const std::string& role) const;
  // Every log the role wrote, one incarnation after another.
  std::string Log(const std::string& role) const;

  // mc1, talking to the Kingdom.
  absl::StatusOr<std::unique_ptr<mc::McClient>> Mc() const;
  // mc1's config for `halo mc`, with the same encryption key as Mc()'s, so
  // that it opens the results of measurements Mc() created.
  absl::StatusOr<std::string> McConfigFile() const;
  // The herald's data directory of duchy `id`, for `halo duchy computations`.
  std::string DataDir(const std::string& role) const { return dir_.Sub(role); }
  // The port of the role's monitoring listener (/metrics, /healthz).
  int MonitoringPort(const std::string& role) const { return monitoring_ports_.at(role); }
  // The config file the role was last started with.
  std::string ConfigFile(const std::string& role) const { return dir_.Sub(role + ".textproto"); }
  // A reach-and-frequency measurement over every event group the agents
  // registered, across the synthetic events' whole window (epsilon 1,
  // delta 1e-9, frequencies up to 5).
  mc::MeasurementRequest ReachAndFrequencyRequest() const;
  // The event groups the agents registered for mc1.
  const std::vector<std::string>& event_groups() const { return event_groups_; }

 private:
  ProcessDeployment(ProcessDeploymentOptions options);
  config::HaloConfig ConfigOf(const std::string& role) const;
  absl::Status Register();
  config::TlsConfig Tls(const std::string& subject) const { return tls_.at(subject); }
  // mc1's, made on first use.
  absl::StatusOr<crypto::EncryptionKeyPair> McEncryptionKey() const;
  config::SigningConfig Signing(const std::string& subject) const { return signing_.at(subject); }

  ProcessDeploymentOptions options_;
  TempDir dir_;
  TlsFixture fixture_;
  std::map<std::string, config::TlsConfig> tls_;
  std::map<std::string, config::SigningConfig> signing_;
  int kingdom_public_ = 0, kingdom_system_ = 0;
  // A duchy's ComputationControl and RequisitionFulfillment ports.
  std::map<std::string, std::pair<int, int>> duchy_ports_;
  // A herald's mill service port.
  std::map<std::string, int> mill_ports_;
  std::map<std::string, int> monitoring_ports_;
  std::vector<std::string> roles_;
  std::map<std::string, std::unique_ptr<ChildProcess>> processes_;
  std::map<std::string, std::vector<std::string>> logs_;
  std::vector<std::string> event_groups_;
};

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_PROCESS_DEPLOYMENT_H_
