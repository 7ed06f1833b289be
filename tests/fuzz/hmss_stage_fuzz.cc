// The bytes an HMSS duchy takes from another party: an EDP's data share or
// share seed at a worker (whole, and streamed in pieces as the mill reads
// it), and a worker's shuffled share at the aggregator. The parameters are
// the duchy's own (small, noiseless) so each input runs quickly; the stage
// must refuse a wrong length or a value outside the ring, never crash.
//
// Input: a selector byte and the bytes the peer sent.
#include "fuzz_support.h"
#include "halo/protocol/hmss.h"

using namespace halo;
using namespace halo::protocol::hmss;

namespace {

constexpr uint64_t kVectorSize = 256;
constexpr uint32_t kRing = 127;

HmssParameters Parameters() {
  HmssParameters p;
  p.set_ring_modulus(kRing);
  p.set_max_frequency(5);
  p.set_vector_size(kVectorSize);
  p.set_noise_mechanism(NONE);
  return p;
}

ShufflePhaseRequest ShuffleTemplate() {
  ShufflePhaseRequest request;
  request.set_stage(SHUFFLE_PHASE);
  *request.mutable_parameters() = Parameters();
  request.set_order(FIRST);
  request.set_common_seed(std::string(32, 's'));
  request.set_parallelism(1);
  return request;
}

AggregationPhaseRequest AggregationTemplate(std::string first, std::string second) {
  AggregationPhaseRequest request;
  request.set_stage(AGGREGATION_PHASE);
  *request.mutable_parameters() = Parameters();
  request.set_first_share(std::move(first));
  request.set_second_share(std::move(second));
  request.set_parallelism(1);
  return request;
}

// `bytes` in two pieces cut at `cut`, as a blob is read back in chunks.
SharePieces Pieces(absl::string_view bytes, size_t cut) {
  auto pieces = std::make_shared<std::vector<std::string>>();
  cut = bytes.empty() ? 0 : cut % (bytes.size() + 1);
  pieces->emplace_back(bytes.substr(0, cut));
  pieces->emplace_back(bytes.substr(cut));
  auto next = std::make_shared<size_t>(0);
  return [pieces, next]() -> absl::StatusOr<std::optional<std::string>> {
    if (*next >= pieces->size()) return std::nullopt;
    return (*pieces)[(*next)++];
  };
}

struct Seeds {
  std::string shuffled;  // a valid worker output, for the aggregator's other share
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Seeds seeds = [] {
    std::string share(kVectorSize, '\0');
    for (size_t i = 0; i < share.size(); ++i) share[i] = static_cast<char>(i % kRing);
    ShufflePhaseRequest request = ShuffleTemplate();
    request.add_shares()->set_data(share);
    auto shuffled = CompleteShufflePhase(request);
    if (!shuffled.ok()) std::abort();
    fuzz::MaybeWriteSeeds({fuzz::WithSelector(0, share), fuzz::WithSelector(1, std::string(32, 'e')),
                           fuzz::WithSelector(2, shuffled->shuffled_share()),
                           fuzz::WithSelector(3, shuffled->shuffled_share()),
                           fuzz::WithSelector(4, share), fuzz::WithSelector(5, shuffled->shuffled_share())});
    return Seeds{shuffled->shuffled_share()};
  }();
  const auto [selector, peer] = fuzz::Select(data, size);
  switch (selector % 6) {
    case 0: {
      ShufflePhaseRequest request = ShuffleTemplate();
      request.add_shares()->set_data(std::string(peer));
      request.add_shares()->set_seed(std::string(32, 'e'));
      (void)CompleteShufflePhase(request);
      break;
    }
    case 1: {
      ShufflePhaseRequest request = ShuffleTemplate();
      request.add_shares()->set_seed(std::string(peer));
      (void)CompleteShufflePhase(request);
      break;
    }
    case 2:
      (void)CompleteAggregationPhase(AggregationTemplate(std::string(peer), seeds.shuffled));
      break;
    case 3:
      (void)CompleteAggregationPhase(AggregationTemplate(seeds.shuffled, std::string(peer)));
      break;
    case 4: {
      // The mill's streamed shuffle: the share read back in pieces.
      const std::vector<SharePieces> shares = {Pieces(peer, selector)};
      (void)StreamShufflePhase(ShuffleTemplate(), shares, [](absl::string_view) { return absl::OkStatus(); });
      break;
    }
    case 5:
      (void)StreamAggregationPhase(AggregationTemplate("", ""), Pieces(peer, selector), Pieces(seeds.shuffled, 100));
      break;
  }
  return 0;
}
