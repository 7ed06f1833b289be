#include "halo/sketch/vid_sampling.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace halo::sketch {
namespace {

// Four rounds: a Feistel network of four rounds of a mixing function is a
// pseudorandom permutation (Luby-Rackoff), and vid_sampling_test checks
// that samples vary between VID ranges exactly as random ones would. Even,
// so the halves end where they started.
constexpr int kRounds = 4;
// The fixed key of the order (see the header for why it is fixed): four
// arbitrary 64-bit round keys. Changing one moves every VID to another slice
// of every EDP's privacy budget.
constexpr uint64_t kRoundKeys[kRounds] = {0x3c1f0e5d9a7b2468, 0xd1b54a32d192ed03, 0x8cb92ba72f3d8dd7,
                                          0xa0761d6478bd642f};
constexpr uint64_t kMaxPopulation = uint64_t{1} << 62;

// One multiply of x ^ key, folded: the half's bits, taken from the top of
// the product, depend on every bit of x.
uint64_t RoundFunction(uint64_t x, uint64_t key) {
  const unsigned __int128 product = static_cast<unsigned __int128>(x ^ key) * 0x9e3779b97f4a7c15ULL;
  return static_cast<uint64_t>(product >> 64) ^ static_cast<uint64_t>(product);
}

uint64_t Mask(int bits) { return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1; }

}  // namespace

absl::StatusOr<VidOrder> VidOrder::Create(uint64_t population_size) {
  if (population_size == 0) return absl::InvalidArgumentError("population size must be at least 1");
  if (population_size > kMaxPopulation) {
    return absl::InvalidArgumentError(absl::StrCat("population size must be at most 2^62, got ", population_size));
  }
  // At least two bits, so that each half has one.
  const int bits = std::max(2, static_cast<int>(std::bit_width(population_size - 1)));
  return VidOrder(population_size, bits / 2, bits - bits / 2);
}

// An unbalanced Feistel network over `bits` = left + right bits: each round
// moves the right half to the left and puts left ^ F(right) on the right, so
// the halves swap sizes every round.
uint64_t VidOrder::Permute(uint64_t x) const {
  int left = left_bits_, right = right_bits_;
  for (int round = 0; round < kRounds; ++round) {
    const uint64_t l = x >> right;
    const uint64_t r = x & Mask(right);
    x = (r << left) | ((l ^ RoundFunction(r, kRoundKeys[round])) & Mask(left));
    std::swap(left, right);
  }
  return x;
}

uint64_t VidOrder::Position(uint64_t vid) const {
  // Cycle walking: a permutation of [0, 2^bits) restricted to [0, N) by
  // following each value's cycle until it lands back inside. With
  // 2^bits < 2N that is under two steps on average.
  uint64_t x = Permute(vid);
  while (x >= population_) x = Permute(x);
  return x;
}

absl::StatusOr<VidSampler> VidSampler::Create(uint64_t population_size, VidSamplingInterval interval) {
  if (!(interval.start >= 0 && interval.start < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("VID sampling interval start must be in [0, 1), got ", interval.start));
  }
  if (!(interval.width > 0 && interval.width <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("VID sampling interval width must be in (0, 1], got ", interval.width));
  }
  absl::StatusOr<VidOrder> order = VidOrder::Create(population_size);
  if (!order.ok()) return order.status();
  const double n = static_cast<double>(population_size);
  const uint64_t first = std::min(population_size - 1, static_cast<uint64_t>(std::floor(n * interval.start)));
  const uint64_t end = static_cast<uint64_t>(std::floor(n * (interval.start + interval.width)));
  const uint64_t slots = std::clamp<uint64_t>(end > first ? end - first : 0, 1, population_size);
  return VidSampler(*order, interval, first, slots);
}

}  // namespace halo::sketch
