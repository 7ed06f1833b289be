#include "halo/protocol/llv2_participant.h"

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::protocol::llv2 {

absl::StatusOr<Llv2Participant> Llv2Participant::Create(Llv2Computation computation, int position,
                                                        crypto::ElGamalKeyPair key) {
  const int duchies = static_cast<int>(computation.ring_keys.size());
  if (duchies < 2) return absl::InvalidArgumentError(absl::StrCat("a ring needs 2 or more duchies, got ", duchies));
  if (position < 0 || position >= duchies) {
    return absl::InvalidArgumentError(absl::StrCat("position ", position, " is outside a ring of ", duchies));
  }
  if (!(computation.ring_keys[position].point() == key.public_key().point())) {
    return absl::InvalidArgumentError(
        absl::StrCat("the key held is not the ring's public key at position ", position));
  }
  if (computation.register_noise.duchy_count() != duchies ||
      computation.flag_count_noise.non_aggregator_count() != duchies - 1) {
    return absl::InvalidArgumentError(absl::StrCat("the noise parameters are for another number of duchies than ",
                                                   duchies));
  }
  ASSIGN_OR_RETURN(crypto::ElGamalPublicKey combined, crypto::ElGamalPublicKey::Combine(computation.ring_keys));
  // The aggregator, last, has no one after it: its "partial composite" key
  // is never used, so it is its own.
  std::vector<crypto::ElGamalPublicKey> later(computation.ring_keys.begin() + position + 1,
                                              computation.ring_keys.end());
  crypto::ElGamalPublicKey partial = key.public_key();
  if (!later.empty()) {
    ASSIGN_OR_RETURN(partial, crypto::ElGamalPublicKey::Combine(later));
  }
  return Llv2Participant(std::move(computation), position, std::move(key), std::move(combined), std::move(partial));
}

SetupPhaseRequest Llv2Participant::Setup(std::vector<std::string> register_vectors, int parallelism) const {
  SetupPhaseRequest r;
  r.set_stage(SETUP_PHASE);
  r.set_combined_public_key(combined_.Encode());
  for (std::string& v : register_vectors) r.add_register_vectors(std::move(v));
  *r.mutable_noise() = computation_.register_noise;
  r.set_parallelism(parallelism);
  return r;
}

ExecutionPhaseOneRequest Llv2Participant::PhaseOne(std::string registers, int parallelism) const {
  ExecutionPhaseOneRequest r;
  r.set_stage(EXECUTION_PHASE_ONE);
  r.set_registers(std::move(registers));
  r.set_secret_key(key_.secret().ToBytes());
  r.set_combined_public_key(combined_.Encode());
  r.set_parallelism(parallelism);
  return r;
}

ExecutionPhaseOneAtAggregatorRequest Llv2Participant::PhaseOneAtAggregator(std::string registers,
                                                                           int parallelism) const {
  ExecutionPhaseOneAtAggregatorRequest r;
  r.set_stage(EXECUTION_PHASE_ONE_AT_AGGREGATOR);
  r.set_registers(std::move(registers));
  r.set_secret_key(key_.secret().ToBytes());
  r.set_combined_public_key(combined_.Encode());
  r.set_total_sketches_count(computation_.register_noise.total_sketches_count());
  r.set_parallelism(parallelism);
  return r;
}

ExecutionPhaseTwoRequest Llv2Participant::PhaseTwo(std::string flag_count_tuples, int parallelism) const {
  ExecutionPhaseTwoRequest r;
  r.set_stage(EXECUTION_PHASE_TWO);
  r.set_flag_count_tuples(std::move(flag_count_tuples));
  r.set_secret_key(key_.secret().ToBytes());
  r.set_combined_public_key(combined_.Encode());
  r.set_partial_composite_public_key(partial_composite_.Encode());
  *r.mutable_noise() = computation_.flag_count_noise;
  r.set_parallelism(parallelism);
  return r;
}

ExecutionPhaseTwoAtAggregatorRequest Llv2Participant::PhaseTwoAtAggregator(std::string flag_count_tuples,
                                                                           int parallelism) const {
  ExecutionPhaseTwoAtAggregatorRequest r;
  r.set_stage(EXECUTION_PHASE_TWO_AT_AGGREGATOR);
  r.set_flag_count_tuples(std::move(flag_count_tuples));
  r.set_secret_key(key_.secret().ToBytes());
  r.set_decay_rate(computation_.decay_rate);
  r.set_sketch_size(computation_.sketch_size);
  r.set_vid_sampling_width(computation_.vid_sampling_width);
  *r.mutable_register_noise() = computation_.register_noise;
  *r.mutable_flag_count_noise() = computation_.flag_count_noise;
  r.set_parallelism(parallelism);
  return r;
}

ExecutionPhaseThreeRequest Llv2Participant::PhaseThree(std::string same_key_aggregator_matrix,
                                                       int parallelism) const {
  ExecutionPhaseThreeRequest r;
  r.set_stage(EXECUTION_PHASE_THREE);
  r.set_same_key_aggregator_matrix(std::move(same_key_aggregator_matrix));
  r.set_secret_key(key_.secret().ToBytes());
  r.set_maximum_frequency(computation_.flag_count_noise.maximum_frequency());
  r.set_parallelism(parallelism);
  return r;
}

ExecutionPhaseThreeAtAggregatorRequest Llv2Participant::PhaseThreeAtAggregator(
    std::string same_key_aggregator_matrix, int parallelism) const {
  ExecutionPhaseThreeAtAggregatorRequest r;
  r.set_stage(EXECUTION_PHASE_THREE_AT_AGGREGATOR);
  r.set_same_key_aggregator_matrix(std::move(same_key_aggregator_matrix));
  r.set_secret_key(key_.secret().ToBytes());
  *r.mutable_flag_count_noise() = computation_.flag_count_noise;
  r.set_parallelism(parallelism);
  return r;
}

}  // namespace halo::protocol::llv2
