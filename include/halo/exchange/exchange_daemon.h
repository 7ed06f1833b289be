// A party's Panel Exchange daemon: claims the ready steps assigned to its
// party from the Kingdom, runs each (several at once) against its private
// storage and the shared storage, and reports each attempt's end: SUCCEEDED,
// FAILED (to be tried again) or FAILED_STEP with the reason. Outputs are
// written atomically, so a daemon that stops mid-step leaves nothing half
// written; the Kingdom hands the step out again when the attempt's lease
// expires, and the exchange goes on from the last step that succeeded.
// Used by `halo --role=exchange-daemon`, `halo demo exchange` and tests.
#ifndef HALO_EXCHANGE_EXCHANGE_DAEMON_H_
#define HALO_EXCHANGE_EXCHANGE_DAEMON_H_

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "halo/api/content_signer.h"
#include "halo/config/config.pb.h"
#include "halo/net/tls.h"

namespace halo::monitoring {
class Registry;
}  // namespace halo::monitoring

namespace halo::exchange {

struct ExchangeDaemonOptions {
  config::ExchangeDaemonConfig config;
  std::string data_dir;
  net::TlsMaterial tls;
  // Signs the shared blobs of steps that name no exchange certificate;
  // required.
  std::optional<api::ContentSigner> signer;
  // The CA of config.certificate_authority, PEM, if the party has one.
  std::string certificate_authority_pem;
  std::string certificate_authority_key_pem;
  // Where its steps and calls are counted; none when null. Not owned.
  monitoring::Registry* metrics = nullptr;
};

class ExchangeDaemon {
 public:
  static absl::StatusOr<std::unique_ptr<ExchangeDaemon>> Start(ExchangeDaemonOptions options);
  ~ExchangeDaemon();
  // Stops claiming; steps in progress stop at their next check and are not
  // reported, so their leases run out and the steps are tried again, as
  // after a crash.
  void Shutdown();

  struct Counts {
    int64_t succeeded = 0;
    int64_t failed = 0;
  };
  Counts counts() const;
  // Its status page: the steps it ran last, how they ended and how long
  // they took.
  absl::StatusOr<std::string> StatusPage() const;

  struct State;

 private:
  explicit ExchangeDaemon(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace halo::exchange

#endif  // HALO_EXCHANGE_EXCHANGE_DAEMON_H_
