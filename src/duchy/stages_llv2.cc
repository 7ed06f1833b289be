#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "halo/api/envelopes.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/certificate.h"
#include "halo/protocol/llv2.h"
#include "halo/protocol/llv2_participant.h"
#include "halo/protocol/reach_only_llv2.h"
#include "halo/stats/liquid_legions_estimator.h"
#include "stages.h"

namespace halo::duchy {
namespace {

namespace llv2 = protocol::llv2;

bool ReachOnly(const api::v1::Computation& computation) {
  return computation.protocol_config().protocol() == api::v1::REACH_ONLY_LIQUID_LEGIONS_V2;
}

bool IsAggregator(const StageRun& run) {
  return run.known.details.position() + 1 == run.known.protocol_config().duchies_size();
}

llv2::NoiseMechanism MechanismOf(const api::v1::ProtocolConfig& config) {
  return config.noise_mechanism() == api::v1::GEOMETRIC ? llv2::GEOMETRIC : llv2::DISCRETE_GAUSSIAN;
}

llv2::DpParams Dp(const api::v1::DifferentialPrivacyParams& p) {
  llv2::DpParams out;
  out.set_epsilon(p.epsilon());
  out.set_delta(p.delta());
  return out;
}

absl::StatusOr<crypto::ElGamalKeyPair> KeyOf(const v1::ComputationDetails& details) {
  ASSIGN_OR_RETURN(crypto::Scalar secret, crypto::Scalar::FromBytes(details.elgamal_secret_key()));
  return crypto::ElGamalKeyPair::FromSecret(secret);
}

absl::Status Initialize(StageRun& run) {
  v1::ComputationDetails& details = run.known.details;
  if (details.elgamal_secret_key().empty()) {
    const crypto::ElGamalKeyPair key = crypto::ElGamalKeyPair::Generate();
    details.set_elgamal_secret_key(key.secret().ToBytes());
    details.set_elgamal_public_key(key.public_key().Encode());
    RETURN_IF_ERROR(run.SaveDetails());
  }
  ASSIGN_OR_RETURN(crypto::EcPoint point, crypto::EcPoint::Decode(details.elgamal_public_key()));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, KeyOf(details));
  return SetRequisitionParams(
      run, api::ProvenElGamalKey(key.secret(), point, run.claimed.name, run.work.duchy_id()));
}

// Has the duchy check every duchy's key and this duchy's uploads and
// confirm, then keeps the Kingdom's now complete view of the computation.
absl::Status Confirm(StageRun& run) {
  ASSIGN_OR_RETURN(api::v1::Computation now, run.TellKingdom([&] { return run.work.Confirm(run.claimed); }));
  *run.known.details.mutable_computation() = now;
  return run.SaveDetails();
}

// The ring's keys in ring order, from the confirmed computation.
absl::StatusOr<std::vector<crypto::ElGamalPublicKey>> RingKeys(const api::v1::Computation& computation) {
  std::vector<crypto::ElGamalPublicKey> keys;
  for (const std::string& id : computation.protocol_config().duchies()) {
    const auto p = std::find_if(computation.participants().begin(), computation.participants().end(),
                                [&](const auto& x) { return x.duchy_id() == id; });
    if (p == computation.participants().end()) {
      return absl::InvalidArgumentError(absl::StrCat("duchy ", id, " has no key in ", computation.name()));
    }
    ASSIGN_OR_RETURN(crypto::EcPoint point, api::ParseProvenElGamalKey(p->public_key().data(), computation.name(), id));
    ASSIGN_OR_RETURN(crypto::ElGamalPublicKey k, crypto::ElGamalPublicKey::Decode(point.Encode()));
    keys.push_back(std::move(k));
  }
  return keys;
}

absl::StatusOr<llv2::Llv2Participant> ParticipantOf(StageRun& run) {
  const api::v1::Computation& computation = run.known.details.computation();
  const auto& config = computation.protocol_config();
  ASSIGN_OR_RETURN(api::v1::MeasurementSpec spec, MeasurementSpecOf(computation));
  const int k = config.duchies_size();
  llv2::Llv2Computation c;
  ASSIGN_OR_RETURN(c.ring_keys, RingKeys(computation));
  c.register_noise.set_mechanism(MechanismOf(config));
  *c.register_noise.mutable_blinded_histogram() = Dp(config.blinded_histogram_noise());
  *c.register_noise.mutable_publisher_noise() = Dp(config.publisher_noise());
  *c.register_noise.mutable_global_reach() = Dp(spec.reach_and_frequency().reach_privacy_params());
  c.register_noise.set_duchy_count(k);
  c.register_noise.set_total_sketches_count(computation.requisitions_size());
  c.flag_count_noise.set_mechanism(MechanismOf(config));
  *c.flag_count_noise.mutable_frequency() = Dp(spec.reach_and_frequency().frequency_privacy_params());
  c.flag_count_noise.set_non_aggregator_count(k - 1);
  c.flag_count_noise.set_maximum_frequency(spec.reach_and_frequency().maximum_frequency());
  c.decay_rate = config.decay_rate();
  c.sketch_size = static_cast<uint64_t>(config.sketch_size());
  c.vid_sampling_width = SamplingWidth(spec);
  c.register_noise.set_replay_seed(run.StageReplaySeed(computation, spec, "setup noise"));
  c.flag_count_noise.set_replay_seed(run.StageReplaySeed(computation, spec, "flag-count noise"));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, KeyOf(run.known.details));
  return llv2::Llv2Participant::Create(std::move(c), run.known.details.position(), std::move(key));
}

