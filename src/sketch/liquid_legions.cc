#include "halo/sketch/liquid_legions.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::sketch {
namespace {

constexpr char kMagic[] = "HLLS";
constexpr uint8_t kVersion = 1;
constexpr size_t kHeaderBytes = 4 + 1 + 8 + 8 + 8 + 8;
constexpr size_t kRegisterBytes = 4 + 1 + 8 + 8;
// Each chunk is merged into the active registers, so a chunk should be large
// next to them; 2^20 events hold 16 MiB while sorted.
constexpr size_t kChunkEvents = 1 << 20;

uint64_t Fmix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// One event's contribution, as sorted before merging: 16 bytes.
struct Entry {
  uint64_t key;
  uint32_t index;
  uint32_t count;
};

Register Combine(const Register& a, const Register& b) {
  if (a.destroyed || b.destroyed || a.key != b.key) return {a.index, true, 0, 0};
  return {a.index, false, a.key, a.count + b.count};
}

// LSD radix sort of entries by index, 11 bits a pass.
void RadixSortByIndex(std::vector<Entry>& entries, std::vector<Entry>& scratch, uint64_t size) {
  constexpr int kBits = 11;
  constexpr size_t kBuckets = size_t{1} << kBits;
  scratch.resize(entries.size());
  for (int shift = 0; shift < 64 && (size - 1) >> shift; shift += kBits) {
    size_t offsets[kBuckets] = {};
    for (const Entry& e : entries) ++offsets[(e.index >> shift) & (kBuckets - 1)];
    size_t total = 0;
    for (size_t& o : offsets) total += std::exchange(o, total);
    for (const Entry& e : entries) scratch[offsets[(e.index >> shift) & (kBuckets - 1)]++] = e;
    entries.swap(scratch);
  }
}

void PutLe(std::string& out, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetLe(absl::string_view in, size_t offset, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(in[offset + i]);
  return v;
}

}  // namespace

absl::StatusOr<LiquidLegionsParams> LiquidLegionsParams::Create(double decay_rate, uint64_t size,
                                                                uint64_t seed) {
  if (!(decay_rate > 0) || !(decay_rate <= 100)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Liquid Legions decay rate must be in (0, 100], got ", decay_rate));
  }
  if (size < 1 || size > (uint64_t{1} << 32)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Liquid Legions size must be 1 to 2^32 registers, got ", size));
  }
  return LiquidLegionsParams{decay_rate, size, seed};
}

uint64_t Fingerprint(uint64_t vid, uint64_t seed) {
  return Fmix64(Fmix64(vid ^ seed) + (seed | 1));
}

double RegisterProbability(uint64_t index, const LiquidLegionsParams& params) {
  const double a = params.decay_rate;
  const double m = static_cast<double>(params.size);
  // (e^{-a i/m} - e^{-a (i+1)/m}) / (1 - e^{-a})
  return std::exp(-a * index / m) * -std::expm1(-a / m) / -std::expm1(-a);
}

void LiquidLegionsSketch::AddEvents(absl::Span<const VidEvent> events) {
  std::vector<Entry> entries, scratch;
  std::vector<Register> collapsed;
  const RegisterIndexer indexer(params_);
  for (size_t begin = 0; begin < events.size(); begin += kChunkEvents) {
    const size_t end = std::min(events.size(), begin + kChunkEvents);
    entries.resize(end - begin);
    for (size_t i = begin; i < end; ++i) {
      const uint64_t key = Fingerprint(events[i].vid, params_.seed);
      entries[i - begin] = {key, indexer(key), events[i].count};
    }
    RadixSortByIndex(entries, scratch, params_.size);
    collapsed.clear();
    for (const Entry& e : entries) {
      const Register r{e.index, false, e.key, e.count};
      if (!collapsed.empty() && collapsed.back().index == e.index) {
        collapsed.back() = Combine(collapsed.back(), r);
      } else {
        collapsed.push_back(r);
      }
    }
    MergeSorted(collapsed);
  }
}

void LiquidLegionsSketch::MergeSorted(absl::Span<const Register> sorted) {
  std::vector<Register> merged;
  merged.reserve(registers_.size() + sorted.size());
  size_t i = 0, j = 0;
  while (i < registers_.size() || j < sorted.size()) {
    if (j == sorted.size() || (i < registers_.size() && registers_[i].index < sorted[j].index)) {
      merged.push_back(registers_[i++]);
    } else if (i == registers_.size() || sorted[j].index < registers_[i].index) {
      merged.push_back(sorted[j++]);
    } else {
      merged.push_back(Combine(registers_[i++], sorted[j++]));
    }
  }
  registers_.swap(merged);
}

absl::Status LiquidLegionsSketch::Merge(const LiquidLegionsSketch& other) {
  if (!(other.params_ == params_)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot merge Liquid Legions sketches with different parameters (decay rate ",
        params_.decay_rate, " vs ", other.params_.decay_rate, ", size ", params_.size, " vs ",
        other.params_.size, ", or seed)"));
  }
  MergeSorted(other.registers_);
  return absl::OkStatus();
}

