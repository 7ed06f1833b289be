#include "halo/edp/synthetic_events.h"

#include <cmath>
#include <filesystem>
#include <numeric>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"

namespace halo::edp {
namespace {

constexpr int kHistogramBuckets = 10;
const char* const kGenders[] = {"F", "M"};
const char* const kRegions[] = {"north", "south", "east", "west"};

// SplitMix64: a fast, well-mixed stream for synthetic data (not for secrets).
class SyntheticRandom {
 public:
  explicit SyntheticRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

uint64_t Mix(uint64_t a, uint64_t b) { return SyntheticRandom(a * 0x9e3779b97f4a7c15ULL ^ b).Next(); }

// One EDP's files being written.
struct EdpOutput {
  const SyntheticEdp* edp = nullptr;
  std::string dir;
  std::unique_ptr<EventWriter> writer;
  EventBatch batch;
  uint64_t rows_in_file = 0;
  int file_index = 0;
  SyntheticEventsSummary::Edp summary;
};

// An empty batch with the EDP's fixed dictionaries.
void ResetBatch(EdpOutput& out) {
  out.batch.Clear(SyntheticEventSchema().fields().size());
  out.batch.event_groups.dictionary = out.edp->event_groups;
  out.batch.columns[1].strings.dictionary.assign(std::begin(kGenders), std::end(kGenders));
  out.batch.columns[2].strings.dictionary.assign(std::begin(kRegions), std::end(kRegions));
}

absl::Status Flush(EdpOutput& out, const SyntheticEventsOptions& options, bool last) {
  if (out.batch.size() > 0) {
    if (out.writer == nullptr) {
      const std::string path = absl::StrFormat("%s/events-%05d.%s", out.dir, out.file_index++,
                                               options.columnar ? "hev" : "csv");
      ASSIGN_OR_RETURN(out.writer, CreateEventFile(path, SyntheticEventSchema()));
      out.summary.files.push_back(path);
    }
    RETURN_IF_ERROR(out.writer->Write(out.batch));
    out.rows_in_file += out.batch.size();
    ResetBatch(out);
  }
  if (out.writer != nullptr && (last || out.rows_in_file >= options.rows_per_file)) {
    RETURN_IF_ERROR(out.writer->Close());
    out.writer.reset();
    out.rows_in_file = 0;
  }
  return absl::OkStatus();
}

absl::Status CheckOptions(const SyntheticEventsOptions& options) {
  if (options.population_size == 0) return absl::InvalidArgumentError("population_size must be positive");
  if (options.audience_size == 0 || options.audience_size > options.population_size) {
    return absl::InvalidArgumentError(absl::StrCat("audience_size must be in [1, population_size = ",
                                                   options.population_size, "], got ", options.audience_size));
  }
  if (options.edps.empty()) return absl::InvalidArgumentError("edps: at least one EDP is needed");
  for (const SyntheticEdp& edp : options.edps) {
    if (edp.name.empty() || edp.name.find('/') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("EDP name \"", edp.name, "\" must be a plain file name"));
    }
    if (!(edp.reach_probability > 0 && edp.reach_probability <= 1)) {
      return absl::InvalidArgumentError(
          absl::StrCat(edp.name, ": reach_probability must be in (0, 1], got ", edp.reach_probability));
    }
    if (edp.event_groups.empty()) return absl::InvalidArgumentError(absl::StrCat(edp.name, ": no event groups"));
  }
  if (!(options.mean_frequency >= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("mean_frequency must be >= 1, got ", options.mean_frequency));
  }
  if (options.days < 1) return absl::InvalidArgumentError(absl::StrCat("days must be >= 1, got ", options.days));
  if (options.rows_per_file == 0) return absl::InvalidArgumentError("rows_per_file must be positive");
  return absl::OkStatus();
}

// A multiplier that makes i -> i * stride mod population a permutation, so
// that the audience is spread over the whole population.
uint64_t PermutationStride(uint64_t population) {
  uint64_t stride = static_cast<uint64_t>(static_cast<double>(population) * 0.6180339887) | 1;
  while (std::gcd(stride, population) != 1) ++stride;
  return stride % population == 0 ? 1 : stride;
}

}  // namespace

const EventSchema& SyntheticEventSchema() {
  static const EventSchema* schema = new EventSchema({{"age", FieldType::kInt},
                                                      {"gender", FieldType::kString},
                                                      {"region", FieldType::kString},
                                                      {"duration_seconds", FieldType::kInt},
                                                      {"video_ad.viewed_fraction", FieldType::kDouble}});
  return *schema;
}

std::string SyntheticEventsSummary::ToJson() const {
  std::string json = "{\n  \"edps\": [\n";
  for (size_t i = 0; i < edps.size(); ++i) {
    absl::StrAppend(&json, "    {\"name\": \"", edps[i].name, "\", \"reach\": ", edps[i].reach,
                    ", \"events\": ", edps[i].events, ", \"files\": ", edps[i].files.size(), "}",
                    i + 1 < edps.size() ? ",\n" : "\n");
  }
  absl::StrAppend(&json, "  ],\n  \"union_reach\": ", union_reach, ",\n  \"overlap_reach\": ", overlap_reach,
                  ",\n  \"events\": ", events, ",\n  \"frequency_histogram\": [", absl::StrJoin(histogram, ", "),
                  "]\n}\n");
  return json;
}

absl::StatusOr<SyntheticEventsSummary> WriteSyntheticEvents(const SyntheticEventsOptions& options,
                                                            const std::string& out_dir) {
  RETURN_IF_ERROR(CheckOptions(options));
  std::vector<EdpOutput> outputs(options.edps.size());
  for (size_t e = 0; e < outputs.size(); ++e) {
    EdpOutput& out = outputs[e];
    out.edp = &options.edps[e];
    out.dir = absl::StrCat(out_dir, "/", out.edp->name);
    out.summary.name = out.edp->name;
    std::error_code error;
    std::filesystem::create_directories(out.dir, error);
    if (error) return absl::FailedPreconditionError(absl::StrCat("cannot create ", out.dir, ": ", error.message()));
    ResetBatch(out);
  }
  SyntheticEventsSummary summary;
  summary.histogram.assign(kHistogramBuckets, 0);
  const uint64_t stride = PermutationStride(options.population_size);
  const double window = static_cast<double>(options.days) * 86400e6;
  for (uint64_t i = 0; i < options.audience_size; ++i) {
    const uint64_t vid = static_cast<uint64_t>(
        (static_cast<unsigned __int128>(i) * stride + options.seed) % options.population_size);
    SyntheticRandom person(Mix(options.seed, vid));
    // As a VID model does, contiguous VID ranges hold one demographic: age
    // rises with the VID, gender alternates in sixteenths, and the young
    // see more ads. A sample of a VID range is a sample of one group.
    const double place = static_cast<double>(vid) / static_cast<double>(options.population_size);
    const int64_t age = 13 + static_cast<int64_t>(place * 62);
    const uint32_t gender = static_cast<uint32_t>(place * 16) % 2;
    const uint32_t region = static_cast<uint32_t>(person.Next() % 4);
    const double stop = 1.0 / (1 + (options.mean_frequency - 1) * 2 * (1 - place));
    uint64_t total = 0;
    int reached_by = 0;
    for (size_t e = 0; e < outputs.size(); ++e) {
      EdpOutput& out = outputs[e];
      SyntheticRandom draws(Mix(Mix(options.seed, vid), e + 1));
      if (draws.Uniform() >= out.edp->reach_probability) continue;
      ++reached_by;
      uint64_t events = 1;
      while (draws.Uniform() >= stop && events < 1000) ++events;
      for (uint64_t k = 0; k < events; ++k) {
        EventBatch& b = out.batch;
        b.vids.push_back(vid);
        b.event_groups.ids.push_back(static_cast<uint32_t>(draws.Next() % out.edp->event_groups.size()));
        b.timestamps_micros.push_back(options.start_micros + static_cast<int64_t>(draws.Uniform() * window));
        b.columns[0].ints.push_back(age);
        b.columns[1].strings.ids.push_back(gender);
        b.columns[2].strings.ids.push_back(region);
        b.columns[3].ints.push_back(1 + static_cast<int64_t>(draws.Next() % 60));
        b.columns[4].doubles.push_back(static_cast<double>(draws.Next() % 101) / 100);
        if (b.size() >= kEventBatchRows || out.rows_in_file + b.size() >= options.rows_per_file) {
          RETURN_IF_ERROR(Flush(out, options, false));
        }
      }
      out.summary.reach += 1;
      out.summary.events += events;
      total += events;
    }
    if (reached_by == 0) continue;
    summary.union_reach += 1;
    summary.overlap_reach += reached_by >= 2 ? 1 : 0;
    summary.events += total;
    summary.histogram[std::min<uint64_t>(total, kHistogramBuckets) - 1] += 1;
  }
  for (EdpOutput& out : outputs) {
    RETURN_IF_ERROR(Flush(out, options, true));
    summary.edps.push_back(std::move(out.summary));
  }
  RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/truth.json", summary.ToJson()));
  return summary;
}

}  // namespace halo::edp
