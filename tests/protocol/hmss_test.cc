// HMSS with every party in one process: EDPs split their frequency vectors,
// two workers shuffle, the aggregator reads the histogram.
#include "halo/protocol/hmss.h"
#include "absl/strings/str_cat.h"
#include "halo/crypto/sha256.h"

#include <catch2/catch.hpp>
#include <cmath>

#include "halo/crypto/seeded_prng.h"
#include "halo/sketch/frequency_vector.h"
#include "halo/stats/sampled_estimators.h"
#include "testing/synthetic_audience.h"

namespace halo::protocol::hmss {
namespace {

constexpr uint64_t kPopulation = 200000;
constexpr uint32_t kMaxFrequency = 5;

struct Run {
  std::vector<std::vector<uint8_t>> vectors;  // each EDP's values, in plaintext, for the truth
  ShufflePhaseResponse first, second;
  AggregationPhaseResponse aggregate;
  std::string common_seed;
  ShufflePhaseRequest first_request;
};

HmssParameters Parameters(const sketch::FrequencyVectorSpec& spec, NoiseMechanism noise) {
  HmssParameters p;
  p.set_ring_modulus(127);
  p.set_max_frequency(spec.max_frequency);
  p.set_vector_size(spec.SlotCount());
  p.set_noise_mechanism(noise);
  p.mutable_bucket_noise()->set_epsilon(1.0);
  p.mutable_bucket_noise()->set_delta(1e-6);
  return p;
}

// EDP i sends its seed to FIRST when i is even, else to SECOND. With a
// replay seed, each worker's noise is drawn from a seed derived from it.
Run RunProtocol(const sketch::FrequencyVectorSpec& spec, const testing::Audience& audience,
                const HmssParameters& parameters, int parallelism = 2, const std::string& replay_seed = "") {
  Run run;
  ShufflePhaseRequest first, second;
  for (ShufflePhaseRequest* r : {&first, &second}) {
    r->set_stage(SHUFFLE_PHASE);
    *r->mutable_parameters() = parameters;
    r->set_parallelism(parallelism);
    if (!replay_seed.empty()) r->set_replay_seed(crypto::Sha256(replay_seed + (r == &first ? "first" : "second")));
  }
  first.set_order(FIRST);
  second.set_order(SECOND);
  for (size_t i = 0; i < audience.events_by_edp.size(); ++i) {
    sketch::FrequencyVector vector = *sketch::FrequencyVector::Create(spec);
    vector.AddEvents(audience.events_by_edp[i]);
    run.vectors.emplace_back(vector.values().begin(), vector.values().end());
    const sketch::FrequencyVectorShares shares = std::move(vector).Split();
    const bool seed_to_first = i % 2 == 0;
    (seed_to_first ? first : second).add_shares()->set_seed(shares.seed);
    (seed_to_first ? second : first).add_shares()->set_data(std::string(shares.data.view()));
  }
  run.common_seed = *DeriveCommonSeed(GenerateSeedHalf(), GenerateSeedHalf());
  first.set_common_seed(run.common_seed);
  second.set_common_seed(run.common_seed);
  run.first_request = first;
  auto first_out = CompleteShufflePhase(first);
  auto second_out = CompleteShufflePhase(second);
  REQUIRE(first_out.ok());
  REQUIRE(second_out.ok());
  run.first = *first_out;
  run.second = *second_out;
  AggregationPhaseRequest aggregation;
  aggregation.set_stage(AGGREGATION_PHASE);
  *aggregation.mutable_parameters() = parameters;
  aggregation.set_first_share(run.first.shuffled_share());
  aggregation.set_second_share(run.second.shuffled_share());
  aggregation.set_parallelism(parallelism);
  auto aggregate = CompleteAggregationPhase(aggregation);
  REQUIRE(aggregate.ok());
  run.aggregate = *aggregate;
  return run;
}

std::vector<uint8_t> PlainCombined(const Run& run) {
  std::vector<uint8_t> sum(run.vectors[0].size(), 0);
  for (const auto& v : run.vectors) {
    for (size_t i = 0; i < sum.size(); ++i) sum[i] += v[i];
  }
  return sum;
}

TEST_CASE("Without noise, HMSS gives the exact histogram of the sampled VIDs (1 to 6 EDPs)") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'h'));
  for (int edps = 1; edps <= 6; ++edps) {
    for (double width : {1.0, 0.3}) {
      const auto spec = *sketch::FrequencyVectorSpec::Create(kPopulation, {0.6, width}, kMaxFrequency, 127);
      const auto audience = testing::MakeAudience(20000, edps, 0.3, kMaxFrequency, random, kPopulation);
      const Run run = RunProtocol(spec, audience, Parameters(spec, NONE), edps % 2 + 1);
      const std::vector<uint64_t> truth = stats::FrequencyHistogram(PlainCombined(run), kMaxFrequency);
      INFO(edps << " EDPs, width " << width);
      REQUIRE(run.aggregate.frequency_histogram_size() == static_cast<int>(kMaxFrequency));
      for (uint32_t k = 0; k < kMaxFrequency; ++k) {
        CHECK(run.aggregate.frequency_histogram(k) == static_cast<int64_t>(truth[k]));
      }
      CHECK(run.aggregate.bucket_noise_variance() == 0);
      if (width == 1.0) {
        int64_t reach = 0;
        for (int64_t c : run.aggregate.frequency_histogram()) reach += c;
        CHECK(reach == static_cast<int64_t>(audience.union_reach));
      }
    }
  }
}

