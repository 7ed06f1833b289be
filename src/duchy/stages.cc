#include "stages.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/duchy/v1/duchy.pb.h"
#include "halo/sketch/frequency_vector.h"

namespace halo::duchy {

absl::StatusOr<api::v1::MeasurementSpec> MeasurementSpecOf(const api::v1::Computation& computation) {
  api::v1::MeasurementSpec spec;
  if (!spec.ParseFromString(computation.measurement_spec().data())) {
    return absl::InvalidArgumentError(absl::StrCat("the measurement spec of ", computation.name(), " does not parse"));
  }
  return spec;
}

absl::Status SetRequisitionParams(StageRun& run, const api::v1::EncryptionPublicKey& public_key) {
  return run.TellKingdom([&] { return run.work.SetRequisitionParams(run.claimed, public_key); });
}

absl::Status SetResult(StageRun& run, const api::v1::MeasurementResult& result) {
  return run.TellKingdom([&] { return run.work.SetResult(run.claimed, result, run.known.details.computation()); });
}

double SamplingWidth(const api::v1::MeasurementSpec& spec) {
  return spec.vid_sampling_interval().width() > 0 ? spec.vid_sampling_interval().width() : 1.0;
}

absl::StatusOr<protocol::hmss::HmssParameters> HmssParametersOf(const api::v1::Computation& computation) {
  ASSIGN_OR_RETURN(api::v1::MeasurementSpec spec, MeasurementSpecOf(computation));
  const auto& config = computation.protocol_config();
  protocol::hmss::HmssParameters parameters;
  parameters.set_ring_modulus(config.ring_modulus());
  const api::v1::DifferentialPrivacyParams* privacy = nullptr;
  if (spec.has_reach_and_frequency()) {
    parameters.set_max_frequency(spec.reach_and_frequency().maximum_frequency());
    // Reach is the sum of the noised frequency buckets.
    privacy = &spec.reach_and_frequency().frequency_privacy_params();
  } else if (spec.has_reach()) {
    parameters.set_max_frequency(1);
    privacy = &spec.reach().privacy_params();
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat(computation.name(), " is not a reach or reach-and-frequency measurement"));
  }
  parameters.mutable_bucket_noise()->set_epsilon(privacy->epsilon());
  parameters.mutable_bucket_noise()->set_delta(privacy->delta());
  parameters.set_noise_mechanism(config.noise_mechanism() == api::v1::GEOMETRIC ? protocol::hmss::GEOMETRIC
                                                                                : protocol::hmss::DISCRETE_GAUSSIAN);
  ASSIGN_OR_RETURN(sketch::FrequencyVectorSpec vector,
                   sketch::FrequencyVectorSpec::Create(config.population_size(),
                                                       {spec.vid_sampling_interval().start(), SamplingWidth(spec)},
                                                       parameters.max_frequency(), config.ring_modulus()));
  parameters.set_vector_size(vector.SlotCount());
  return parameters;
}

absl::StatusOr<uint32_t> CheckHmssUpload(const api::v1::Computation& computation, int64_t size,
                                         absl::string_view encrypted_peer_seed) {
  ASSIGN_OR_RETURN(protocol::hmss::HmssParameters parameters, HmssParametersOf(computation));
  if (size < 0 || static_cast<uint64_t>(size) != parameters.vector_size()) {
    return absl::InvalidArgumentError(absl::StrCat("the data share has ", size, " slots, but the computation's ",
                                                   "frequency vectors have ", parameters.vector_size()));
  }
  // A hybrid-encrypted 32-byte seed is about 100 bytes.
  constexpr size_t kMaxEncryptedSeed = 1024;
  if (encrypted_peer_seed.empty()) return absl::InvalidArgumentError("header.encrypted_peer_seed: is missing");
  if (encrypted_peer_seed.size() > kMaxEncryptedSeed) {
    return absl::InvalidArgumentError(absl::StrCat("header.encrypted_peer_seed: ", encrypted_peer_seed.size(),
                                                   " bytes; an encrypted seed is at most ", kMaxEncryptedSeed));
  }
  return parameters.ring_modulus();
}

std::string PeerSeedKey(absl::string_view upload_key) { return absl::StrCat(upload_key, ".peer-seed"); }

}  // namespace halo::duchy
