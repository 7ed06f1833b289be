#include <cmath>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "halo/api/envelopes.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/hybrid_encryption.h"
#include "halo/protocol/hmss.h"
#include "halo/sketch/vid_sampling.h"
#include "halo/stats/sampled_estimators.h"
#include "stages.h"

namespace halo::duchy {
namespace {

using protocol::hmss::HmssParameters;

absl::StatusOr<crypto::EncryptionKeyPair> EncryptionKeyOf(const v1::ComputationDetails& details) {
  ASSIGN_OR_RETURN(crypto::Scalar secret, crypto::Scalar::FromBytes(details.encryption_secret_key()));
  ASSIGN_OR_RETURN(crypto::EcPoint point, crypto::EcPoint::Decode(details.encryption_public_key()));
  return crypto::EncryptionKeyPair{std::move(secret), std::move(point)};
}

absl::Status Initialize(StageRun& run) {
  v1::ComputationDetails& details = run.known.details;
  if (details.encryption_secret_key().empty()) {
    const crypto::EncryptionKeyPair key = crypto::EncryptionKeyPair::Generate();
    details.set_encryption_secret_key(key.secret.ToBytes());
    details.set_encryption_public_key(key.public_key.Encode());
    RETURN_IF_ERROR(run.SaveDetails());
  }
  ASSIGN_OR_RETURN(crypto::EcPoint point, crypto::EcPoint::Decode(details.encryption_public_key()));
  return SetRequisitionParams(run, api::ToEncryptionPublicKey(point));
}

// Worker setup: a seed half, and the seeds this worker's EDPs encrypted to
// the other worker.
absl::StatusOr<std::string> Setup(StageRun& run) {
  v1::ComputationDetails& details = run.known.details;
  if (details.seed_half().empty()) {
    details.set_seed_half(protocol::hmss::GenerateSeedHalf());
    RETURN_IF_ERROR(run.SaveDetails());
  }
  v1::HmssSetupOutput output;
  output.set_seed_half(details.seed_half());
  ASSIGN_OR_RETURN(std::vector<StageInput> uploads, run.ListInputs(v1::COMPUTATION_STAGE_UNSPECIFIED));
  for (const StageInput& upload : uploads) {
    auto& seed = *output.add_seeds();
    seed.set_requisition(upload.input);
    ASSIGN_OR_RETURN(*seed.mutable_encrypted_seed(), run.ReadBlob(PeerSeedKey(upload.blob_key)));
  }
  return output.SerializeAsString();
}

absl::StatusOr<std::string> Shuffle(StageRun& run) {
  const v1::ComputationDetails& details = run.known.details;
  const api::v1::Computation& computation = details.computation();
  const int position = details.position();
  const ComputationStage peer_input =
      position == 0 ? v1::WAIT_ON_SHUFFLE_INPUT_PHASE_TWO : v1::WAIT_ON_SHUFFLE_INPUT_PHASE_ONE;
  ASSIGN_OR_RETURN(auto from_peer, run.ReadInputs(peer_input));
  if (from_peer.size() != 1) {
    return absl::InternalError(absl::StrCat("expected the other worker's setup, found ", from_peer.size(), " inputs"));
  }
  v1::HmssSetupOutput peer;
  if (!peer.ParseFromString(from_peer.front().second)) {
    return absl::InvalidArgumentError("the other worker's setup output does not parse");
  }
  protocol::hmss::ShufflePhaseRequest request;
  request.set_stage(protocol::hmss::SHUFFLE_PHASE);
  ASSIGN_OR_RETURN(*request.mutable_parameters(), HmssParametersOf(computation));
  request.set_order(position == 0 ? protocol::hmss::FIRST : protocol::hmss::SECOND);
  ASSIGN_OR_RETURN(*request.mutable_common_seed(),
                   position == 0 ? protocol::hmss::DeriveCommonSeed(details.seed_half(), peer.seed_half())
                                 : protocol::hmss::DeriveCommonSeed(peer.seed_half(), details.seed_half()));
  request.set_parallelism(run.parallelism);
  ASSIGN_OR_RETURN(const api::v1::MeasurementSpec spec, MeasurementSpecOf(computation));
  request.set_replay_seed(run.StageReplaySeed(computation, spec, "shuffle noise"));
  // Every EDP's vector is split between the workers: its data share where
  // it uploaded, its seed at the other worker.
  // Data shares are read piece by piece as they are summed: at 300M slots
  // each is 300 MB.
  ASSIGN_OR_RETURN(std::vector<StageInput> uploads, run.ListInputs(v1::COMPUTATION_STAGE_UNSPECIFIED));
  std::vector<protocol::hmss::SharePieces> data_shares;
  std::set<std::string> covered;
  for (const StageInput& upload : uploads) {
    ASSIGN_OR_RETURN(data_shares.emplace_back(), run.OpenInput(upload.blob_key));
    covered.insert(upload.input);
  }
  ASSIGN_OR_RETURN(crypto::EncryptionKeyPair key, EncryptionKeyOf(details));
  for (const auto& seed : peer.seeds()) {
    absl::StatusOr<std::string> plain = crypto::HybridDecrypt(key, seed.encrypted_seed(), seed.requisition());
    if (!plain.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("the seed of ", seed.requisition(),
                                                     " does not decrypt with this worker's key: ", plain.status().message()));
    }
    request.add_shares()->set_seed(*std::move(plain));
    covered.insert(seed.requisition());
  }
  for (const auto& requisition : computation.requisitions()) {
    if (!covered.count(requisition.name())) {
      return absl::InvalidArgumentError(absl::StrCat("no share of ", requisition.name(), " reached worker ",
                                                     run.work.duchy_id()));
    }
  }
  if (covered.size() != static_cast<size_t>(computation.requisitions_size())) {
    return absl::InvalidArgumentError("shares arrived for requisitions the computation does not have");
  }
  RETURN_IF_ERROR(protocol::hmss::StreamShufflePhase(request, data_shares, [&](absl::string_view piece) {
                    return run.WriteOutput(piece);
                  }).status());
  return std::string();
}

absl::Status Aggregate(StageRun& run) {
  const api::v1::Computation& computation = run.known.details.computation();
  ASSIGN_OR_RETURN(std::vector<StageInput> inputs, run.ListInputs(v1::WAIT_ON_AGGREGATION_INPUT));
  protocol::hmss::AggregationPhaseRequest request;
  request.set_stage(protocol::hmss::AGGREGATION_PHASE);
  ASSIGN_OR_RETURN(*request.mutable_parameters(), HmssParametersOf(computation));
  request.set_parallelism(run.parallelism);
  protocol::hmss::SharePieces first, second;
  for (const StageInput& input : inputs) {
    if (input.input == computation.protocol_config().duchies(0)) {
      ASSIGN_OR_RETURN(first, run.OpenInput(input.blob_key));
    } else if (input.input == computation.protocol_config().duchies(1)) {
      ASSIGN_OR_RETURN(second, run.OpenInput(input.blob_key));
    }
  }
  if (!first || !second) {
    return absl::InternalError(absl::StrCat("the aggregation needs both workers' shuffled shares; ", inputs.size(),
                                            " inputs arrived"));
  }
  ASSIGN_OR_RETURN(protocol::hmss::AggregationPhaseResponse response,
                   protocol::hmss::StreamAggregationPhase(request, first, second));
  ASSIGN_OR_RETURN(api::v1::MeasurementSpec spec, MeasurementSpecOf(computation));
  const uint64_t population = computation.protocol_config().population_size();
  // The share of the population the vectors' slots hold, exactly.
  ASSIGN_OR_RETURN(const sketch::VidSampler sampler,
                   sketch::VidSampler::Create(population, {spec.vid_sampling_interval().start(), SamplingWidth(spec)}));
  const double width = sampler.fraction();
  std::vector<stats::SampledCount> counts;
  stats::SampledCount reached;
  for (int64_t count : response.frequency_histogram()) {
    counts.push_back({static_cast<double>(count), response.bucket_noise_variance()});
    reached.noisy_count += count;
    reached.noise_variance += response.bucket_noise_variance();
  }
  api::v1::MeasurementResult result;
  ASSIGN_OR_RETURN(stats::Estimate reach, stats::SampledReach(reached, width, population));
  result.mutable_reach()->set_value(std::llround(std::max(0.0, reach.value)));
  result.mutable_reach()->set_standard_error(reach.std_error);
  if (spec.has_reach_and_frequency()) {
    ASSIGN_OR_RETURN(stats::FrequencyDistribution frequency, stats::SampledFrequency(counts, width, population));
    for (const stats::Estimate& bucket : frequency.relative) {
      result.mutable_frequency()->add_relative_frequency(bucket.value);
      result.mutable_frequency()->add_standard_error(bucket.std_error);
    }
  }
  return SetResult(run, result);
}

}  // namespace

absl::StatusOr<std::string> RunHmssStage(StageRun& run) {
  switch (run.claimed.stage) {
    case v1::INITIALIZED:
      RETURN_IF_ERROR(Initialize(run));
      return std::string();
    case v1::SETUP_PHASE:
      return Setup(run);
    case v1::SHUFFLE_PHASE:
      return Shuffle(run);
    case v1::AGGREGATION_PHASE:
      RETURN_IF_ERROR(Aggregate(run));
      return std::string();
    default:
      return absl::InternalError(absl::StrCat("HMSS has no mill stage ", v1::ComputationStage_Name(run.claimed.stage)));
  }
}

}  // namespace halo::duchy