TEST_CASE("Reach-only HMSS counts the reached VIDs exactly") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'r'));
  const auto spec = *sketch::FrequencyVectorSpec::Create(kPopulation, {0, 1}, 1, 127);
  const auto audience = testing::MakeAudience(12345, 4, 0.5, 1, random, kPopulation);
  const Run run = RunProtocol(spec, audience, Parameters(spec, NONE));
  REQUIRE(run.aggregate.frequency_histogram_size() == 1);
  CHECK(run.aggregate.frequency_histogram(0) == 12345);
}

TEST_CASE("With noise, HMSS reach and frequency lie within 3 standard errors of the truth") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'n'));
  for (NoiseMechanism mechanism : {GEOMETRIC, DISCRETE_GAUSSIAN}) {
    int trials = 0, reach_covered = 0, buckets = 0, buckets_covered = 0;
    for (int t = 0; t < 20; ++t) {
      const double width = t % 2 == 0 ? 0.5 : 1.0;
      const auto spec = *sketch::FrequencyVectorSpec::Create(kPopulation, {0.1, width}, kMaxFrequency, 127);
      const auto audience = testing::MakeAudience(30000, 3, 0.3, kMaxFrequency, random, kPopulation);
      const Run run = RunProtocol(spec, audience, Parameters(spec, mechanism), 2, random.NextBytes(32));
      CHECK(run.aggregate.bucket_noise_variance() > 0);
      std::vector<stats::SampledCount> counts;
      double noisy_reach = 0;
      for (int64_t c : run.aggregate.frequency_histogram()) {
        counts.push_back({static_cast<double>(c), run.aggregate.bucket_noise_variance()});
        noisy_reach += c;
      }
      auto reach = stats::SampledReach({noisy_reach, kMaxFrequency * run.aggregate.bucket_noise_variance()},
                                       width, kPopulation);
      auto frequency = stats::SampledFrequency(counts, width, kPopulation);
      REQUIRE((reach.ok() && frequency.ok()));
      ++trials;
      reach_covered += reach->Covers(static_cast<double>(audience.union_reach), 3);
      for (uint32_t k = 0; k < kMaxFrequency; ++k) {
        ++buckets;
        buckets_covered += frequency->reach[k].Covers(static_cast<double>(audience.union_frequency[k]), 3);
      }
    }
    INFO("mechanism " << NoiseMechanism_Name(mechanism) << ": reach " << reach_covered << "/" << trials
                      << ", buckets " << buckets_covered << "/" << buckets);
    CHECK(reach_covered >= trials - 1);
    CHECK(buckets_covered >= buckets - 2);
  }
}

