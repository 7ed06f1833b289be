#include "halo/sketch/frequency_vector.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/seeded_prng.h"

namespace halo::sketch {

absl::StatusOr<FrequencyVectorSpec> FrequencyVectorSpec::Create(uint64_t population_size,
                                                                VidSamplingInterval interval,
                                                                uint32_t max_frequency,
                                                                uint32_t modulus) {
  absl::StatusOr<VidSampler> sampler = VidSampler::Create(population_size, interval);
  if (!sampler.ok()) return sampler.status();
  // HMSS vectors are at most 2^31 slots (protocol::hmss checks the same).
  if (sampler->slots() > (uint64_t{1} << 31)) {
    return absl::InvalidArgumentError(absl::StrCat("the sampling interval holds ", sampler->slots(),
                                                   " VIDs; a frequency vector holds at most 2^31"));
  }
  if (max_frequency < 1) return absl::InvalidArgumentError("max frequency must be >= 1");
  if (modulus <= max_frequency || modulus > 256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ring modulus must be above max frequency ", max_frequency, " and at most 256, got ", modulus));
  }
  return FrequencyVectorSpec{population_size, interval, max_frequency, modulus};
}

VidSampler FrequencyVectorSpec::Sampler() const { return *VidSampler::Create(population_size, interval); }

uint64_t FrequencyVector::AddEvents(absl::Span<const VidEvent> events) {
  const uint32_t cap = spec_.max_frequency;
  const uint64_t slots = sampler_.slots();
  uint8_t* values = values_.data();
  uint64_t outside_population = 0;
  // Slots of a block first, then the counts: the position's arithmetic runs
  // without waiting on the scattered writes.
  constexpr size_t kBlock = 256;
  uint64_t slot_of[kBlock];
  for (size_t begin = 0; begin < events.size(); begin += kBlock) {
    const size_t n = std::min(kBlock, events.size() - begin);
    for (size_t i = 0; i < n; ++i) slot_of[i] = sampler_.Slot(events[begin + i].vid);
    for (size_t i = 0; i < n; ++i) {
      const uint64_t slot = slot_of[i];
      if (slot == slots) {
        outside_population += sampler_.InPopulation(events[begin + i].vid) ? 0 : 1;
        continue;
      }
      const uint32_t sum = values[slot] + events[begin + i].count;
      values[slot] = static_cast<uint8_t>(sum < cap ? sum : cap);
    }
  }
  return outside_population;
}

FrequencyVectorShares FrequencyVector::Split() const {
  FrequencyVectorShares shares;
  shares.seed = crypto::SeededPrng::GenerateSeed();
  std::vector<uint8_t> expanded = *ExpandShareSeed(shares.seed, values_.size(), spec_.modulus);
  shares.data.resize(values_.size());
  const uint32_t q = spec_.modulus;
  for (size_t i = 0; i < values_.size(); ++i) {
    shares.data[i] = static_cast<uint8_t>((values_[i] + q - expanded[i]) % q);
  }
  return shares;
}

absl::StatusOr<ShareSeedExpander> ShareSeedExpander::Create(absl::string_view seed, uint32_t modulus) {
  if (modulus < 2 || modulus > 256) {
    return absl::InvalidArgumentError(absl::StrCat("ring modulus must be 2 to 256, got ", modulus));
  }
  ASSIGN_OR_RETURN(crypto::SeededPrng prng, crypto::SeededPrng::Create(seed));
  return ShareSeedExpander(std::move(prng), modulus);
}

void ShareSeedExpander::Next(absl::Span<uint8_t> out) {
  for (size_t i = 0; i < out.size();) {
    if (at_ == sizeof(buffer_)) {
      prng_.Fill(absl::MakeSpan(buffer_));
      at_ = 0;
    }
    const uint8_t b = buffer_[at_++];
    if (b < limit_) out[i++] = static_cast<uint8_t>(b % modulus_);
  }
}

absl::StatusOr<std::vector<uint8_t>> ExpandShareSeed(absl::string_view seed, uint64_t slots,
                                                     uint32_t modulus) {
  ASSIGN_OR_RETURN(ShareSeedExpander expander, ShareSeedExpander::Create(seed, modulus));
  std::vector<uint8_t> out(slots);
  expander.Next(absl::MakeSpan(out));
  return out;
}

absl::StatusOr<std::vector<uint8_t>> AddShares(absl::Span<const uint8_t> a,
                                               absl::Span<const uint8_t> b, uint32_t modulus) {
  if (a.size() != b.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("shares have different lengths: ", a.size(), " and ", b.size()));
  }
  std::vector<uint8_t> sum(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] >= modulus || b[i] >= modulus) {
      return absl::InvalidArgumentError(
          absl::StrCat("share slot ", i, " holds a value not below the modulus ", modulus));
    }
    sum[i] = static_cast<uint8_t>((a[i] + b[i]) % modulus);
  }
  return sum;
}

}  // namespace halo::sketch
