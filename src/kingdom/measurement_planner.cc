#include "measurement_planner.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "halo/api/resource_names.h"
#include "halo/api/protocol_version.h"
#include "halo/api/replay_seed.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/p256.h"
#include "halo/crypto/random.h"
#include "halo/crypto/sha256.h"
#include "halo/dp/limits.h"
#include "halo/protocol/hmss.h"
#include "halo/protocol/llv2.h"
#include "halo/protocol/reach_only_llv2.h"

namespace halo::kingdom {

using api::ParseName;
using api::v1::MeasurementSpec;
namespace llv2 = protocol::llv2;

absl::Status InvalidField(absl::string_view field, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", problem));
}

absl::Status CheckSpecSize(size_t bytes, const std::string& field) {
  if (bytes <= kMaxSpecBytes) return absl::OkStatus();
  return InvalidField(field, absl::StrCat("is ", bytes, " bytes; at most ", kMaxSpecBytes));
}

absl::Status CheckEncryptionKey(const std::string& bytes, absl::string_view field) {
  api::v1::EncryptionPublicKey key;
  if (!key.ParseFromString(bytes)) return InvalidField(field, "is not an EncryptionPublicKey");
  if (auto point = crypto::EcPoint::Decode(key.point()); !point.ok()) {
    return InvalidField(field, point.status().message());
  }
  return absl::OkStatus();
}

namespace {

// Refuses an epsilon that is not positive or above the cap, and a delta
// outside [0, 1), or 0 where the noise needs one (discrete Gaussian noise,
// and HMSS whatever its noise).
absl::Status CheckPrivacy(const api::v1::DifferentialPrivacyParams& p, absl::string_view field, bool needs_delta,
                          double maximum_epsilon) {
  if (!(p.epsilon() > 0) || !std::isfinite(p.epsilon())) {
    return InvalidField(absl::StrCat(field, ".epsilon"), absl::StrCat("must be > 0, got ", p.epsilon()));
  }
  if (p.epsilon() > maximum_epsilon) {
    return InvalidField(absl::StrCat(field, ".epsilon"),
                   absl::StrCat(p.epsilon(), " is above the largest this Kingdom accepts, ", maximum_epsilon,
                                " (kingdom.protocols.maximum_epsilon)"));
  }
  if (!(p.delta() >= 0) || !(p.delta() < 1)) {
    return InvalidField(absl::StrCat(field, ".delta"), absl::StrCat("must be in [0, 1), got ", p.delta()));
  }
  if (needs_delta && p.delta() == 0) {
    return InvalidField(absl::StrCat(field, ".delta"), "must be > 0 for this protocol's noise");
  }
  return absl::OkStatus();
}

llv2::DpParams LlDp(const api::v1::DifferentialPrivacyParams& p) {
  llv2::DpParams out;
  out.set_epsilon(p.epsilon());
  out.set_delta(p.delta());
  return out;
}

// Refuses DP parameters whose noise would pad one duchy's stage past
// dp::kMaxNoiseRecords, by the plans the duchies will make.
absl::Status CheckNoisePadding(const api::v1::MeasurementSpec& spec, const api::v1::ProtocolConfig& config,
                               int requisitions) {
  const bool geometric = config.noise_mechanism() == api::v1::GEOMETRIC;
  const int duchies = config.duchies_size();
  const auto refused = [](absl::string_view field, const absl::Status& status) {
    return InvalidField(field, status.message());
  };
  switch (config.protocol()) {
    case api::v1::HONEST_MAJORITY_SHARE_SHUFFLE: {
      protocol::hmss::HmssParameters p;
      p.set_ring_modulus(config.ring_modulus());
      p.set_vector_size(1);
      p.set_noise_mechanism(geometric ? protocol::hmss::GEOMETRIC : protocol::hmss::DISCRETE_GAUSSIAN);
      const bool rf = spec.has_reach_and_frequency();
      const auto& privacy = rf ? spec.reach_and_frequency().frequency_privacy_params() : spec.reach().privacy_params();
      p.set_max_frequency(rf ? spec.reach_and_frequency().maximum_frequency() : 1);
      p.mutable_bucket_noise()->set_epsilon(privacy.epsilon());
      p.mutable_bucket_noise()->set_delta(privacy.delta());
      if (auto size = protocol::hmss::NoiseBlockSize(p); !size.ok()) {
        return refused(rf ? "measurement_spec.reach_and_frequency.frequency_privacy_params"
                          : "measurement_spec.reach.privacy_params",
                       size.status());
      }
      return absl::OkStatus();
    }
    case api::v1::REACH_ONLY_LIQUID_LEGIONS_V2: {
      llv2::ReachNoiseParameters noise;
      noise.set_mechanism(geometric ? llv2::GEOMETRIC : llv2::DISCRETE_GAUSSIAN);
      noise.set_epsilon(spec.reach().privacy_params().epsilon());
      noise.set_delta(spec.reach().privacy_params().delta());
      noise.set_duchy_count(duchies);
      if (auto n = llv2::ReachNoiseRegisters(noise); !n.ok()) {
        return refused("measurement_spec.reach.privacy_params", n.status());
      }
      return absl::OkStatus();
    }
    case api::v1::LIQUID_LEGIONS_V2: {
      const auto& rf = spec.reach_and_frequency();
      llv2::RegisterNoiseParameters registers;
      registers.set_mechanism(geometric ? llv2::GEOMETRIC : llv2::DISCRETE_GAUSSIAN);
      *registers.mutable_blinded_histogram() = LlDp(config.blinded_histogram_noise());
      *registers.mutable_publisher_noise() = LlDp(config.publisher_noise());
      *registers.mutable_global_reach() = LlDp(rf.reach_privacy_params());
      registers.set_duchy_count(duchies);
      registers.set_total_sketches_count(requisitions);
      if (auto bounds = llv2::SetupNoise(registers); !bounds.ok()) {
        return refused("measurement_spec.reach_and_frequency.reach_privacy_params", bounds.status());
      }
      llv2::FlagCountNoiseParameters flags;
      flags.set_mechanism(registers.mechanism());
      *flags.mutable_frequency() = LlDp(rf.frequency_privacy_params());
      flags.set_non_aggregator_count(duchies - 1);
      flags.set_maximum_frequency(rf.maximum_frequency());
      if (auto bounds = llv2::FlagCountNoise(flags); !bounds.ok()) {
        return refused("measurement_spec.reach_and_frequency.frequency_privacy_params", bounds.status());
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();
  }
}

// Every EDP of a measurement puts a VID in the same register; a fresh seed
// per measurement keeps one measurement's sketch collisions from repeating
// in the next.
uint64_t SketchFingerprintSeed(const std::string& replay_seed, const api::v1::MeasurementSpec& spec,
                               api::v1::Protocol protocol) {
  if (replay_seed.empty()) return crypto::SecureRandomUint64();
  const std::string derived = api::ReplaySeed(replay_seed, "kingdom", "sketch fingerprint seed", spec, protocol);
  uint64_t seed = 0;
  for (int i = 0; i < 8; ++i) seed = seed << 8 | static_cast<uint8_t>(derived[i]);
  return seed;
}

}  // namespace

absl::StatusOr<MeasurementSpec> CheckMeasurementRequest(const api::v1::CreateMeasurementRequest& request) {
  const api::v1::Measurement& given = request.measurement();
  RETURN_IF_ERROR(CheckSpecSize(given.measurement_spec().ByteSizeLong(), "measurement.measurement_spec"));
  MeasurementSpec spec;
  if (given.measurement_spec().data().empty()) return InvalidField("measurement.measurement_spec.data", "is missing");
  if (!spec.ParseFromString(given.measurement_spec().data())) {
    return InvalidField("measurement.measurement_spec.data", "is not a MeasurementSpec");
  }
  RETURN_IF_ERROR(CheckEncryptionKey(spec.measurement_public_key(), "measurement_spec.measurement_public_key"));
  if (given.data_providers_size() == 0) return InvalidField("measurement.data_providers", "is empty");
  if (given.data_providers_size() > dp::kMaxDataProviders) {
    return InvalidField("measurement.data_providers", absl::StrCat("has ", given.data_providers_size(),
                                                              " entries; at most ", dp::kMaxDataProviders));
  }
  if (spec.nonce_hashes_size() != given.data_providers_size()) {
    return InvalidField("measurement_spec.nonce_hashes",
                   absl::StrCat("has ", spec.nonce_hashes_size(), " hashes for ", given.data_providers_size(),
                                " data providers"));
  }
  std::set<std::string> providers, spec_hashes(spec.nonce_hashes().begin(), spec.nonce_hashes().end()), used_hashes;
  for (int i = 0; i < given.data_providers_size(); ++i) {
    const auto& entry = given.data_providers(i);
    const std::string field = absl::StrCat("measurement.data_providers[", i, "]");
    RETURN_IF_ERROR(ParseName(entry.data_provider(), "dataProviders/*", field + ".data_provider").status());
    if (!providers.insert(entry.data_provider()).second) return InvalidField(field, "names a data provider twice");
    if (entry.encrypted_requisition_spec().empty()) return InvalidField(field + ".encrypted_requisition_spec", "is missing");
    RETURN_IF_ERROR(CheckSpecSize(entry.encrypted_requisition_spec().size(), field + ".encrypted_requisition_spec"));
    if (entry.nonce_hash().size() != crypto::kSha256Bytes) {
      return InvalidField(field + ".nonce_hash", absl::StrCat("must be 32 bytes, got ", entry.nonce_hash().size()));
    }
    if (!spec_hashes.count(entry.nonce_hash())) {
      return InvalidField(field + ".nonce_hash", "is not among measurement_spec.nonce_hashes");
    }
    if (!used_hashes.insert(entry.nonce_hash()).second) return InvalidField(field + ".nonce_hash", "is used twice");
  }
  const auto& interval = spec.vid_sampling_interval();
  const double width = spec.has_vid_sampling_interval() ? interval.width() : 1.0;
  if (!(interval.start() >= 0 && interval.start() < 1)) {
    return InvalidField("measurement_spec.vid_sampling_interval.start", "must be in [0, 1)");
  }
  if (!(width > 0 && width <= 1)) return InvalidField("measurement_spec.vid_sampling_interval.width", "must be in (0, 1]");

  return spec;
}

absl::StatusOr<MeasurementPlan> PlanMeasurement(const MeasurementSpec& spec,
                                                const std::vector<PlannedDataProvider>& providers,
                                                const config::MeasurementProtocols& protocols,
                                                const std::string& replay_seed) {
  MeasurementPlan plan;
  api::v1::ProtocolConfig& config = plan.config;
  config.set_noise_mechanism(protocols.noise_mechanism() == config::MeasurementProtocols::GEOMETRIC
                                 ? api::v1::GEOMETRIC
                                 : api::v1::DISCRETE_GAUSSIAN);
  const bool all_hmss = std::all_of(providers.begin(), providers.end(),
                                    [](const PlannedDataProvider& p) { return p.supports_hmss; });
  const int data_providers = static_cast<int>(providers.size());
  const bool reach = spec.has_reach(), frequency = spec.has_reach_and_frequency();
  if (!reach && !frequency && !spec.has_impression() && !spec.has_duration() && !spec.has_population()) {
    return InvalidField("measurement_spec.measurement_type", "is missing");
  }
  std::vector<std::string> workers;
  for (const std::string& d : protocols.duchies()) {
    if (d != protocols.aggregator()) workers.push_back(d);
  }
  api::v1::Protocol protocol = api::v1::DIRECT;
  if ((reach || frequency) && data_providers > 1) {
    // HMSS sums the EDPs' capped frequencies in its ring; when they could
    // pass its modulus, LLv2 counts them instead.
    const int64_t ring = protocols.hmss_ring_modulus() > 0 ? protocols.hmss_ring_modulus() : 127;
    const int64_t largest = frequency ? spec.reach_and_frequency().maximum_frequency() : 1;
    const bool fits = int64_t{data_providers} * largest < ring;
    if (protocols.prefer_hmss() && all_hmss && workers.size() == 2 && fits) {
      protocol = api::v1::HONEST_MAJORITY_SHARE_SHUFFLE;
    } else {
      protocol = reach ? api::v1::REACH_ONLY_LIQUID_LEGIONS_V2 : api::v1::LIQUID_LEGIONS_V2;
    }
  }
  const bool hmss = protocol == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE;
  const bool needs_delta = hmss || protocols.noise_mechanism() != config::MeasurementProtocols::GEOMETRIC;
  const double cap = protocols.maximum_epsilon() > 0 ? protocols.maximum_epsilon() : 10.0;
  if (reach) {
    RETURN_IF_ERROR(CheckPrivacy(spec.reach().privacy_params(), "measurement_spec.reach.privacy_params", needs_delta, cap));
  }
  if (frequency) {
    const auto& rf = spec.reach_and_frequency();
    RETURN_IF_ERROR(CheckPrivacy(rf.reach_privacy_params(), "measurement_spec.reach_and_frequency.reach_privacy_params",
                                 needs_delta, cap));
    RETURN_IF_ERROR(CheckPrivacy(rf.frequency_privacy_params(),
                                 "measurement_spec.reach_and_frequency.frequency_privacy_params", needs_delta, cap));
    if (rf.maximum_frequency() < 2 || rf.maximum_frequency() > dp::kMaxFrequency) {
      return InvalidField("measurement_spec.reach_and_frequency.maximum_frequency",
                          absl::StrCat("must be 2 to ", dp::kMaxFrequency, ", got ", rf.maximum_frequency()));
    }
  }
  if (spec.has_impression()) {
    RETURN_IF_ERROR(CheckPrivacy(spec.impression().privacy_params(), "measurement_spec.impression.privacy_params",
                                 needs_delta, cap));
    if (spec.impression().maximum_frequency_per_user() < 1) {
      return InvalidField("measurement_spec.impression.maximum_frequency_per_user", "must be >= 1");
    }
  }
  if (spec.has_duration()) {
    RETURN_IF_ERROR(
        CheckPrivacy(spec.duration().privacy_params(), "measurement_spec.duration.privacy_params", needs_delta, cap));
    if (spec.duration().maximum_watch_duration_per_user_seconds() < 1) {
      return InvalidField("measurement_spec.duration.maximum_watch_duration_per_user_seconds", "must be >= 1");
    }
  }
  config.set_protocol(protocol);
  config.set_protocol_version(api::kProtocolVersion);
  config.set_population_size(protocols.population_size() > 0 ? protocols.population_size() : 10'000'000);
  plan.fulfilling_duchies.assign(providers.size(), "");
  if (protocol != api::v1::DIRECT) {
    plan.ring = workers;
    plan.ring.push_back(protocols.aggregator());
    for (const std::string& d : plan.ring) config.add_duchies(d);
    config.set_aggregator(protocols.aggregator());
    if (hmss) {
      config.set_ring_modulus(protocols.hmss_ring_modulus() > 0 ? protocols.hmss_ring_modulus() : 127);
    } else {
      config.set_decay_rate(protocols.llv2_decay_rate() > 0 ? protocols.llv2_decay_rate() : 5.6);
      config.set_sketch_size(protocols.llv2_sketch_size() > 0 ? protocols.llv2_sketch_size() : 1000000);
      config.set_sketch_fingerprint_seed(SketchFingerprintSeed(replay_seed, spec, protocol));
      const auto noise = [](const config::PrivacyParams& given, api::v1::DifferentialPrivacyParams* out) {
        out->set_epsilon(given.epsilon() > 0 ? given.epsilon() : 1.0);
        out->set_delta(given.epsilon() > 0 ? given.delta() : 1e-6);
      };
      noise(protocols.llv2_blinded_histogram_noise(), config.mutable_blinded_histogram_noise());
      noise(protocols.llv2_publisher_noise(), config.mutable_publisher_noise());
    }
    // LLv2: EDP i uploads to duchy i mod k; HMSS: to one of the two workers.
    for (size_t i = 0; i < providers.size(); ++i) {
      plan.fulfilling_duchies[i] = hmss ? workers[i % 2] : plan.ring[i % plan.ring.size()];
    }
  }
  RETURN_IF_ERROR(CheckNoisePadding(spec, config, data_providers));
  return plan;
}

}  // namespace halo::kingdom
