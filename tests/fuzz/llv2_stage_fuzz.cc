// The bytes one duchy's LLv2 stage takes from another party (an EDP's
// register vector, the previous duchy's registers, flag-count tuples or
// same-key-aggregator matrix), for every stage of full and reach-only LLv2.
// The rest of each request is what the duchy itself holds (its key, the
// Kingdom's parameters): a template from a real two-duchy run with small,
// noiseless parameters, so each input runs in about a millisecond.
//
// Input: a selector byte (which stage) and the bytes the peer sent.
#include "fuzz_support.h"
#include "halo/protocol/llv2.h"
#include "halo/protocol/reach_only_llv2.h"
#include "testing/llv2_ring.h"

using namespace halo;
using namespace halo::protocol::llv2;

namespace {

constexpr int kSketchSize = 64;
constexpr double kDecayRate = 12;

struct Templates {
  // Full LLv2, in the order the stages ran: setup at the worker and at the
  // aggregator, then phases one to three at each.
  std::vector<std::unique_ptr<google::protobuf::Message>> full;
  ReachOnlySetupPhaseRequest reach_setup;
  ReachOnlyExecutionPhaseRequest reach_execution;
  ReachOnlyAggregationRequest reach_aggregation;
  std::vector<std::string> seeds;
};

sketch::LiquidLegionsSketch SmallSketch(uint64_t first_vid) {
  sketch::LiquidLegionsSketch sketch(*sketch::LiquidLegionsParams::Create(kDecayRate, kSketchSize, 99));
  std::vector<sketch::VidEvent> events;
  for (uint64_t vid = first_vid; vid < first_vid + 6; ++vid) events.push_back({vid, static_cast<uint32_t>(vid % 3 + 1)});
  sketch.AddEvents(events);
  return sketch;
}

// The field of each full-LLv2 request that another party fills.
std::string* PeerField(google::protobuf::Message& request) {
  if (auto* r = dynamic_cast<SetupPhaseRequest*>(&request)) {
    return r->register_vectors_size() > 0 ? r->mutable_register_vectors(0) : r->add_register_vectors();
  }
  if (auto* r = dynamic_cast<ExecutionPhaseOneRequest*>(&request)) return r->mutable_registers();
  if (auto* r = dynamic_cast<ExecutionPhaseOneAtAggregatorRequest*>(&request)) return r->mutable_registers();
  if (auto* r = dynamic_cast<ExecutionPhaseTwoRequest*>(&request)) return r->mutable_flag_count_tuples();
  if (auto* r = dynamic_cast<ExecutionPhaseTwoAtAggregatorRequest*>(&request)) return r->mutable_flag_count_tuples();
  if (auto* r = dynamic_cast<ExecutionPhaseThreeRequest*>(&request)) return r->mutable_same_key_aggregator_matrix();
  if (auto* r = dynamic_cast<ExecutionPhaseThreeAtAggregatorRequest*>(&request)) {
    return r->mutable_same_key_aggregator_matrix();
  }
  std::abort();
}

void RunFull(const google::protobuf::Message& request) {
  if (auto* r = dynamic_cast<const SetupPhaseRequest*>(&request)) (void)CompleteSetupPhase(*r);
  if (auto* r = dynamic_cast<const ExecutionPhaseOneRequest*>(&request)) (void)CompleteExecutionPhaseOne(*r);
  if (auto* r = dynamic_cast<const ExecutionPhaseOneAtAggregatorRequest*>(&request)) {
    (void)CompleteExecutionPhaseOneAtAggregator(*r);
  }
  if (auto* r = dynamic_cast<const ExecutionPhaseTwoRequest*>(&request)) (void)CompleteExecutionPhaseTwo(*r);
  if (auto* r = dynamic_cast<const ExecutionPhaseTwoAtAggregatorRequest*>(&request)) {
    (void)CompleteExecutionPhaseTwoAtAggregator(*r);
  }
  if (auto* r = dynamic_cast<const ExecutionPhaseThreeRequest*>(&request)) (void)CompleteExecutionPhaseThree(*r);
  if (auto* r = dynamic_cast<const ExecutionPhaseThreeAtAggregatorRequest*>(&request)) {
    (void)CompleteExecutionPhaseThreeAtAggregator(*r);
  }
}

Templates MakeTemplates() {
  Templates t;
  const std::vector<crypto::ElGamalKeyPair> keys = {
      *crypto::ElGamalKeyPair::FromSecret(crypto::Scalar::FromUint64(1001)),
      *crypto::ElGamalKeyPair::FromSecret(crypto::Scalar::FromUint64(1002))};
  Llv2Computation computation;
  computation.register_noise.set_mechanism(NONE);
  computation.register_noise.set_duchy_count(2);
  computation.register_noise.set_total_sketches_count(2);
  computation.flag_count_noise.set_mechanism(NONE);
  computation.flag_count_noise.set_non_aggregator_count(1);
  computation.flag_count_noise.set_maximum_frequency(3);
  computation.decay_rate = kDecayRate;
  computation.sketch_size = kSketchSize;
  const auto ring = testing::MakeLlv2Ring(keys, computation);
  const crypto::ElGamalPublicKey& combined = ring[0].combined_public_key();
  const std::vector<std::string> uploads = {*EncryptSketch(SmallSketch(1), combined, 1),
                                            *EncryptSketch(SmallSketch(4), combined, 1)};
  auto ran = testing::RunLlv2Ring(ring, uploads, 1, [&](const std::string&, const google::protobuf::Message& request) {
    t.full.emplace_back(request.New());
    t.full.back()->CopyFrom(request);
  });
  if (!ran.ok()) std::abort();
  for (size_t i = 0; i < t.full.size(); ++i) {
    t.seeds.push_back(fuzz::WithSelector(static_cast<uint8_t>(i), *PeerField(*t.full[i])));
  }

  // Reach-only: the worker's setup, its execution, the aggregator's.
  const size_t reach_first = t.full.size();
  t.reach_setup.set_stage(REACH_ONLY_SETUP_PHASE);
  t.reach_setup.set_combined_public_key(combined.Encode());
  t.reach_setup.mutable_noise()->set_mechanism(NONE);
  t.reach_setup.mutable_noise()->set_duchy_count(2);
  t.reach_setup.set_parallelism(1);
  const std::string reach_upload = *EncryptReachOnlySketch(SmallSketch(1), combined, 1);
  t.reach_setup.add_register_vectors(reach_upload);
  auto setup = CompleteReachOnlySetupPhase(t.reach_setup);
  t.reach_execution.set_stage(REACH_ONLY_EXECUTION_PHASE);
  t.reach_execution.set_secret_key(keys[0].secret().ToBytes());
  t.reach_execution.set_parallelism(1);
  t.reach_execution.set_registers(setup->registers());
  auto executed = CompleteReachOnlyExecutionPhase(t.reach_execution);
  t.reach_aggregation.set_stage(REACH_ONLY_EXECUTION_PHASE_AT_AGGREGATOR);
  t.reach_aggregation.set_secret_key(keys[1].secret().ToBytes());
  t.reach_aggregation.set_decay_rate(kDecayRate);
  t.reach_aggregation.set_sketch_size(kSketchSize);
  *t.reach_aggregation.mutable_noise() = t.reach_setup.noise();
  t.reach_aggregation.set_vid_sampling_width(1);
  t.reach_aggregation.set_parallelism(1);
  t.reach_aggregation.set_registers(executed->registers());
  if (!setup.ok() || !executed.ok() || !CompleteReachOnlyExecutionPhaseAtAggregator(t.reach_aggregation).ok()) {
    std::abort();
  }
  t.seeds.push_back(fuzz::WithSelector(static_cast<uint8_t>(reach_first), reach_upload));
  t.seeds.push_back(fuzz::WithSelector(static_cast<uint8_t>(reach_first + 1), setup->registers()));
  t.seeds.push_back(fuzz::WithSelector(static_cast<uint8_t>(reach_first + 2), executed->registers()));
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Templates templates = [] {
    Templates t = MakeTemplates();
    fuzz::MaybeWriteSeeds(t.seeds);
    return t;
  }();
  const auto [selector, peer] = fuzz::Select(data, size);
  const size_t stage = selector % (templates.full.size() + 3);
  if (stage < templates.full.size()) {
    std::unique_ptr<google::protobuf::Message> request(templates.full[stage]->New());
    request->CopyFrom(*templates.full[stage]);
    PeerField(*request)->assign(peer.data(), peer.size());
    RunFull(*request);
  } else if (stage == templates.full.size()) {
    ReachOnlySetupPhaseRequest request = templates.reach_setup;
    request.set_register_vectors(0, std::string(peer));
    (void)CompleteReachOnlySetupPhase(request);
  } else if (stage == templates.full.size() + 1) {
    ReachOnlyExecutionPhaseRequest request = templates.reach_execution;
    request.set_registers(std::string(peer));
    (void)CompleteReachOnlyExecutionPhase(request);
  } else {
    ReachOnlyAggregationRequest request = templates.reach_aggregation;
    request.set_registers(std::string(peer));
    (void)CompleteReachOnlyExecutionPhaseAtAggregator(request);
  }
  return 0;
}