std::string LiquidLegionsSketch::Serialize() const {
  std::string out(kMagic, 4);
  out.push_back(static_cast<char>(kVersion));
  uint64_t decay_bits;
  std::memcpy(&decay_bits, &params_.decay_rate, 8);
  PutLe(out, decay_bits, 8);
  PutLe(out, params_.size, 8);
  PutLe(out, params_.seed, 8);
  PutLe(out, registers_.size(), 8);
  out.reserve(out.size() + registers_.size() * kRegisterBytes);
  for (const Register& r : registers_) {
    PutLe(out, r.index, 4);
    out.push_back(r.destroyed ? 1 : 0);
    PutLe(out, r.key, 8);
    PutLe(out, r.count, 8);
  }
  return out;
}

absl::StatusOr<LiquidLegionsSketch> LiquidLegionsSketch::FromRegisters(
    const LiquidLegionsParams& params, std::vector<Register> registers) {
  RETURN_IF_ERROR(LiquidLegionsParams::Create(params.decay_rate, params.size, params.seed).status());
  for (size_t i = 0; i < registers.size(); ++i) {
    const Register& r = registers[i];
    if (r.index >= params.size) {
      return absl::InvalidArgumentError(
          absl::StrCat("register ", i, ": index ", r.index, " is not below the size ", params.size));
    }
    if (i > 0 && r.index <= registers[i - 1].index) {
      return absl::InvalidArgumentError(absl::StrCat(
          "register ", i, ": index ", r.index, " is not above the previous index ", registers[i - 1].index));
    }
    if (r.destroyed ? (r.key != 0 || r.count != 0) : r.count == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "register ", i, ": ", r.destroyed ? "destroyed but holds a key or count" : "active with a count of 0"));
    }
  }
  LiquidLegionsSketch sketch(params);
  sketch.registers_ = std::move(registers);
  return sketch;
}

absl::StatusOr<LiquidLegionsSketch> LiquidLegionsSketch::Deserialize(absl::string_view bytes) {
  if (bytes.size() < kHeaderBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("Liquid Legions sketch is ", bytes.size(), " bytes, shorter than its header"));
  }
  if (bytes.substr(0, 4) != absl::string_view(kMagic, 4)) {
    return absl::InvalidArgumentError("not a Liquid Legions sketch (bad magic)");
  }
  if (static_cast<uint8_t>(bytes[4]) != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("Liquid Legions sketch version ",
                                                   static_cast<int>(static_cast<uint8_t>(bytes[4])),
                                                   " is not supported (only ", kVersion, ")"));
  }
  double decay_rate;
  const uint64_t decay_bits = GetLe(bytes, 5, 8);
  std::memcpy(&decay_rate, &decay_bits, 8);
  ASSIGN_OR_RETURN(LiquidLegionsParams params,
                   LiquidLegionsParams::Create(decay_rate, GetLe(bytes, 13, 8), GetLe(bytes, 21, 8)));
  const uint64_t count = GetLe(bytes, 29, 8);
  if (count > params.size || bytes.size() - kHeaderBytes != count * kRegisterBytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Liquid Legions sketch says ", count, " registers but carries ",
        bytes.size() - kHeaderBytes, " bytes of them (", kRegisterBytes, " each, at most ",
        params.size, " registers)"));
  }
  std::vector<Register> registers(count);
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = kHeaderBytes + i * kRegisterBytes;
    const uint8_t flags = static_cast<uint8_t>(bytes[at + 4]);
    if (flags > 1) {
      return absl::InvalidArgumentError(absl::StrCat("register ", i, ": unknown flags ", flags));
    }
    registers[i] = {static_cast<uint32_t>(GetLe(bytes, at, 4)), flags == 1, GetLe(bytes, at + 5, 8),
                    GetLe(bytes, at + 13, 8)};
  }
  return FromRegisters(params, std::move(registers));
}

}  // namespace halo::sketch
