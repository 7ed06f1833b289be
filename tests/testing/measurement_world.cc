#include "testing/measurement_world.h"

#include <catch2/catch.hpp>

#include "testing/test_databases.h"

namespace halo::testing {

using api::v1::Measurement;

MeasurementWorld::MeasurementWorld(const MeasurementWorldOptions& o) : population_(o.population) {
  edp::SyntheticEventsOptions events;
  events.population_size = o.population;
  events.audience_size = o.audience;
  events.seed = o.seed;
  for (const auto& [name, reach] : o.edps) events.edps.push_back({name, reach, {name + "-a"}});
  REQUIRE(edp::WriteSyntheticEvents(events, dir_.Sub("events")).ok());
  deployment::InProcessDeploymentOptions options;
  options.dir = dir_.Sub("deployment");
  options.database = testing::BackendUnderTest() == testing::Backend::kPostgres
                         ? deployment::DeploymentDatabase::kPostgresql
                         : deployment::DeploymentDatabase::kSqlite;
  options.replay_seed = o.seed;
  for (const char* d : {"worker1", "worker2", "aggregator"}) options.protocols.add_duchies(d);
  options.protocols.set_aggregator("aggregator");
  options.protocols.set_prefer_hmss(true);
  options.protocols.set_population_size(static_cast<int64_t>(o.population));
  options.measurement_consumers = {"mc1", "mc2"};
  if (o.protocols) o.protocols(options.protocols);
  for (const auto& e : events.edps) {
    deployment::DeploymentEdp edp{e.name, !o.without_hmss.count(e.name), true, dir_.Sub("events/" + e.name), {}, {}};
    if (o.privacy.count(e.name)) edp.privacy = o.privacy.at(e.name);
    edp.privacy.set_age_field("age");
    edp.privacy.set_gender_field("gender");
    config::EventGroupConfig group;
    group.set_reference_id(e.event_groups[0]);
    group.set_measurement_consumer("measurementConsumers/mc1");
    edp.event_groups.push_back(group);
    // Shared with another MC only: mc1 may not name it.
    config::EventGroupConfig others;
    others.set_reference_id(e.name + "-for-mc2");
    others.set_measurement_consumer("measurementConsumers/mc2");
    edp.event_groups.push_back(others);
    options.edps.push_back(edp);
  }
  auto started = deployment::InProcessDeployment::Start(options);
  INFO(started.status().message());
  REQUIRE(started.ok());
  deployment_ = *std::move(started);
  auto shared = deployment_->mc().ListEventGroups();
  REQUIRE(shared.ok());
  for (const auto& group : *shared) groups_[group.event_group_reference_id()] = group.name();
}

mc::MeasurementRequest MeasurementWorld::Request(mc::MeasurementType type, const std::vector<std::string>& edps,
                                                 const std::string& filter, sketch::VidSamplingInterval interval) {
  mc::MeasurementRequest r;
  r.type = type;
  for (const std::string& edp : edps) {
    r.event_groups.push_back({groups_.at(edp + "-a"), kCampaignStart, kCampaignEnd, filter});
  }
  r.privacy.set_epsilon(1);
  r.privacy.set_delta(1e-9);
  r.frequency_privacy = r.privacy;
  r.maximum_frequency = 4;
  r.vid_sampling_start = interval.start;
  r.vid_sampling_width = interval.width;
  return r;
}

edp::VidTally MeasurementWorld::Truth(const std::vector<std::string>& edps, const std::string& filter) {
  edp::VidTally tally(*sketch::VidSampler::Create(population_, {0, 1}));
  for (const std::string& edp : edps) {
    const std::vector<edp::EventGroupSelection> selections = {
        {edp + "-a", kCampaignStart, kCampaignEnd, *edp::EventFilter::Parse(filter)}};
    REQUIRE(tally.Add(*edp::ListEventFiles(dir_.Sub("events/" + edp)), selections).ok());
  }
  return tally;
}

Measurement MeasurementWorld::Run(const mc::MeasurementRequest& request, api::v1::Protocol expected) {
  auto created = deployment_->mc().CreateMeasurement(request);
  INFO(created.status().message());
  REQUIRE(created.ok());
  CHECK(created->protocol_config().protocol() == expected);
  return Await(created->name());
}

Measurement MeasurementWorld::Await(const std::string& name) {
  auto done = deployment_->mc().AwaitMeasurement(name, absl::Minutes(5));
  INFO(done.status().message());
  REQUIRE(done.ok());
  return *done;
}

api::v1::MeasurementResult MeasurementWorld::Open(const Measurement& m) {
  INFO(m.failure().message());
  REQUIRE(m.state() == Measurement::SUCCEEDED);
  auto result = deployment_->mc().OpenResult(m);
  INFO(result.status().message());
  REQUIRE(result.ok());
  return *result;
}

}  // namespace halo::testing
