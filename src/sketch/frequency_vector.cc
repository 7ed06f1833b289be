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
  if (population_size == 0) return absl::InvalidArgumentError("population size must be >= 1");
  if (!(interval.start >= 0 && interval.start < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("VID sampling interval start must be in [0, 1), got ", interval.start));
  }
  if (!(interval.width > 0 && interval.width <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("VID sampling interval width must be in (0, 1], got ", interval.width));
  }
  if (max_frequency < 1) return absl::InvalidArgumentError("max frequency must be >= 1");
  if (modulus <= max_frequency || modulus > 256) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ring modulus must be above max frequency ", max_frequency, " and at most 256, got ", modulus));
  }
  return FrequencyVectorSpec{population_size, interval, max_frequency, modulus};
}

uint64_t FrequencyVectorSpec::FirstVid() const {
  return std::min(population_size - 1,
                  static_cast<uint64_t>(std::floor(interval.start * population_size)));
}

uint64_t FrequencyVectorSpec::SlotCount() const {
  const auto slots = static_cast<uint64_t>(std::llround(interval.width * population_size));
  return std::clamp<uint64_t>(slots, 1, population_size);
}

void FrequencyVector::AddEvents(absl::Span<const VidEvent> events) {
  const SlotMapper slot_of(spec_);
  const uint32_t cap = spec_.max_frequency;
  uint8_t* values = values_.data();
  for (const VidEvent& e : events) {
    const uint64_t slot = slot_of(e.vid);
    if (slot == slot_of.slots()) continue;
    const uint32_t sum = values[slot] + e.count;
    values[slot] = static_cast<uint8_t>(sum < cap ? sum : cap);
  }
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
