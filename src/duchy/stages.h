// The work of each mill stage, by protocol: what it reads (the duchy's
// stored inputs and uploads), what it tells the Kingdom, and the output it
// returns for the mill to store and send.
#ifndef HALO_SRC_DUCHY_STAGES_H_
#define HALO_SRC_DUCHY_STAGES_H_

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "duchy_context.h"
#include "halo/api/replay_seed.h"
#include "mill_work.h"
#include "halo/api/v1/resources.pb.h"
#include "halo/protocol/hmss.pb.h"

namespace halo::duchy {

struct StageRun {
  MillWork& work;
  LocalComputation claimed;
  KnownComputation known;
  const StageStep& step;
  // Threads a stage uses.
  int parallelism = 1;
  // Tests only: see DuchyOptions::replay_seed.
  std::string replay_seed;
  // The seed of one stage's DP noise in `computation`: empty (the operating
  // system's randomness) unless a test gave a replay seed.
  std::string StageReplaySeed(const api::v1::Computation& computation, const api::v1::MeasurementSpec& spec,
                              absl::string_view stage) const {
    return api::ReplaySeed(replay_seed, work.duchy_id(), stage, spec, computation.protocol_config().protocol());
  }
  // Saves known.details under the claim, before a secret in them is used.
  absl::Status SaveDetails();
  // The blob of each input of `stage` (or of the uploads), by input name.
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ReadInputs(ComputationStage stage);
  // The inputs of `stage` (or the uploads) as stored, for a stage that reads
  // them in pieces through OpenInput.
  absl::StatusOr<std::vector<StageInput>> ListInputs(ComputationStage stage);
  // A stored blob piece by piece (nullopt after the last), and its size if
  // `size` is given; the time spent reading counts as reading.
  using Pieces = std::function<absl::StatusOr<std::optional<std::string>>()>;
  absl::StatusOr<Pieces> OpenInput(const std::string& blob_key, uint64_t* size = nullptr);
  // A stored blob of the computation, whole.
  absl::StatusOr<std::string> ReadBlob(const std::string& key);
  // Appends to the stage's output, which the mill stores with its digest and
  // sends on. INTERNAL for a stage that sends nothing.
  absl::Status WriteOutput(absl::string_view piece);
  // A call that moves the computation at the Kingdom (through `work`),
  // timed.
  template <typename Call>
  auto TellKingdom(Call&& call) {
    const absl::Time began = absl::Now();
    auto result = call();
    telling_kingdom += absl::Now() - began;
    return result;
  }
  // Time spent reading inputs and telling the Kingdom, so that the mill's
  // log tells plumbing from the stage's own work.
  absl::Duration reading;
  absl::Duration telling_kingdom;
  absl::Duration storing;
  // Sending the output on (when the stage has one) and moving the
  // computation to its next stage.
  absl::Duration finishing;
  // Set by the mill for a stage that sends its output.
  std::function<absl::Status(absl::string_view)> output;
  uint64_t output_bytes = 0;
  // Added to by ReadInputs's threads at once.
  std::atomic<uint64_t> input_bytes = 0;
};

// Each returns the stage's output ("" when it sends none).
absl::StatusOr<std::string> RunHmssStage(StageRun& run);
absl::StatusOr<std::string> RunLlv2Stage(StageRun& run);

// Calls shared by the protocols' first and last stages.
absl::Status SetRequisitionParams(StageRun& run, const api::v1::EncryptionPublicKey& public_key);
absl::Status SetResult(StageRun& run, const api::v1::MeasurementResult& result);
// Runs the claimed stage of `run` and finishes it through `run.work`: the
// output stored (unless a retry finds it stored), sent and the computation
// moved on. What a mill does with each claim.
absl::Status RunClaimedStage(StageRun& run);
absl::StatusOr<api::v1::MeasurementSpec> MeasurementSpecOf(const api::v1::Computation& computation);

// The HMSS parameters both workers and the aggregator derive from the
// computation, so that all three agree.
absl::StatusOr<protocol::hmss::HmssParameters> HmssParametersOf(const api::v1::Computation& computation);

// Refuse an EDP upload for `computation` that cannot be a valid input,
// naming what is wrong, from its header before its bytes arrive: an HMSS
// data share of the wrong length or without the other worker's encrypted
// seed (returning the ring modulus its slots must stay below, checked as
// they arrive); an LLv2 or reach-only LLv2 register vector of `size` bytes
// that is not whole registers or holds more than the sketch has.
absl::StatusOr<uint32_t> CheckHmssUpload(const api::v1::Computation& computation, int64_t size,
                                         absl::string_view encrypted_peer_seed);
absl::Status CheckRegisterVectorUpload(const api::v1::Computation& computation, int64_t size);
// Where an HMSS upload's encrypted peer seed is kept, beside its data share.
std::string PeerSeedKey(absl::string_view upload_key);

// The width of the measurement's VID sampling interval (1 when unset).
double SamplingWidth(const api::v1::MeasurementSpec& spec);

}  // namespace halo::duchy

#endif  // HALO_SRC_DUCHY_STAGES_H_
