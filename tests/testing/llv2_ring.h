// Every duchy of a full-LLv2 ring in one process, for tests and benchmarks:
// setup at each (EDP vector i goes to duchy i mod k, and the aggregator also
// takes the others' setup outputs), then phases one to three around the
// ring, the aggregator last. Each duchy's requests come from its
// Llv2Participant, as in a mill.
#ifndef HALO_TESTS_TESTING_LLV2_RING_H_
#define HALO_TESTS_TESTING_LLV2_RING_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/message.h"
#include "halo/crypto/elgamal.h"
#include "halo/protocol/llv2_participant.h"

namespace halo::testing {

// The participants of a ring of `keys` (the aggregator last) for one
// computation; `computation.ring_keys` is filled in from `keys`. Replay
// seeds in the noise parameters are made distinct per duchy.
std::vector<protocol::llv2::Llv2Participant> MakeLlv2Ring(const std::vector<crypto::ElGamalKeyPair>& keys,
                                                          protocol::llv2::Llv2Computation computation);

struct Llv2RingResult {
  protocol::llv2::ExecutionPhaseTwoAtAggregatorResponse reach;
  protocol::llv2::ExecutionPhaseThreeAtAggregatorResponse frequency;
  // Every stage's output bytes in the order the stages ran, by stage name:
  // "setup, non-aggregator 1", ..., "setup, aggregator", "phase one,
  // non-aggregator 1", ..., "phase three, aggregator" (which has none).
  std::vector<std::pair<std::string, std::string>> outputs;
  // The output of `stage`; empty if no stage has that name.
  std::string Output(const std::string& stage) const;
};

// Sees each stage's request just before it runs (a benchmark keeps them to
// run again).
using Llv2StageObserver = std::function<void(const std::string& stage, const google::protobuf::Message& request)>;

absl::StatusOr<Llv2RingResult> RunLlv2Ring(const std::vector<protocol::llv2::Llv2Participant>& ring,
                                           const std::vector<std::string>& edp_vectors, int parallelism,
                                           const Llv2StageObserver& observer = {});

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_LLV2_RING_H_
