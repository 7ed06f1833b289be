#include "testing/llv2_ring.h"

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/sha256.h"
#include "halo/protocol/llv2.h"

namespace halo::testing {

using namespace protocol::llv2;

std::vector<Llv2Participant> MakeLlv2Ring(const std::vector<crypto::ElGamalKeyPair>& keys,
                                          Llv2Computation computation) {
  computation.ring_keys.clear();
  for (const auto& key : keys) computation.ring_keys.push_back(key.public_key());
  std::vector<Llv2Participant> ring;
  for (size_t i = 0; i < keys.size(); ++i) {
    // Each duchy draws its own noise, as each would from its own seed.
    Llv2Computation own = computation;
    for (auto* seed : {own.register_noise.mutable_replay_seed(), own.flag_count_noise.mutable_replay_seed()}) {
      if (!seed->empty()) *seed = crypto::Sha256(absl::StrCat(*seed, "duchy ", i));
    }
    auto participant = Llv2Participant::Create(own, static_cast<int>(i), keys[i]);
    if (!participant.ok()) std::abort();  // the ring's own keys: cannot mismatch
    ring.push_back(*std::move(participant));
  }
  return ring;
}

std::string Llv2RingResult::Output(const std::string& stage) const {
  for (const auto& [name, bytes] : outputs) {
    if (name == stage) return bytes;
  }
  return {};
}

namespace {

std::string StageName(const std::string& phase, const Llv2Participant& p) {
  return p.is_aggregator() ? absl::StrCat(phase, ", aggregator")
                           : absl::StrCat(phase, ", non-aggregator ", p.position() + 1);
}

// Runs `stage` on `request` after showing it to `observer`.
template <typename Request, typename Response>
absl::StatusOr<Response> Run(const std::string& name, const Request& request,
                             absl::StatusOr<Response> (*stage)(const Request&), const Llv2StageObserver& observer) {
  if (observer) observer(name, request);
  absl::StatusOr<Response> response = stage(request);
  if (!response.ok()) return absl::Status(response.status().code(), absl::StrCat(name, ": ", response.status().message()));
  return response;
}

}  // namespace

absl::StatusOr<Llv2RingResult> RunLlv2Ring(const std::vector<Llv2Participant>& ring,
                                           const std::vector<std::string>& edp_vectors, int parallelism,
                                           const Llv2StageObserver& observer) {
  const size_t k = ring.size();
  const Llv2Participant& aggregator = ring.back();
  Llv2RingResult result;
  std::vector<std::string> setup(k);
  for (size_t d = 0; d < k; ++d) {
    std::vector<std::string> inputs;
    for (size_t i = d; i < edp_vectors.size(); i += k) inputs.push_back(edp_vectors[i]);
    if (ring[d].is_aggregator()) inputs.insert(inputs.end(), setup.begin(), setup.end() - 1);
    const std::string name = StageName("setup", ring[d]);
    ASSIGN_OR_RETURN(SetupPhaseResponse response,
                     Run(name, ring[d].Setup(std::move(inputs), parallelism), &CompleteSetupPhase, observer));
    setup[d] = response.registers();
    result.outputs.emplace_back(name, setup[d]);
  }

  std::string data = setup[k - 1];
  for (size_t d = 0; d + 1 < k; ++d) {
    const std::string name = StageName("phase one", ring[d]);
    ASSIGN_OR_RETURN(ExecutionPhaseOneResponse response,
                     Run(name, ring[d].PhaseOne(std::move(data), parallelism), &CompleteExecutionPhaseOne, observer));
    data = response.registers();
    result.outputs.emplace_back(name, data);
  }
  {
    const std::string name = StageName("phase one", aggregator);
    ASSIGN_OR_RETURN(ExecutionPhaseOneAtAggregatorResponse response,
                     Run(name, aggregator.PhaseOneAtAggregator(std::move(data), parallelism),
                         &CompleteExecutionPhaseOneAtAggregator, observer));
    data = response.flag_count_tuples();
    result.outputs.emplace_back(name, data);
  }

  for (size_t d = 0; d + 1 < k; ++d) {
    const std::string name = StageName("phase two", ring[d]);
    ASSIGN_OR_RETURN(ExecutionPhaseTwoResponse response,
                     Run(name, ring[d].PhaseTwo(std::move(data), parallelism), &CompleteExecutionPhaseTwo, observer));
    data = response.flag_count_tuples();
    result.outputs.emplace_back(name, data);
  }
  {
    const std::string name = StageName("phase two", aggregator);
    ASSIGN_OR_RETURN(result.reach, Run(name, aggregator.PhaseTwoAtAggregator(std::move(data), parallelism),
                                       &CompleteExecutionPhaseTwoAtAggregator, observer));
    data = result.reach.same_key_aggregator_matrix();
    result.outputs.emplace_back(name, data);
  }

  for (size_t d = 0; d + 1 < k; ++d) {
    const std::string name = StageName("phase three", ring[d]);
    ASSIGN_OR_RETURN(ExecutionPhaseThreeResponse response,
                     Run(name, ring[d].PhaseThree(std::move(data), parallelism), &CompleteExecutionPhaseThree,
                         observer));
    data = response.same_key_aggregator_matrix();
    result.outputs.emplace_back(name, data);
  }
  {
    const std::string name = StageName("phase three", aggregator);
    ASSIGN_OR_RETURN(result.frequency, Run(name, aggregator.PhaseThreeAtAggregator(std::move(data), parallelism),
                                           &CompleteExecutionPhaseThreeAtAggregator, observer));
    result.outputs.emplace_back(name, std::string());
  }
  return result;
}

}  // namespace halo::testing
