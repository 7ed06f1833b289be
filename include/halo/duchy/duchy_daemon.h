// A duchy at work: its herald follows the Kingdom's computations for this
// duchy, its mills run the stages, and its servers take stage inputs from
// other duchies (ComputationControl) and uploads from EDPs
// (RequisitionFulfillment). State is in SQLite and blobs in RocksDB under
// the data directory, so a restarted duchy picks up where it stopped.
// Used by `halo --role=duchy`, `halo demo` and tests.
#ifndef HALO_DUCHY_DUCHY_DAEMON_H_
#define HALO_DUCHY_DUCHY_DAEMON_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "halo/api/content_signer.h"
#include "halo/config/config.pb.h"
#include "halo/net/tls.h"

namespace halo::monitoring {
class Registry;
}  // namespace halo::monitoring

namespace halo::duchy {

struct DuchyOptions {
  config::DuchyConfig config;
  std::string data_dir;
  net::TlsMaterial tls;
  // Signs the duchy's ElGamal keys and results; required.
  std::optional<api::ContentSigner> signer;
  // Mills in this process; each runs one stage at a time. 0 for a herald
  // whose mills are other processes (config.mill_service_address).
  int mills = 1;
  // How long a claim lasts unless renewed. A mill renews it every third
  // of a lease while its stage runs, so a dead mill's work is taken over
  // within a lease and a long stage keeps its claim while its mill lives.
  absl::Duration lease = absl::Seconds(30);
  // The first retry of a failed stage waits this long, doubling each
  // attempt up to 10 minutes; config.max_stage_attempts bounds the attempts.
  absl::Duration first_retry = absl::Seconds(1);
  // Tests and the demo only; no config sets it. Each stage draws its DP
  // noise from a seed derived from this one and the measurement, so that a
  // run replays (halo/api/replay_seed.h). Empty: the operating system's.
  std::string replay_seed;
  // Where its calls, stages and queue are counted; none when null. Not
  // owned.
  monitoring::Registry* metrics = nullptr;
};

class DuchyDaemon {
 public:
  // Opens the stores, binds both addresses (port 0 picks one) and starts
  // the herald and the mills.
  static absl::StatusOr<std::unique_ptr<DuchyDaemon>> Start(DuchyOptions options);
  ~DuchyDaemon();
  int computation_control_port() const;
  int requisition_fulfillment_port() const;
  // 0 unless config.mill_service_address is set.
  int mill_service_port() const;
  // Tells the other duchies' ComputationControl targets, when they were
  // not known at start (tests and the demo bind port 0).
  void SetPeerTarget(const std::string& duchy_id, const std::string& target);
  // Its status page: computations in progress with stage, attempts, lease
  // owner and age, and the recent failures with their reasons.
  absl::StatusOr<std::string> StatusPage();
  // Stops the herald and the mills (a stage in progress is abandoned and
  // retried after a restart) and the servers.
  void Shutdown();

  struct State;

 private:
  explicit DuchyDaemon(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace halo::duchy

#endif  // HALO_DUCHY_DUCHY_DAEMON_H_