// The single input of a wait stage (the previous duchy's output).
absl::StatusOr<std::string> OnlyInput(StageRun& run, ComputationStage wait) {
  ASSIGN_OR_RETURN(auto inputs, run.ReadInputs(wait));
  if (inputs.size() != 1) {
    return absl::InternalError(
        absl::StrCat("expected one input of ", v1::ComputationStage_Name(wait), ", found ", inputs.size()));
  }
  return std::move(inputs.front().second);
}

// Setup's inputs: this duchy's uploads, and at the aggregator the other
// duchies' setup outputs, each read as setup goes, never whole.
absl::StatusOr<std::vector<llv2::RegisterVectorStream>> SetupInputs(StageRun& run) {
  std::vector<llv2::RegisterVectorStream> vectors;
  std::vector<ComputationStage> stages = {v1::COMPUTATION_STAGE_UNSPECIFIED};
  if (IsAggregator(run)) stages.push_back(v1::WAIT_SETUP_PHASE_INPUTS);
  for (ComputationStage stage : stages) {
    ASSIGN_OR_RETURN(std::vector<StageInput> inputs, run.ListInputs(stage));
    for (const StageInput& input : inputs) {
      llv2::RegisterVectorStream& vector = vectors.emplace_back();
      ASSIGN_OR_RETURN(vector.next, run.OpenInput(input.blob_key, &vector.size));
    }
  }
  return vectors;
}

// Runs a stage whose request carries this duchy's secret key, then wipes
// the key's bytes from the request before it is freed.
template <typename Request, typename Response>
absl::StatusOr<Response> WithSecretKey(Request request, absl::StatusOr<Response> (*complete)(const Request&)) {
  absl::StatusOr<Response> response = complete(request);
  WipeSecret(*request.mutable_secret_key());
  return response;
}

