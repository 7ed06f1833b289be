#include "halo/edp/event_selection.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::edp {
namespace {

struct BoundSelection {
  const EventGroupSelection* selection;
  BoundEventFilter filter;
};

}  // namespace

absl::Status ScanEvents(absl::Span<const std::string> files, absl::Span<const EventGroupSelection> selections,
                        const std::function<absl::Status(const EventSchema&, const EventBatch&, absl::Span<const uint32_t>)>& visit) {
  EventBatch batch;
  std::vector<uint8_t> taken, passes;
  std::vector<uint32_t> rows;
  for (const std::string& file : files) {
    ASSIGN_OR_RETURN(std::unique_ptr<EventReader> reader, OpenEventFile(file));
    std::vector<BoundSelection> bound;
    for (const EventGroupSelection& selection : selections) {
      auto filter = selection.filter.Bind(reader->schema());
      if (!filter.ok()) {
        // The file's name only: the message may reach the MC in a refusal.
        return absl::Status(filter.status().code(), absl::StrCat("event file ", std::filesystem::path(file).filename().string(),
                                                                 ": ", filter.status().message()));
      }
      bound.push_back({&selection, *std::move(filter)});
    }
    while (true) {
      ASSIGN_OR_RETURN(bool more, reader->Next(batch));
      if (!more) break;
      taken.assign(batch.size(), 0);
      for (const BoundSelection& b : bound) {
        // The batch's dictionary entries that name this selection's group.
        std::vector<uint8_t> in_group(batch.event_groups.dictionary.size(), 0);
        bool any = false;
        for (size_t d = 0; d < in_group.size(); ++d) {
          in_group[d] = batch.event_groups.dictionary[d] == b.selection->reference_id;
          any = any || in_group[d];
        }
        if (!any) continue;
        b.filter.Evaluate(batch, passes);
        for (size_t i = 0; i < batch.size(); ++i) {
          const int64_t t = batch.timestamps_micros[i];
          taken[i] |= in_group[batch.event_groups.ids[i]] & passes[i] &
                      (t >= b.selection->start_micros && t < b.selection->end_micros);
        }
      }
      rows.clear();
      for (size_t i = 0; i < batch.size(); ++i) {
        if (taken[i]) rows.push_back(static_cast<uint32_t>(i));
      }
      if (!rows.empty()) RETURN_IF_ERROR(visit(reader->schema(), batch, rows));
    }
  }
  return absl::OkStatus();
}

namespace {

// Whether the sample holds a selected event's VID, counting the events of
// VIDs outside the population.
bool Sampled(const sketch::VidSampler& sampler, uint64_t vid, SampleCounts& counts) {
  if (sampler.Contains(vid)) return true;
  counts.outside_population += sampler.InPopulation(vid) ? 0 : 1;
  return false;
}

}  // namespace

absl::StatusOr<sketch::LiquidLegionsSketch> BuildSketch(absl::Span<const std::string> files,
                                                        absl::Span<const EventGroupSelection> selections,
                                                        const sketch::LiquidLegionsParams& params,
                                                        const sketch::VidSampler& sampler, SampleCounts& counts) {
  sketch::LiquidLegionsSketch sketch(params);
  std::vector<sketch::VidEvent> events;
  RETURN_IF_ERROR(ScanEvents(files, selections, [&](const EventSchema&, const EventBatch& batch, absl::Span<const uint32_t> rows) {
    events.clear();
    for (uint32_t row : rows) {
      if (Sampled(sampler, batch.vids[row], counts)) events.push_back({batch.vids[row], 1});
    }
    sketch.AddEvents(events);
    return absl::OkStatus();
  }));
  return sketch;
}

absl::StatusOr<sketch::FrequencyVector> BuildFrequencyVector(absl::Span<const std::string> files,
                                                             absl::Span<const EventGroupSelection> selections,
                                                             const sketch::FrequencyVectorSpec& spec,
                                                             SampleCounts& counts) {
  ASSIGN_OR_RETURN(sketch::FrequencyVector vector, sketch::FrequencyVector::Create(spec));
  std::vector<sketch::VidEvent> events;
  RETURN_IF_ERROR(ScanEvents(files, selections, [&](const EventSchema&, const EventBatch& batch, absl::Span<const uint32_t> rows) {
    events.clear();
    for (uint32_t row : rows) events.push_back({batch.vids[row], 1});
    counts.outside_population += vector.AddEvents(events);
    return absl::OkStatus();
  }));
  return vector;
}

absl::Status VidTally::Add(absl::Span<const std::string> files, absl::Span<const EventGroupSelection> selections) {
  return ScanEvents(files, selections,
                    [&](const EventSchema& schema, const EventBatch& batch, absl::Span<const uint32_t> rows) {
                      const int column = schema.IndexOf("duration_seconds");
                      const bool has_duration = column >= 0 && schema.fields()[column].type == FieldType::kInt;
                      lacks_duration_ = lacks_duration_ || !has_duration;
                      for (uint32_t row : rows) {
                        if (!Sampled(sampler_, batch.vids[row], counts_)) continue;
                        Person& person = people_[batch.vids[row]];
                        person.events += 1;
                        if (has_duration) {
                          person.seconds += static_cast<double>(std::max<int64_t>(batch.columns[column].ints[row], 0));
                        }
                      }
                      return absl::OkStatus();
                    });
}

void VidTally::Merge(const VidTally& other) {
  for (const auto& [vid, theirs] : other.people_) {
    Person& person = people_[vid];
    person.events += theirs.events;
    person.seconds += theirs.seconds;
  }
  lacks_duration_ = lacks_duration_ || other.lacks_duration_;
  counts_.outside_population += other.counts_.outside_population;
}

std::vector<uint64_t> VidTally::Histogram(int max_frequency) const {
  std::vector<uint64_t> histogram(static_cast<size_t>(std::max(max_frequency, 1)), 0);
  for (const auto& [vid, person] : people_) {
    histogram[std::min<uint64_t>(person.events, histogram.size()) - 1] += 1;
  }
  return histogram;
}

uint64_t VidTally::Impressions(uint64_t cap) const {
  uint64_t total = 0;
  for (const auto& [vid, person] : people_) total += std::min(person.events, cap);
  return total;
}

absl::StatusOr<double> VidTally::WatchSeconds(double cap) const {
  if (lacks_duration_) {
    return absl::FailedPreconditionError("some selected events come from files without a duration_seconds field");
  }
  double total = 0;
  for (const auto& [vid, person] : people_) total += std::min(person.seconds, cap);
  return total;
}

}  // namespace halo::edp
