// Measurements end to end through a whole deployment in one process: EDP
// agents answer from generated event files, duchies compute, and the MC
// opens and checks each result against the truth counted from the files.
#include <catch2/catch.hpp>

#include <thread>

#include "absl/strings/str_cat.h"
#include "halo/api/certificate_name.h"
#include "halo/api/envelopes.h"
#include "halo/api/nonce.h"
#include "halo/crypto/random.h"
#include "halo/deployment/in_process_deployment.h"
#include "halo/edp/event_selection.h"
#include "halo/edp/synthetic_events.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"
#include "halo/stats/estimate.h"
#include "testing/measurement_world.h"

namespace halo::edp {
namespace {

using api::v1::Measurement;
using api::v1::MeasurementResult;

constexpr int64_t kStart = testing::kCampaignStart;
constexpr int64_t kEnd = testing::kCampaignEnd;

// edp3 does not support HMSS, so measurements that include it run LLv2.
class World : public testing::MeasurementWorld {
 public:
  // `privacy`: EDPs' limits and budgets other than the defaults.
  explicit World(const std::map<std::string, config::PrivacyGuardConfig>& privacy = {})
      : MeasurementWorld({.edps = {{"edp1", 0.5}, {"edp2", 0.4}, {"edp3", 0.4}},
                          .without_hmss = {"edp3"},
                          .privacy = privacy}) {}
};

void CheckReach(const MeasurementResult& result, const VidTally& truth) {
  INFO("reach " << result.reach().value() << " +- " << result.reach().standard_error() << " against "
                << truth.Reach());
  CHECK(result.reach().standard_error() > 0);
  CHECK(std::abs(result.reach().value() - static_cast<double>(truth.Reach())) <= 3 * result.reach().standard_error());
}

void CheckFrequency(const MeasurementResult& result, const VidTally& truth, int max_frequency) {
  const std::vector<uint64_t> histogram = truth.Histogram(max_frequency);
  REQUIRE(result.frequency().relative_frequency_size() == max_frequency);
  // The distribution is one result within 3 standard errors: its buckets
  // checked together (stats::SimultaneousStandardErrors).
  const double k_se = stats::SimultaneousStandardErrors(3, max_frequency);
  for (int k = 0; k < max_frequency; ++k) {
    const double expected = static_cast<double>(histogram[k]) / static_cast<double>(truth.Reach());
    INFO("frequency " << k + 1 << ": " << result.frequency().relative_frequency(k) << " +- "
                      << result.frequency().standard_error(k) << " against " << expected);
    CHECK(std::abs(result.frequency().relative_frequency(k) - expected) <=
          k_se * result.frequency().standard_error(k) + 1e-9);
  }
}

TEST_CASE("Every protocol and measurement type comes out within 3 standard errors of the truth in the files") {
  World w;
  using T = mc::MeasurementType;
  SECTION("MPC") {
    const MeasurementResult hmss = w.Open(w.Run(w.Request(T::kReachAndFrequency, {"edp1", "edp2"}),
                                                api::v1::HONEST_MAJORITY_SHARE_SHUFFLE));
    CheckReach(hmss, w.Truth({"edp1", "edp2"}));
    CheckFrequency(hmss, w.Truth({"edp1", "edp2"}), 4);
    const std::string adults = "age >= 18 && gender == \"F\"";
    const MeasurementResult llv2 = w.Open(w.Run(w.Request(T::kReachAndFrequency, {"edp1", "edp3"}, adults),
                                                api::v1::LIQUID_LEGIONS_V2));
    CheckReach(llv2, w.Truth({"edp1", "edp3"}, adults));
    CheckFrequency(llv2, w.Truth({"edp1", "edp3"}, adults), 4);
    const MeasurementResult reach_only =
        w.Open(w.Run(w.Request(T::kReach, {"edp2", "edp3"}), api::v1::REACH_ONLY_LIQUID_LEGIONS_V2));
    CheckReach(reach_only, w.Truth({"edp2", "edp3"}));
  }
  SECTION("direct") {
    CheckReach(w.Open(w.Run(w.Request(T::kReach, {"edp3"}, "region == \"north\""), api::v1::DIRECT)),
               w.Truth({"edp3"}, "region == \"north\""));
    mc::MeasurementRequest impressions = w.Request(T::kImpression, {"edp1", "edp2"});
    impressions.maximum_frequency_per_user = 3;
    const MeasurementResult counted = w.Open(w.Run(impressions, api::v1::DIRECT));
    const double truth = static_cast<double>(w.Truth({"edp1"}).Impressions(3) + w.Truth({"edp2"}).Impressions(3));
    INFO("impressions " << counted.impression().value() << " +- " << counted.impression().standard_error());
    CHECK(std::abs(counted.impression().value() - truth) <= 3 * counted.impression().standard_error());
    mc::MeasurementRequest duration = w.Request(T::kDuration, {"edp2"});
    duration.maximum_watch_duration_seconds = 100;
    const MeasurementResult watched = w.Open(w.Run(duration, api::v1::DIRECT));
    const double seconds = *w.Truth({"edp2"}).WatchSeconds(100);
    INFO("seconds " << watched.watch_duration().seconds() << " +- " << watched.watch_duration().standard_error());
    CHECK(std::abs(watched.watch_duration().seconds() - seconds) <= 3 * watched.watch_duration().standard_error());
  }
}

TEST_CASE("An EDP refuses a filter over a field its events lack, naming it, and the measurement fails") {
  World w;
  const Measurement m =
      w.Run(w.Request(mc::MeasurementType::kReach, {"edp3"}, "income > 3"), api::v1::DIRECT);
  CHECK(m.state() == Measurement::FAILED);
  CHECK(m.failure().reason() == Measurement::Failure::REQUISITION_REFUSED);
  CHECK_THAT(m.failure().message(), Catch::Contains("income"));
}

TEST_CASE("An EDP refuses what is beyond its limits or its privacy budget, and the MC reads why") {
  config::PrivacyGuardConfig strict;
  strict.set_maximum_epsilon(0.5);
  strict.set_maximum_frequency(3);
  strict.set_budget_epsilon(1);
  strict.set_budget_delta(1e-9);
  World w({{"edp3", strict}});
  using T = mc::MeasurementType;
  const Measurement loud = w.Run(w.Request(T::kReach, {"edp3"}), api::v1::DIRECT);
  CHECK(loud.state() == Measurement::FAILED);
  CHECK(loud.failure().reason() == Measurement::Failure::REQUISITION_REFUSED);
  CHECK_THAT(loud.failure().message(), Catch::Contains("INSUFFICIENT_PRIVACY_BUDGET") &&
                                           Catch::Contains("epsilon 1 is above this EDP's limit of 0.5"));
  mc::MeasurementRequest frequent = w.Request(T::kReachAndFrequency, {"edp3"});
  frequent.privacy.set_epsilon(0.5);
  frequent.frequency_privacy.set_epsilon(0.5);
  const Measurement too_frequent = w.Run(frequent, api::v1::DIRECT);
  CHECK(too_frequent.state() == Measurement::FAILED);
  CHECK_THAT(too_frequent.failure().message(), Catch::Contains("maximum_frequency 4 is above this EDP's limit of 3"));

  // Quiet enough, but the budget runs out after a few.
  mc::MeasurementRequest quiet = w.Request(T::kReach, {"edp3"}, "age >= 55");
  quiet.privacy.set_epsilon(0.5);
  int succeeded = 0;
  Measurement refused;
  for (int i = 0; i < 10; ++i) {
    const Measurement m = w.Run(quiet, api::v1::DIRECT);
    if (m.state() != Measurement::SUCCEEDED) {
      refused = m;
      break;
    }
    ++succeeded;
  }
  CHECK(succeeded >= 1);
  CHECK(refused.state() == Measurement::FAILED);
  CHECK_THAT(refused.failure().message(), Catch::Contains("INSUFFICIENT_PRIVACY_BUDGET") &&
                                              Catch::Contains("privacy budget exceeded") &&
                                              Catch::Contains("age 55+"));
  // Other people's buckets still have budget.
  mc::MeasurementRequest young = w.Request(T::kReach, {"edp3"}, "age < 30");
  young.privacy.set_epsilon(0.5);
  const Measurement other_people = w.Run(young, api::v1::DIRECT);
  INFO(other_people.failure().message());
  CHECK(other_people.state() == Measurement::SUCCEEDED);
}

TEST_CASE("An EDP refuses a requisition spec not signed by the MC, one signed with the MC's TLS key, one naming "
          "another's event group, and one naming an event group not shared with the MC") {
  World w;
  auto& d = w.deployment();
  const net::TlsMaterial& mc_tls = d.tls("measurementConsumers/mc1");
  auto channel = net::OpenChannel(absl::StrCat("localhost:", d.kingdom_public_port()), mc_tls, net::kKingdomSubject);
  auto providers = api::v1::DataProviders::NewStub(channel);
  api::v1::GetDataProviderRequest get;
  get.set_name("dataProviders/edp3");
  const auto provider = *net::Call(*providers, &api::v1::DataProviders::Stub::GetDataProvider, get, "get");
  api::v1::EncryptionPublicKey edp_key;
  REQUIRE(edp_key.ParseFromString(provider.public_key().data()));
  const crypto::EcPoint edp_point = *api::ParseEncryptionPublicKey(edp_key.SerializeAsString());
  const crypto::SigningKey mc_key = d.signer("measurementConsumers/mc1").key;
  const std::string mc_certificate = d.signer("measurementConsumers/mc1").name;
  // The MC's TLS certificate is registered too, but signs nothing.
  const crypto::SigningKey mc_tls_key = *crypto::SigningKey::FromPrivateKeyPem(mc_tls.private_key_pem);
  const std::string mc_tls_certificate =
      api::CertificateName("measurementConsumers/mc1", *crypto::Certificate::FromPem(mc_tls.certificate_pem));
  const crypto::EncryptionKeyPair result_key = crypto::EncryptionKeyPair::Generate();

  // Asks edp3 for reach, with its RequisitionSpec signed by `signer`, which
  // the signature says is `certificate`.
  auto ask = [&](const crypto::SigningKey& signer, const std::string& event_group,
                 const std::string& certificate) {
    api::v1::MeasurementSpec spec;
    spec.set_measurement_public_key(api::ToEncryptionPublicKey(result_key.public_key).SerializeAsString());
    spec.mutable_reach()->mutable_privacy_params()->set_epsilon(1);
    spec.mutable_reach()->mutable_privacy_params()->set_delta(1e-9);
    spec.mutable_vid_sampling_interval()->set_width(1);
    const uint64_t nonce = crypto::SecureRandomUint64();
    spec.add_nonce_hashes(api::NonceHash(nonce));
    api::v1::RequisitionSpec requisition_spec;
    auto& entry = *requisition_spec.add_event_groups();
    entry.set_event_group(event_group);
    entry.mutable_collection_interval()->set_start_micros(kStart);
    entry.mutable_collection_interval()->set_end_micros(kEnd);
    requisition_spec.set_measurement_public_key(spec.measurement_public_key());
    requisition_spec.set_nonce(nonce);
    api::v1::CreateMeasurementRequest create;
    create.set_parent("measurementConsumers/mc1");
    auto& m = *create.mutable_measurement();
    m.set_measurement_consumer_certificate(mc_certificate);
    *m.mutable_measurement_spec() = api::Sign(spec, mc_key, mc_certificate);
    auto& provider_entry = *m.add_data_providers();
    provider_entry.set_data_provider("dataProviders/edp3");
    provider_entry.set_encrypted_requisition_spec(
        *api::EncryptRequisitionSpec(api::Sign(requisition_spec, signer, certificate), edp_point));
    provider_entry.set_nonce_hash(api::NonceHash(nonce));
    auto measurements = api::v1::Measurements::NewStub(channel);
    auto created = net::Call(*measurements, &api::v1::Measurements::Stub::CreateMeasurement, create, "create");
    INFO(created.status().message());
    REQUIRE(created.ok());
    return w.Await(created->name());
  };
  const Measurement forged = ask(crypto::SigningKey::Generate(), w.group("edp3-a"), mc_certificate);
  CHECK(forged.state() == Measurement::FAILED);
  CHECK_THAT(forged.failure().message(), Catch::Contains("CONSENT_SIGNAL_INVALID") ||
                                             Catch::Contains("signature"));
  const Measurement by_tls_key = ask(mc_tls_key, w.group("edp3-a"), mc_tls_certificate);
  CHECK(by_tls_key.state() == Measurement::FAILED);
  CHECK_THAT(by_tls_key.failure().message(), Catch::Contains("CONSENT_SIGNAL_INVALID"));
  const Measurement other = ask(mc_key, w.group("edp1-a"), mc_certificate);
  CHECK(other.state() == Measurement::FAILED);
  CHECK_THAT(other.failure().message(), Catch::Contains("is not one of dataProviders/edp3's"));
  // edp3's own event group, but shared with mc2, not with mc1.
  auto edp3_groups = api::v1::EventGroups::NewStub(net::OpenChannel(
      absl::StrCat("localhost:", d.kingdom_public_port()), d.tls("dataProviders/edp3"), net::kKingdomSubject));
  api::v1::ListEventGroupsRequest list;
  list.set_parent("dataProviders/edp3");
  const auto listed = net::Call(*edp3_groups, &api::v1::EventGroups::Stub::ListEventGroups, list, "list");
  REQUIRE(listed.ok());
  std::string for_mc2;
  for (const auto& group : listed->event_groups()) {
    if (group.measurement_consumer() == "measurementConsumers/mc2") for_mc2 = group.name();
  }
  REQUIRE_FALSE(for_mc2.empty());
  const Measurement unshared = ask(mc_key, for_mc2, mc_certificate);
  CHECK(unshared.state() == Measurement::FAILED);
  CHECK_THAT(unshared.failure().message(), Catch::Contains("is not shared with measurementConsumers/mc1"));
}

TEST_CASE("A duchy stopped mid-computation and started again finishes the measurement with a right result") {
  World w;
  auto created = w.deployment().mc().CreateMeasurement(
      w.Request(mc::MeasurementType::kReachAndFrequency, {"edp1", "edp3"}));
  REQUIRE(created.ok());
  REQUIRE(created->protocol_config().protocol() == api::v1::LIQUID_LEGIONS_V2);
  // Wait until the computation runs, then take worker2 down for a while.
  for (int i = 0; i < 300; ++i) {
    if (w.deployment().mc().GetMeasurement(created->name())->state() == Measurement::COMPUTING) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  w.deployment().StopDuchy("worker2");
  REQUIRE(w.deployment().mc().GetMeasurement(created->name())->state() == Measurement::COMPUTING);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  REQUIRE(w.deployment().StartDuchy("worker2").ok());
  const MeasurementResult result = w.Open(w.Await(created->name()));
  CheckReach(result, w.Truth({"edp1", "edp3"}));
  CheckFrequency(result, w.Truth({"edp1", "edp3"}), 4);
}

}  // namespace
}  // namespace halo::edp
