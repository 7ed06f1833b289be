#include "halo/sketch/frequency_vector.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/seeded_prng.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace halo::sketch {
namespace {

// Whether all n bytes at p (n a multiple of 16) are at most `top`: the
// check in front of every vectorised run, which GCC leaves scalar.
bool AllAtMost(const uint8_t* p, size_t n, uint8_t top) {
#if defined(__SSE2__)
  const __m128i tops = _mm_set1_epi8(static_cast<char>(top));
  __m128i largest = _mm_setzero_si128();
  for (size_t i = 0; i < n; i += 16) {
    largest = _mm_max_epu8(largest, _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i)));
  }
  return _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_max_epu8(largest, tops), tops)) == 0xFFFF;
#else
  uint8_t largest = 0;
  for (size_t i = 0; i < n; ++i) largest = std::max(largest, p[i]);
  return largest <= top;
#endif
}

}  // namespace

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

absl::StatusOr<FrequencyVector> FrequencyVector::Create(const FrequencyVectorSpec& spec) {
  ASSIGN_OR_RETURN(LargeBuffer values, LargeBuffer::Allocate(spec.SlotCount()));
  return FrequencyVector(spec, std::move(values));
}

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

FrequencyVectorShares FrequencyVector::Split() && {
  FrequencyVectorShares shares;
  shares.seed = crypto::SeededPrng::GenerateSeed();
  ShareSeedExpander expander = *ShareSeedExpander::Create(shares.seed, spec_.modulus);
  std::vector<uint8_t> expanded(size_t{1} << 16);
  for (size_t begin = 0; begin < values_.size(); begin += expanded.size()) {
    const size_t n = std::min(expanded.size(), values_.size() - begin);
    expander.Next(absl::MakeSpan(expanded.data(), n));
    SubtractInRing(values_.span().subspan(begin, n), absl::MakeConstSpan(expanded.data(), n), spec_.modulus);
  }
  shares.data = std::move(values_);
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
  // Above 85, no accepted byte reaches 2q, so b mod q is one conditional
  // subtraction, and a run of 16 bytes without a rejected one (88% of runs
  // at q = 127) reduces as a vector. A run with one is taken a byte at a
  // time, writing every byte and advancing past the accepted ones.
  constexpr size_t kRun = 16;
  const bool one_subtraction = limit_ <= 2 * modulus_;
  const auto q = static_cast<uint8_t>(modulus_);
  const auto limit = static_cast<uint32_t>(limit_);
  uint8_t* to = out.data();
  size_t i = 0;
  while (i < out.size()) {
    if (at_ == sizeof(buffer_)) {
      prng_.Fill(absl::MakeSpan(buffer_));
      at_ = 0;
    }
    if (one_subtraction) {
      while (at_ + kRun <= sizeof(buffer_) && i + kRun <= out.size()) {
        const uint8_t* in = buffer_ + at_;
        if (AllAtMost(in, kRun, static_cast<uint8_t>(limit - 1))) {
          for (size_t k = 0; k < kRun; ++k) to[i + k] = in[k] >= q ? static_cast<uint8_t>(in[k] - q) : in[k];
          i += kRun;
        } else {
          for (size_t k = 0; k < kRun; ++k) {
            to[i] = residue_[in[k]];
            i += in[k] < limit ? 1 : 0;
          }
        }
        at_ += kRun;
      }
    }
    while (at_ < sizeof(buffer_) && i < out.size()) {
      const uint8_t b = buffer_[at_++];
      to[i] = residue_[b];
      i += b < limit ? 1 : 0;
    }
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

size_t FirstOutsideRing(absl::Span<const uint8_t> values, uint32_t modulus) {
  if (modulus >= 256) return values.size();
  constexpr size_t kBlock = 4096;
  const auto top = static_cast<uint8_t>(modulus - 1);
  for (size_t begin = 0; begin < values.size(); begin += kBlock) {
    const size_t end = std::min(values.size(), begin + kBlock);
    const size_t whole = (end - begin) / 16 * 16;
    if (whole == end - begin && AllAtMost(values.data() + begin, whole, top)) continue;
    for (size_t i = begin; i < end; ++i) {
      if (values[i] >= modulus) return i;
    }
  }
  return values.size();
}

absl::Status CheckSlotsInRing(absl::Span<const uint8_t> values, uint64_t first_slot, uint32_t modulus,
                              absl::string_view what) {
  const size_t bad = FirstOutsideRing(values, modulus);
  if (bad == values.size()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(what, ": slot ", first_slot + bad, " holds ",
                                                 static_cast<int>(values[bad]), ", not below the ring modulus ",
                                                 modulus));
}

// In bytes, with the carry and borrow tests that make q = 256 work too.
void AddInRing(absl::Span<uint8_t> sum, absl::Span<const uint8_t> add, uint32_t modulus) {
  const auto q = static_cast<uint8_t>(modulus);  // 0 for 256: subtracting it is a no-op
  const auto top = static_cast<uint8_t>(modulus - 1);
  uint8_t* s = sum.data();
  const uint8_t* a = add.data();
  for (size_t i = 0; i < sum.size(); ++i) {
    const auto total = static_cast<uint8_t>(s[i] + a[i]);
    const bool carried = total < s[i];
    s[i] = (carried || total > top) ? static_cast<uint8_t>(total - q) : total;
  }
}

void SubtractInRing(absl::Span<uint8_t> values, absl::Span<const uint8_t> subtract, uint32_t modulus) {
  const auto q = static_cast<uint8_t>(modulus);
  uint8_t* v = values.data();
  const uint8_t* b = subtract.data();
  for (size_t i = 0; i < values.size(); ++i) {
    const auto difference = static_cast<uint8_t>(v[i] - b[i]);
    v[i] = v[i] < b[i] ? static_cast<uint8_t>(difference + q) : difference;
  }
}

}  // namespace halo::sketch