TEST_CASE("The shuffle is a secret permutation: out of input order, and different every run") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'p'));
  const auto spec = *sketch::FrequencyVectorSpec::Create(5000, {0, 1}, kMaxFrequency, 127);
  const auto audience = testing::MakeAudience(2500, 2, 0.3, kMaxFrequency, random, 5000);
  const HmssParameters parameters = Parameters(spec, NONE);
  const Run a = RunProtocol(spec, audience, parameters);
  const Run b = RunProtocol(spec, audience, parameters);
  auto combined = [](const Run& run) {
    std::vector<uint8_t> out(run.first.shuffled_share().size());
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = (static_cast<uint8_t>(run.first.shuffled_share()[i]) +
                static_cast<uint8_t>(run.second.shuffled_share()[i])) % 127;
    }
    return out;
  };
  const std::vector<uint8_t> plain = PlainCombined(a);
  const std::vector<uint8_t> shuffled_a = combined(a), shuffled_b = combined(b);
  // The same multiset of values...
  CHECK(std::is_permutation(plain.begin(), plain.end(), shuffled_a.begin()));
  // ...in another order, and another again in a second run.
  size_t same_position = 0, same_across_runs = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    same_position += plain[i] == shuffled_a[i];
    same_across_runs += shuffled_a[i] == shuffled_b[i];
  }
  // About half the slots are zero, so a random order still matches ~half.
  CHECK(same_position < 0.6 * plain.size());
  CHECK(same_across_runs < 0.6 * plain.size());
  CHECK(shuffled_a != plain);
  CHECK(shuffled_a != shuffled_b);
}

TEST_CASE("Each worker's output alone is uniform over the ring, whatever the data") {
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 'u'));
  // A mostly-empty vector: its plaintext is nearly all zeros.
  const auto spec = *sketch::FrequencyVectorSpec::Create(127000, {0, 1}, kMaxFrequency, 127);
  const auto audience = testing::MakeAudience(500, 2, 0, kMaxFrequency, random, 127000);
  const Run run = RunProtocol(spec, audience, Parameters(spec, NONE));
  for (const std::string* share : {&run.first.shuffled_share(), &run.second.shuffled_share()}) {
    std::vector<double> counts(127, 0);
    for (char c : *share) ++counts[static_cast<uint8_t>(c)];
    double chi = 0;
    const double expected = share->size() / 127.0;
    for (double c : counts) chi += (c - expected) * (c - expected) / expected;
    CHECK(chi < 218);  // 126 degrees of freedom, p = 1e-6
  }
}

// Pieces of `bytes` cut at the given sizes in turn: a blob store's chunks
// need not line up with anything.
SharePieces Cut(std::string bytes, std::vector<size_t> sizes) {
  return [bytes = std::move(bytes), sizes = std::move(sizes), at = size_t{0},
          turn = size_t{0}]() mutable -> absl::StatusOr<std::optional<std::string>> {
    if (at == bytes.size()) return std::nullopt;
    const size_t n = std::min(sizes[turn++ % sizes.size()], bytes.size() - at);
    std::string piece = bytes.substr(at, n);
    at += n;
    return piece;
  };
}

