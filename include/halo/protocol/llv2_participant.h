// One duchy's part in a full-LLv2 computation. From its place in the ring,
// its key and the computation's parameters it builds the request of each
// stage it runs, so that a duchy's mill (one participant a process) and an
// in-process ring in tests (every participant in one) run the same stages
// with the same inputs.
#ifndef HALO_PROTOCOL_LLV2_PARTICIPANT_H_
#define HALO_PROTOCOL_LLV2_PARTICIPANT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/crypto/elgamal.h"
#include "halo/protocol/llv2.pb.h"

namespace halo::protocol::llv2 {

// What every participant of one computation agrees on.
struct Llv2Computation {
  // The duchies' public keys in ring order, the aggregator last.
  std::vector<crypto::ElGamalPublicKey> ring_keys;
  // duchy_count and total_sketches_count included.
  RegisterNoiseParameters register_noise;
  // non_aggregator_count and maximum_frequency included.
  FlagCountNoiseParameters flag_count_noise;
  double decay_rate = 0;
  uint64_t sketch_size = 0;
  double vid_sampling_width = 1;
};

class Llv2Participant {
 public:
  // The participant at `position` in the ring (the last is the aggregator),
  // holding `key`, whose public half must be ring_keys[position].
  static absl::StatusOr<Llv2Participant> Create(Llv2Computation computation, int position,
                                                crypto::ElGamalKeyPair key);

  bool is_aggregator() const { return position_ + 1 == static_cast<int>(computation_.ring_keys.size()); }
  int position() const { return position_; }
  const Llv2Computation& computation() const { return computation_; }
  const crypto::ElGamalPublicKey& combined_public_key() const { return combined_; }

  // `register_vectors`: the EDP vectors uploaded to this duchy and, at the
  // aggregator, every other duchy's setup output.
  SetupPhaseRequest Setup(std::vector<std::string> register_vectors, int parallelism) const;
  // The non-aggregators' requests, then the aggregator's, of each phase; the
  // input is the previous duchy's output.
  ExecutionPhaseOneRequest PhaseOne(std::string registers, int parallelism) const;
  ExecutionPhaseOneAtAggregatorRequest PhaseOneAtAggregator(std::string registers, int parallelism) const;
  ExecutionPhaseTwoRequest PhaseTwo(std::string flag_count_tuples, int parallelism) const;
  ExecutionPhaseTwoAtAggregatorRequest PhaseTwoAtAggregator(std::string flag_count_tuples, int parallelism) const;
  ExecutionPhaseThreeRequest PhaseThree(std::string same_key_aggregator_matrix, int parallelism) const;
  ExecutionPhaseThreeAtAggregatorRequest PhaseThreeAtAggregator(std::string same_key_aggregator_matrix,
                                                                int parallelism) const;

 private:
  Llv2Participant(Llv2Computation computation, int position, crypto::ElGamalKeyPair key,
                  crypto::ElGamalPublicKey combined, crypto::ElGamalPublicKey partial_composite)
      : computation_(std::move(computation)), position_(position), key_(std::move(key)),
        combined_(std::move(combined)), partial_composite_(std::move(partial_composite)) {}

  Llv2Computation computation_;
  int position_;
  crypto::ElGamalKeyPair key_;
  crypto::ElGamalPublicKey combined_;
  // The keys of the duchies after this one: they have yet to remove their
  // layer from phase two's flags.
  crypto::ElGamalPublicKey partial_composite_;
};

}  // namespace halo::protocol::llv2

#endif  // HALO_PROTOCOL_LLV2_PARTICIPANT_H_
