// The Kingdom's checks of a measurement request and its choice of protocol,
// with no ledger, database or network.
#include "measurement_planner.h"

#include <catch2/catch.hpp>

#include "halo/api/nonce.h"
#include "halo/crypto/hybrid_encryption.h"

namespace halo::kingdom {
namespace {

using api::v1::CreateMeasurementRequest;
using api::v1::MeasurementSpec;

config::MeasurementProtocols Protocols(bool prefer_hmss = true) {
  config::MeasurementProtocols protocols;
  for (const char* d : {"worker1", "worker2", "aggregator"}) protocols.add_duchies(d);
  protocols.set_aggregator("aggregator");
  protocols.set_prefer_hmss(prefer_hmss);
  return protocols;
}

MeasurementSpec ReachSpec(double epsilon = 1, double delta = 1e-9) {
  MeasurementSpec spec;
  spec.mutable_reach()->mutable_privacy_params()->set_epsilon(epsilon);
  spec.mutable_reach()->mutable_privacy_params()->set_delta(delta);
  return spec;
}

MeasurementSpec FrequencySpec(int maximum_frequency) {
  MeasurementSpec spec;
  auto& rf = *spec.mutable_reach_and_frequency();
  for (auto* p : {rf.mutable_reach_privacy_params(), rf.mutable_frequency_privacy_params()}) {
    p->set_epsilon(1);
    p->set_delta(1e-9);
  }
  rf.set_maximum_frequency(maximum_frequency);
  return spec;
}

std::vector<PlannedDataProvider> Providers(std::vector<bool> hmss) {
  std::vector<PlannedDataProvider> out;
  for (bool h : hmss) out.push_back({.supports_hmss = h});
  return out;
}

// A well-formed request of `edps` data providers with a reach spec.
CreateMeasurementRequest Request(int edps) {
  MeasurementSpec spec = ReachSpec();
  api::v1::EncryptionPublicKey key;
  key.set_point(crypto::EncryptionKeyPair::Generate().public_key.Encode());
  spec.set_measurement_public_key(key.SerializeAsString());
  CreateMeasurementRequest request;
  request.set_parent("measurementConsumers/mc1");
  for (int i = 0; i < edps; ++i) {
    spec.add_nonce_hashes(api::NonceHash(100 + i));
    auto& entry = *request.mutable_measurement()->add_data_providers();
    entry.set_data_provider("dataProviders/edp" + std::to_string(i + 1));
    entry.set_encrypted_requisition_spec("spec");
    entry.set_nonce_hash(api::NonceHash(100 + i));
  }
  request.mutable_measurement()->mutable_measurement_spec()->set_data(spec.SerializeAsString());
  return request;
}

TEST_CASE("One EDP, or an impression, is direct: no duchies, no upload targets") {
  auto one = PlanMeasurement(ReachSpec(), Providers({true}), Protocols(), "");
  REQUIRE(one.ok());
  CHECK(one->config.protocol() == api::v1::DIRECT);
  CHECK(one->ring.empty());
  CHECK(one->config.duchies_size() == 0);
  CHECK(one->fulfilling_duchies == std::vector<std::string>{""});
  MeasurementSpec impression;
  impression.mutable_impression()->mutable_privacy_params()->set_epsilon(1);
  impression.mutable_impression()->mutable_privacy_params()->set_delta(1e-9);
  impression.mutable_impression()->set_maximum_frequency_per_user(5);
  auto two = PlanMeasurement(impression, Providers({true, true}), Protocols(), "");
  REQUIRE(two.ok());
  CHECK(two->config.protocol() == api::v1::DIRECT);
}

TEST_CASE("HMSS when every EDP supports it and the Kingdom prefers it; EDPs upload to the two workers in turn") {
  auto plan = PlanMeasurement(ReachSpec(), Providers({true, true, true}), Protocols(), "");
  REQUIRE(plan.ok());
  CHECK(plan->config.protocol() == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE);
  CHECK(plan->ring == std::vector<std::string>{"worker1", "worker2", "aggregator"});
  CHECK(plan->config.aggregator() == "aggregator");
  CHECK(plan->config.ring_modulus() == 127);
  CHECK(plan->fulfilling_duchies == std::vector<std::string>{"worker1", "worker2", "worker1"});
  CHECK(plan->config.population_size() == 10'000'000);
}

TEST_CASE("Reach-only LLv2 when an EDP lacks HMSS or the Kingdom does not prefer it; EDPs upload round the ring") {
  auto lacking = PlanMeasurement(ReachSpec(), Providers({true, false, true, true}), Protocols(), "");
  REQUIRE(lacking.ok());
  CHECK(lacking->config.protocol() == api::v1::REACH_ONLY_LIQUID_LEGIONS_V2);
  CHECK(lacking->fulfilling_duchies == std::vector<std::string>{"worker1", "worker2", "aggregator", "worker1"});
  CHECK(lacking->config.sketch_size() == 1000000);
  CHECK(lacking->config.decay_rate() == 5.6);
  CHECK(lacking->config.blinded_histogram_noise().epsilon() == 1.0);
  auto not_preferred = PlanMeasurement(ReachSpec(), Providers({true, true}), Protocols(false), "");
  REQUIRE(not_preferred.ok());
  CHECK(not_preferred->config.protocol() == api::v1::REACH_ONLY_LIQUID_LEGIONS_V2);
}

TEST_CASE("Frequencies that could pass HMSS's ring go to LLv2") {
  // 3 EDPs x 42 < 127 fits; 3 x 43 does not.
  auto fits = PlanMeasurement(FrequencySpec(42), Providers({true, true, true}), Protocols(), "");
  REQUIRE(fits.ok());
  CHECK(fits->config.protocol() == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE);
  auto over = PlanMeasurement(FrequencySpec(43), Providers({true, true, true}), Protocols(), "");
  REQUIRE(over.ok());
  CHECK(over->config.protocol() == api::v1::LIQUID_LEGIONS_V2);
}

TEST_CASE("A replay seed fixes the sketch seed; without one it is fresh") {
  auto a = PlanMeasurement(ReachSpec(), Providers({false, false}), Protocols(), "seed");
  auto b = PlanMeasurement(ReachSpec(), Providers({false, false}), Protocols(), "seed");
  auto c = PlanMeasurement(ReachSpec(), Providers({false, false}), Protocols(), "");
  auto d = PlanMeasurement(ReachSpec(), Providers({false, false}), Protocols(), "");
  REQUIRE((a.ok() && b.ok() && c.ok() && d.ok()));
  CHECK(a->config.sketch_fingerprint_seed() == b->config.sketch_fingerprint_seed());
  CHECK(c->config.sketch_fingerprint_seed() != d->config.sketch_fingerprint_seed());
}

TEST_CASE("DP parameters are checked for the chosen protocol, naming the field") {
  auto over_cap = PlanMeasurement(ReachSpec(11), Providers({true, true}), Protocols(), "");
  CHECK(over_cap.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(over_cap.status().message()),
             Catch::Contains("measurement_spec.reach.privacy_params.epsilon") && Catch::Contains("maximum_epsilon"));
  auto no_delta = PlanMeasurement(ReachSpec(1, 0), Providers({true, true}), Protocols(), "");
  CHECK_THAT(std::string(no_delta.status().message()), Catch::Contains("delta") && Catch::Contains("> 0"));
  // Geometric noise needs no delta, except in HMSS.
  config::MeasurementProtocols geometric = Protocols(false);
  geometric.set_noise_mechanism(config::MeasurementProtocols::GEOMETRIC);
  CHECK(PlanMeasurement(ReachSpec(1, 0), Providers({true, true}), geometric, "").ok());
  auto frequency_one = PlanMeasurement(FrequencySpec(1), Providers({true, true}), Protocols(), "");
  CHECK_THAT(std::string(frequency_one.status().message()), Catch::Contains("maximum_frequency"));
  auto missing = PlanMeasurement(MeasurementSpec(), Providers({true}), Protocols(), "");
  CHECK_THAT(std::string(missing.status().message()), Catch::Contains("measurement_type"));
}

TEST_CASE("A request is checked on its own before anything is read, naming the field") {
  CHECK(CheckMeasurementRequest(Request(2)).ok());
  CreateMeasurementRequest twice = Request(2);
  twice.mutable_measurement()->mutable_data_providers(1)->set_data_provider("dataProviders/edp1");
  CHECK_THAT(std::string(CheckMeasurementRequest(twice).status().message()),
             Catch::Contains("measurement.data_providers[1]") && Catch::Contains("twice"));
  CreateMeasurementRequest stray = Request(2);
  stray.mutable_measurement()->mutable_data_providers(0)->set_nonce_hash(api::NonceHash(7));
  CHECK_THAT(std::string(CheckMeasurementRequest(stray).status().message()),
             Catch::Contains("measurement.data_providers[0].nonce_hash") && Catch::Contains("not among"));
  CreateMeasurementRequest none = Request(0);
  CHECK_THAT(std::string(CheckMeasurementRequest(none).status().message()), Catch::Contains("is empty"));
  CreateMeasurementRequest garbage = Request(1);
  garbage.mutable_measurement()->mutable_measurement_spec()->set_data("\xff\xff not a spec");
  CHECK_THAT(std::string(CheckMeasurementRequest(garbage).status().message()),
             Catch::Contains("measurement.measurement_spec.data"));
  CreateMeasurementRequest interval = Request(1);
  MeasurementSpec spec;
  REQUIRE(spec.ParseFromString(interval.measurement().measurement_spec().data()));
  spec.mutable_vid_sampling_interval()->set_start(0.5);
  spec.mutable_vid_sampling_interval()->set_width(0);
  interval.mutable_measurement()->mutable_measurement_spec()->set_data(spec.SerializeAsString());
  CHECK_THAT(std::string(CheckMeasurementRequest(interval).status().message()),
             Catch::Contains("vid_sampling_interval.width"));
  CreateMeasurementRequest big = Request(1);
  big.mutable_measurement()->mutable_data_providers(0)->set_encrypted_requisition_spec(
      std::string(kMaxSpecBytes + 1, 'x'));
  CHECK_THAT(std::string(CheckMeasurementRequest(big).status().message()),
             Catch::Contains("encrypted_requisition_spec") && Catch::Contains("at most"));
}

}  // namespace
}  // namespace halo::kingdom