absl::StatusOr<std::string> RunFull(StageRun& run) {
  ASSIGN_OR_RETURN(llv2::Llv2Participant participant, ParticipantOf(run));
  const int parallelism = run.parallelism;
  const bool aggregator = IsAggregator(run);
  switch (run.claimed.stage) {
    case v1::SETUP_PHASE: {
      ASSIGN_OR_RETURN(std::vector<llv2::RegisterVectorStream> vectors, SetupInputs(run));
      ASSIGN_OR_RETURN(llv2::SetupPhaseResponse r,
                       llv2::CompleteSetupPhase(participant.Setup({}, parallelism), std::move(vectors)));
      return std::move(*r.mutable_registers());
    }
    case v1::EXECUTION_PHASE_ONE: {
      ASSIGN_OR_RETURN(std::string input, OnlyInput(run, v1::WAIT_EXECUTION_PHASE_ONE_INPUTS));
      if (!aggregator) {
        ASSIGN_OR_RETURN(llv2::ExecutionPhaseOneResponse r,
                         WithSecretKey(participant.PhaseOne(std::move(input), parallelism), &llv2::CompleteExecutionPhaseOne));
        return std::move(*r.mutable_registers());
      }
      ASSIGN_OR_RETURN(
          llv2::ExecutionPhaseOneAtAggregatorResponse r,
          WithSecretKey(participant.PhaseOneAtAggregator(std::move(input), parallelism), &llv2::CompleteExecutionPhaseOneAtAggregator));
      return std::move(*r.mutable_flag_count_tuples());
    }
    case v1::EXECUTION_PHASE_TWO: {
      ASSIGN_OR_RETURN(std::string input, OnlyInput(run, v1::WAIT_EXECUTION_PHASE_TWO_INPUTS));
      if (!aggregator) {
        ASSIGN_OR_RETURN(llv2::ExecutionPhaseTwoResponse r,
                         WithSecretKey(participant.PhaseTwo(std::move(input), parallelism), &llv2::CompleteExecutionPhaseTwo));
        return std::move(*r.mutable_flag_count_tuples());
      }
      ASSIGN_OR_RETURN(
          llv2::ExecutionPhaseTwoAtAggregatorResponse r,
          WithSecretKey(participant.PhaseTwoAtAggregator(std::move(input), parallelism), &llv2::CompleteExecutionPhaseTwoAtAggregator));
      run.known.details.set_reach(r.reach());
      run.known.details.set_reach_standard_error(r.reach_std_error());
      RETURN_IF_ERROR(run.SaveDetails());
      return std::move(*r.mutable_same_key_aggregator_matrix());
    }
    case v1::EXECUTION_PHASE_THREE: {
      ASSIGN_OR_RETURN(std::string input, OnlyInput(run, v1::WAIT_EXECUTION_PHASE_THREE_INPUTS));
      if (!aggregator) {
        ASSIGN_OR_RETURN(llv2::ExecutionPhaseThreeResponse r,
                         WithSecretKey(participant.PhaseThree(std::move(input), parallelism), &llv2::CompleteExecutionPhaseThree));
        return std::move(*r.mutable_same_key_aggregator_matrix());
      }
      ASSIGN_OR_RETURN(llv2::ExecutionPhaseThreeAtAggregatorResponse r,
                       llv2::CompleteExecutionPhaseThreeAtAggregator(
                           participant.PhaseThreeAtAggregator(std::move(input), parallelism)));
      const stats::Estimate reach{run.known.details.reach(), run.known.details.reach_standard_error()};
      const std::vector<int64_t> histogram(r.frequency_histogram().begin(), r.frequency_histogram().end());
      ASSIGN_OR_RETURN(stats::FrequencyDistribution frequency,
                       stats::FrequencyFromRegisterHistogram(histogram, r.bucket_noise_variance(), reach));
      api::v1::MeasurementResult result;
      result.mutable_reach()->set_value(std::llround(std::max(0.0, reach.value)));
      result.mutable_reach()->set_standard_error(reach.std_error);
      for (const stats::Estimate& bucket : frequency.relative) {
        result.mutable_frequency()->add_relative_frequency(bucket.value);
        result.mutable_frequency()->add_standard_error(bucket.std_error);
      }
      RETURN_IF_ERROR(SetResult(run, result));
      return std::string();
    }
    default:
      return absl::InternalError(absl::StrCat("LLv2 has no mill stage ", v1::ComputationStage_Name(run.claimed.stage)));
  }
}

