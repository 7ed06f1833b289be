// A data provider's agent: keeps its event groups registered, follows its
// requisitions at the Kingdom, and answers each from the event files in its
// events directory: it checks the MC's signatures and the spec, measures the
// events selected by time and filter, and sends an encrypted sketch or
// frequency-vector shares to the fulfilling duchy, or a signed result to the
// Kingdom; or it refuses, with the reason. Used by `halo --role=edp-agent`,
// `halo demo` and tests.
#ifndef HALO_EDP_EDP_AGENT_H_
#define HALO_EDP_EDP_AGENT_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "halo/api/content_signer.h"
#include "halo/config/config.pb.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/dp/calibration.h"
#include "halo/net/tls.h"

namespace halo::monitoring {
class Registry;
}  // namespace halo::monitoring

namespace halo::edp {

// Where an agent with `data_dir` keeps its privacy budget ledger, and the
// budget per bucket its config sets (defaults filled in).
std::string PrivacyBudgetPath(const std::string& data_dir);
dp::PrivacyBudget PrivacyBudgetOf(const config::PrivacyGuardConfig& privacy);

struct EdpAgentOptions {
  config::EdpAgentConfig config;
  std::string data_dir;
  net::TlsMaterial tls;
  // Signs the results; required.
  std::optional<api::ContentSigner> signer;
  crypto::EncryptionKeyPair encryption_key = crypto::EncryptionKeyPair::Generate();
  // The first retry of a requisition that failed for want of the Kingdom or
  // a duchy waits this long, doubling up to 5 minutes.
  absl::Duration first_retry = absl::Seconds(1);
  // Tests and the demo only; no config sets it. Draws each measurement's
  // DP noise from a seed derived from this one and the measurement, so that
  // a run replays (halo/api/replay_seed.h). Empty: the operating system's.
  std::string replay_seed;
  // Where its requisitions, budget and calls are counted; none when null.
  // Not owned.
  monitoring::Registry* metrics = nullptr;
};

class EdpAgent {
 public:
  // Checks the options and starts: registration (retried until the Kingdom
  // answers), then the requisitions.
  static absl::StatusOr<std::unique_ptr<EdpAgent>> Start(EdpAgentOptions options);
  ~EdpAgent();

  // Waits until the event groups are registered; false on timeout.
  bool AwaitRegistered(absl::Duration timeout);
  // Stops taking requisitions and waits for those in progress.
  void Shutdown();

  struct Counts {
    int64_t fulfilled = 0;
    int64_t refused = 0;
    int64_t failed_attempts = 0;  // retried later
  };
  Counts counts() const;
  // Its status page: what it did with the recent requisitions, and the
  // privacy budget each measurement consumer has left.
  absl::StatusOr<std::string> StatusPage() const;

  struct State;

 private:
  explicit EdpAgent(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace halo::edp

#endif  // HALO_EDP_EDP_AGENT_H_
