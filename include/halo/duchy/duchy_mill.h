// A mill of a duchy in its own process (`halo --role=duchy-mill`): it
// claims work from its herald's MillWork service, runs the stages on its
// threads, and streams their outputs back. It keeps nothing: killed at any
// moment, its claim lapses within a lease and another mill takes it over.
#ifndef HALO_DUCHY_DUCHY_MILL_H_
#define HALO_DUCHY_DUCHY_MILL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "halo/config/config.pb.h"
#include "halo/net/tls.h"

namespace halo::monitoring {
class Registry;
}  // namespace halo::monitoring

namespace halo::duchy {

struct DuchyMillOptions {
  config::DuchyMillConfig config;
  // Its certificate names it: duchies/{duchy_id}/mills/{name}.
  net::TlsMaterial tls;
  // See DuchyOptions; config.lease_seconds, when set, overrides it.
  absl::Duration lease = absl::Seconds(30);
  absl::Duration first_retry = absl::Seconds(1);
  std::string replay_seed;
  // Where its stages and calls are counted; none when null. Not owned.
  monitoring::Registry* metrics = nullptr;
};

class DuchyMill {
 public:
  // INVALID_ARGUMENT naming the setting when the certificate is not one of
  // a mill of config.duchy_id. The herald need not be up yet.
  static absl::StatusOr<std::unique_ptr<DuchyMill>> Start(DuchyMillOptions options);
  ~DuchyMill();
  // The claims' owner: the certificate's subject.
  const std::string& name() const;
  // Stops after the stage in progress is abandoned (its claim lapses).
  void Shutdown();

  struct State;

 private:
  explicit DuchyMill(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace halo::duchy

#endif  // HALO_DUCHY_DUCHY_MILL_H_