TEST_CASE("Streamed shares give the same shuffle and aggregation as shares in memory") {
  const auto spec = *sketch::FrequencyVectorSpec::Create(300000, {0.2, 0.7}, kMaxFrequency, 127);
  crypto::SeededPrng random = *crypto::SeededPrng::Create(std::string(32, 't'));
  const auto audience = testing::MakeAudience(40000, 3, 0, kMaxFrequency, random, 300000);
  const HmssParameters parameters = Parameters(spec, DISCRETE_GAUSSIAN);
  const Run run = RunProtocol(spec, audience, parameters, 2, "streamed");

  // The first worker again, its data shares streamed in ragged pieces.
  ShufflePhaseRequest first = run.first_request;
  first.clear_shares();
  first.set_parallelism(1);  // the permutation does not depend on threads
  std::vector<SharePieces> streamed;
  for (const FrequencyVectorShare& share : run.first_request.shares()) {
    if (share.has_seed()) {
      first.add_shares()->set_seed(share.seed());
    } else {
      streamed.push_back(Cut(share.data(), {1, 4095, 70000, 3}));
    }
  }
  REQUIRE(!streamed.empty());
  std::string out;
  size_t pieces = 0;
  auto cpu = StreamShufflePhase(first, streamed, [&](absl::string_view piece) {
    out.append(piece.data(), piece.size());
    ++pieces;
    return absl::OkStatus();
  });
  REQUIRE(cpu.ok());
  CHECK(out == run.first.shuffled_share());
  CHECK(pieces >= 1);

  AggregationPhaseRequest aggregation;
  aggregation.set_stage(AGGREGATION_PHASE);
  *aggregation.mutable_parameters() = parameters;
  auto streamed_aggregate = StreamAggregationPhase(aggregation, Cut(run.first.shuffled_share(), {1 << 20, 17}),
                                                   Cut(run.second.shuffled_share(), {5, 999999}));
  REQUIRE(streamed_aggregate.ok());
  CHECK(std::vector<int64_t>(streamed_aggregate->frequency_histogram().begin(),
                             streamed_aggregate->frequency_histogram().end()) ==
        std::vector<int64_t>(run.aggregate.frequency_histogram().begin(), run.aggregate.frequency_histogram().end()));

  // A streamed share names its place after the request's shares, and a bad
  // slot by its place in the whole share, not in the piece.
  std::string bad(spec.SlotCount(), '\1');
  bad[spec.SlotCount() - 2] = static_cast<char>(127);
  auto refused = StreamShufflePhase(first, {Cut(bad, {1000})}, [](absl::string_view) { return absl::OkStatus(); });
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.status().message()),
             Catch::Contains(absl::StrCat("share ", first.shares_size(), ": slot ", spec.SlotCount() - 2, " holds 127")));
  auto too_long = StreamShufflePhase(first, {Cut(std::string(spec.SlotCount() + 1, '\0'), {4096})},
                                     [](absl::string_view) { return absl::OkStatus(); });
  REQUIRE_FALSE(too_long.ok());
  CHECK_THAT(std::string(too_long.status().message()), Catch::Contains("more than the vector's"));
  // A failing sink stops the stage with its error.
  auto sink_failed = StreamShufflePhase(first, {Cut(std::string(spec.SlotCount(), '\0'), {4096})},
                                        [](absl::string_view) { return absl::UnavailableError("disk full"); });
  CHECK(sink_failed.status().code() == absl::StatusCode::kUnavailable);

  const std::string share = run.first.shuffled_share();
  auto longer = StreamAggregationPhase(aggregation, Cut(share, {4096}), Cut(share + std::string(1, '\0'), {4096}));
  REQUIRE_FALSE(longer.ok());
  CHECK_THAT(std::string(longer.status().message()), Catch::Contains("second_share has more than"));
  std::string outside = share;
  outside[share.size() - 1] = static_cast<char>(200);
  auto out_of_ring = StreamAggregationPhase(aggregation, Cut(outside, {4096}), Cut(share, {4096}));
  REQUIRE_FALSE(out_of_ring.ok());
  CHECK_THAT(std::string(out_of_ring.status().message()),
             Catch::Contains(absl::StrCat("first_share: slot ", share.size() - 1, " holds 200")));
}