absl::StatusOr<std::string> RunReachOnly(StageRun& run) {
  const api::v1::Computation& computation = run.known.details.computation();
  const auto& config = computation.protocol_config();
  ASSIGN_OR_RETURN(api::v1::MeasurementSpec spec, MeasurementSpecOf(computation));
  llv2::ReachNoiseParameters noise;
  noise.set_mechanism(MechanismOf(config));
  noise.set_epsilon(spec.reach().privacy_params().epsilon());
  noise.set_delta(spec.reach().privacy_params().delta());
  noise.set_duchy_count(config.duchies_size());
  noise.set_replay_seed(run.StageReplaySeed(computation, spec, "reach noise"));
  ASSIGN_OR_RETURN(crypto::ElGamalKeyPair key, KeyOf(run.known.details));
  switch (run.claimed.stage) {
    case v1::SETUP_PHASE: {
      ASSIGN_OR_RETURN(std::vector<crypto::ElGamalPublicKey> ring, RingKeys(computation));
      ASSIGN_OR_RETURN(crypto::ElGamalPublicKey combined, crypto::ElGamalPublicKey::Combine(ring));
      llv2::ReachOnlySetupPhaseRequest request;
      request.set_stage(llv2::REACH_ONLY_SETUP_PHASE);
      request.set_combined_public_key(combined.Encode());
      ASSIGN_OR_RETURN(std::vector<llv2::RegisterVectorStream> vectors, SetupInputs(run));
      *request.mutable_noise() = noise;
      request.set_parallelism(run.parallelism);
      ASSIGN_OR_RETURN(llv2::ReachOnlySetupPhaseResponse r,
                       llv2::CompleteReachOnlySetupPhase(request, std::move(vectors)));
      return std::move(*r.mutable_registers());
    }
    case v1::EXECUTION_PHASE_ONE: {
      ASSIGN_OR_RETURN(std::string input, OnlyInput(run, v1::WAIT_EXECUTION_PHASE_ONE_INPUTS));
      if (!IsAggregator(run)) {
        llv2::ReachOnlyExecutionPhaseRequest request;
        request.set_stage(llv2::REACH_ONLY_EXECUTION_PHASE);
        request.set_registers(std::move(input));
        request.set_secret_key(key.secret().ToBytes());
        request.set_parallelism(run.parallelism);
        ASSIGN_OR_RETURN(llv2::ReachOnlyExecutionPhaseResponse r, WithSecretKey(std::move(request), &llv2::CompleteReachOnlyExecutionPhase));
        return std::move(*r.mutable_registers());
      }
      llv2::ReachOnlyAggregationRequest request;
      request.set_stage(llv2::REACH_ONLY_EXECUTION_PHASE_AT_AGGREGATOR);
      request.set_registers(std::move(input));
      request.set_secret_key(key.secret().ToBytes());
      request.set_decay_rate(config.decay_rate());
      request.set_sketch_size(static_cast<uint64_t>(config.sketch_size()));
      *request.mutable_noise() = noise;
      request.set_vid_sampling_width(SamplingWidth(spec));
      request.set_parallelism(run.parallelism);
      ASSIGN_OR_RETURN(llv2::ReachOnlyAggregationResponse r,
                       WithSecretKey(std::move(request), &llv2::CompleteReachOnlyExecutionPhaseAtAggregator));
      api::v1::MeasurementResult result;
      result.mutable_reach()->set_value(std::llround(std::max(0.0, r.reach())));
      result.mutable_reach()->set_standard_error(r.reach_std_error());
      RETURN_IF_ERROR(SetResult(run, result));
      return std::string();
    }
    default:
      return absl::InternalError(
          absl::StrCat("reach-only LLv2 has no mill stage ", v1::ComputationStage_Name(run.claimed.stage)));
  }
}

}  // namespace

absl::Status CheckRegisterVectorUpload(const api::v1::Computation& computation, int64_t size) {
  const bool reach_only = computation.protocol_config().protocol() == api::v1::REACH_ONLY_LIQUID_LEGIONS_V2;
  const int64_t register_bytes =
      static_cast<int64_t>(reach_only ? protocol::llv2::kBytesPerRegister : protocol::llv2::kBytesPerFullRegister);
  if (size % register_bytes != 0) {
    return absl::InvalidArgumentError(absl::StrCat("the register vector is ", size, " bytes, not a whole number of ",
                                                   register_bytes, "-byte registers"));
  }
  if (size / register_bytes > computation.protocol_config().sketch_size()) {
    return absl::InvalidArgumentError(absl::StrCat("the register vector has ", size / register_bytes,
                                                   " registers, more than the sketch's ",
                                                   computation.protocol_config().sketch_size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RunLlv2Stage(StageRun& run) {
  switch (run.claimed.stage) {
    case v1::INITIALIZATION_PHASE:
      RETURN_IF_ERROR(Initialize(run));
      return std::string();
    case v1::CONFIRMATION_PHASE:
      RETURN_IF_ERROR(Confirm(run));
      return std::string();
    default:
      return ReachOnly(run.known.details.computation()) ? RunReachOnly(run) : RunFull(run);
  }
}

}  // namespace halo::duchy
