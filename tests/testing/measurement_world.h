// A whole deployment in one process measuring generated events, for the
// end-to-end measurement tests: a Kingdom, three duchies (worker1, worker2,
// aggregator), an EDP agent per generated EDP with one event group each
// ("{edp}-a", shared with mc1), and the MC. Events and DP noise follow from
// one seed, so each test's verdict is the same on every run.
#ifndef HALO_TESTS_TESTING_MEASUREMENT_WORLD_H_
#define HALO_TESTS_TESTING_MEASUREMENT_WORLD_H_

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "halo/config/config.pb.h"
#include "halo/deployment/in_process_deployment.h"
#include "halo/edp/event_selection.h"
#include "halo/edp/synthetic_events.h"
#include "halo/sketch/vid_sampling.h"
#include "testing/temp_dir.h"

namespace halo::testing {

// The generator's default campaign window.
inline constexpr int64_t kCampaignStart = 1'767'225'600'000'000;
inline constexpr int64_t kCampaignEnd = kCampaignStart + 28LL * 86400 * 1000000;

struct MeasurementWorldOptions {
  uint64_t population = 200'000;
  uint64_t audience = 3'000;
  uint64_t seed = 1;
  // Each reaches people with its probability and has event group "{name}-a".
  std::vector<std::pair<std::string, double>> edps;
  std::set<std::string> without_hmss;  // so that measurements with them run LLv2
  std::map<std::string, config::PrivacyGuardConfig> privacy;
  // Changes to the Kingdom's protocol settings.
  std::function<void(config::MeasurementProtocols&)> protocols;
};

class MeasurementWorld {
 public:
  explicit MeasurementWorld(const MeasurementWorldOptions& options);

  // Epsilon 1 and delta 1e-9 for every DP parameter set, maximum frequency 4.
  mc::MeasurementRequest Request(mc::MeasurementType type, const std::vector<std::string>& edps,
                                 const std::string& filter = "", sketch::VidSamplingInterval interval = {0, 1});
  // The truth over the union of `edps`' selected events, the whole
  // population (a sampled measurement estimates it).
  edp::VidTally Truth(const std::vector<std::string>& edps, const std::string& filter = "");
  // Creates the measurement, checks the Kingdom chose `expected`, waits.
  api::v1::Measurement Run(const mc::MeasurementRequest& request, api::v1::Protocol expected);
  api::v1::Measurement Await(const std::string& name);
  // The result of a measurement that must have succeeded.
  api::v1::MeasurementResult Open(const api::v1::Measurement& m);

  mc::McClient& mc() { return deployment_->mc(); }
  deployment::InProcessDeployment& deployment() { return *deployment_; }
  const std::string& group(const std::string& reference) { return groups_.at(reference); }

 private:
  TempDir dir_;
  uint64_t population_;
  std::unique_ptr<deployment::InProcessDeployment> deployment_;
  std::map<std::string, std::string> groups_;
};

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_MEASUREMENT_WORLD_H_