TEST_CASE("Stages refuse bad input, naming it") {
  const auto spec = *sketch::FrequencyVectorSpec::Create(1000, {0, 1}, kMaxFrequency, 127);
  ShufflePhaseRequest good;
  good.set_stage(SHUFFLE_PHASE);
  *good.mutable_parameters() = Parameters(spec, NONE);
  good.set_order(FIRST);
  good.set_common_seed(std::string(32, 'c'));
  good.add_shares()->set_data(std::string(1000, '\1'));
  good.add_shares()->set_seed(std::string(32, 's'));
  REQUIRE(CompleteShufflePhase(good).ok());

  auto error_of = [](const ShufflePhaseRequest& r) {
    auto out = CompleteShufflePhase(r);
    REQUIRE_FALSE(out.ok());
    CHECK(out.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(out.status().message());
  };
  ShufflePhaseRequest r = good;
  r.mutable_shares(0)->set_data(std::string(999, '\1'));
  CHECK_THAT(error_of(r), Catch::Contains("share 0: data has 999 slots"));
  r = good;
  r.mutable_shares(0)->set_data(std::string(1001, '\1'));
  CHECK_THAT(error_of(r), Catch::Contains("share 0"));
  r = good;
  r.mutable_shares(0)->mutable_data()->at(7) = static_cast<char>(200);
  CHECK_THAT(error_of(r), Catch::Contains("share 0: slot 7 holds 200"));
  r = good;
  r.mutable_shares(1)->set_seed("short");
  CHECK_THAT(error_of(r), Catch::Contains("share 1: seed must be 32 bytes"));
  r = good;
  r.add_shares();
  CHECK_THAT(error_of(r), Catch::Contains("share 2: neither data nor seed"));
  r = good;
  r.set_common_seed("x");
  CHECK_THAT(error_of(r), Catch::Contains("common_seed"));
  r = good;
  r.clear_order();
  CHECK_THAT(error_of(r), Catch::Contains("order"));
  r = good;
  r.mutable_parameters()->set_ring_modulus(300);
  CHECK_THAT(error_of(r), Catch::Contains("ring_modulus"));
  r = good;
  for (int i = 0; i < 30; ++i) r.add_shares()->set_seed(std::string(32, 's'));
  CHECK_THAT(error_of(r), Catch::Contains("sum past the ring modulus"));
  r = good;
  r.mutable_parameters()->set_noise_mechanism(NOISE_MECHANISM_UNSPECIFIED);
  CHECK_THAT(error_of(r), Catch::Contains("noise_mechanism"));
  r = good;
  r.mutable_parameters()->set_noise_mechanism(DISCRETE_GAUSSIAN);
  r.mutable_parameters()->mutable_bucket_noise()->set_delta(0);
  CHECK_THAT(error_of(r), Catch::Contains("delta"));
  r = good;
  r.set_parallelism(-1);
  CHECK_THAT(error_of(r), Catch::Contains("parallelism"));

  AggregationPhaseRequest aggregation;
  aggregation.set_stage(AGGREGATION_PHASE);
  *aggregation.mutable_parameters() = Parameters(spec, NONE);
  aggregation.set_first_share(std::string(1000, '\0'));
  aggregation.set_second_share(std::string(999, '\0'));
  auto short_share = CompleteAggregationPhase(aggregation);
  REQUIRE_FALSE(short_share.ok());
  CHECK_THAT(std::string(short_share.status().message()), Catch::Contains("second_share has 999 slots"));

  // Bytes for one stage handed to the other.
  auto crossed = RunAggregationPhase(good.SerializeAsString());
  REQUIRE_FALSE(crossed.ok());
  CHECK_THAT(std::string(crossed.status().message()), Catch::Contains("not a aggregation phase request"));
  auto crossed_back = RunShufflePhase(aggregation.SerializeAsString());
  REQUIRE_FALSE(crossed_back.ok());
  CHECK_THAT(std::string(crossed_back.status().message()), Catch::Contains("not a shuffle phase request"));
  CHECK_FALSE(RunShufflePhase("\xff\xff garbage").ok());
  CHECK(RunShufflePhase(good.SerializeAsString()).ok());
}

}  // namespace
}  // namespace halo::protocol::hmss
