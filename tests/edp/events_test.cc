#include "halo/edp/events.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include "halo/edp/event_selection.h"
#include "halo/edp/synthetic_events.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "testing/temp_dir.h"

namespace halo::edp {
namespace {

void WriteText(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string Shown(FieldType type, const EventColumn& column, size_t i) {
  switch (type) {
    case FieldType::kInt: return std::to_string(column.ints[i]);
    case FieldType::kBool: return column.ints[i] ? "true" : "false";
    case FieldType::kDouble: return absl::StrFormat("%.17g", column.doubles[i]);
    case FieldType::kString: return column.strings.At(i);
  }
  return "";
}

// Every event of `path`, as "vid,group,timestamp,field..." lines.
std::vector<std::string> ReadAll(const std::string& path, EventSchema* schema = nullptr) {
  auto reader = OpenEventFile(path);
  INFO(reader.status().message());
  REQUIRE(reader.ok());
  if (schema != nullptr) *schema = (*reader)->schema();
  std::vector<std::string> rows;
  EventBatch batch;
  while (true) {
    auto more = (*reader)->Next(batch);
    INFO(more.status().message());
    REQUIRE(more.ok());
    if (!*more) break;
    for (size_t i = 0; i < batch.size(); ++i) {
      std::string row = std::to_string(batch.vids[i]) + "," + batch.event_groups.At(i) + "," +
                        std::to_string(batch.timestamps_micros[i]);
      for (size_t f = 0; f < batch.columns.size(); ++f) {
        const auto& field = (*reader)->schema().fields()[f];
        row += "," + Shown(field.type, batch.columns[f], i);
      }
      rows.push_back(row);
    }
  }
  return rows;
}

absl::Status ReadError(const std::string& path) {
  auto reader = OpenEventFile(path);
  if (!reader.ok()) return reader.status();
  EventBatch batch;
  while (true) {
    auto more = (*reader)->Next(batch);
    if (!more.ok()) return more.status();
    if (!*more) return absl::OkStatus();
  }
}

TEST_CASE("CSV event files: columns in any order, quotes, RFC 3339 times, types from the header or first row") {
  testing::TempDir dir;
  const std::string path = dir.Sub("events.csv");
  WriteText(path,
            "gender,vid,timestamp,event_group,age,city:string,video_ad.viewed_fraction,banner_ad.viewable:bool\r\n"
            "F,7,1767225600000000,video,30,\"Paris, FR\",0.5,true\n"
            "\n"
            "\"M\",8,2026-01-01T00:00:01Z,\"vid\"\"eo\",41,07,1,0\n");
  EventSchema schema;
  const auto rows = ReadAll(path, &schema);
  CHECK(schema == EventSchema({{"gender", FieldType::kString},
                               {"age", FieldType::kInt},
                               {"city", FieldType::kString},
                               {"video_ad.viewed_fraction", FieldType::kDouble},
                               {"banner_ad.viewable", FieldType::kBool}}));
  CHECK(rows == std::vector<std::string>{"7,video,1767225600000000,F,30,Paris, FR,0.5,true",
                                         "8,vid\"eo,1767225601000000,M,41,07,1,false"});
}

TEST_CASE("A malformed CSV file is refused with its line and what is wrong") {
  testing::TempDir dir;
  for (const auto& [text, what] : std::vector<std::pair<std::string, std::string>>{
           {"vid,timestamp\n1,2\n", "no \"event_group\" column"},
           {"vid,event_group,timestamp,age:float\n", "known types: int, double, string, bool"},
           {"vid,event_group,timestamp,age,age\n", "appears twice"},
           {"vid,event_group,timestamp,age\n1,g,5,30\n2,g,5\n", ":3: 3 values for 4 columns"},
           {"vid,event_group,timestamp,age\n1,g,5,30\n2,g,5,old\n", ":3: age \"old\" is not an integer"},
           {"vid,event_group,timestamp,f:double\n1,g,5,0.5\n2,g,5,half\n", ":3: f \"half\" is not a finite number"},
           {"vid,event_group,timestamp,f:double\n1,g,5,inf\n", ":2: f \"inf\" is not a finite number"},
           {"vid,event_group,timestamp,b:bool\n1,g,5,yes\n", ":2: b \"yes\" is not true, false, 1 or 0"},
           {"vid,event_group,timestamp\n-1,g,5\n", "vid \"-1\" is not an unsigned integer"},
           {"vid,event_group,timestamp\n1,g,yesterday\n", "neither microseconds"},
           {"vid,event_group,timestamp\n1,\"g,5\n", "no closing quote"}}) {
    const std::string path = dir.Sub("bad.csv");
    WriteText(path, text);
    const absl::Status status = ReadError(path);
    INFO(text);
    CHECK_FALSE(status.ok());
    CHECK_THAT(std::string(status.message()), Catch::Contains(what));
  }
}

EventBatch SomeEvents(size_t rows) {
  EventBatch batch;
  batch.Clear(4);
  batch.event_groups.dictionary = {"a", "b"};
  batch.columns[1].strings.dictionary = {"x", "y,z"};
  for (size_t i = 0; i < rows; ++i) {
    batch.vids.push_back(i * 7919 % 100003);
    batch.event_groups.ids.push_back(static_cast<uint32_t>(i % 2));
    batch.timestamps_micros.push_back(static_cast<int64_t>(1000000 + (i * 37) % 5000));
    batch.columns[0].ints.push_back(static_cast<int64_t>(i % 90) - 5);
    batch.columns[1].strings.ids.push_back(static_cast<uint32_t>(i % 3 == 0));
    batch.columns[2].doubles.push_back(static_cast<double>(i % 1000) / 999.0);
    batch.columns[3].ints.push_back(i % 5 == 0);
  }
  return batch;
}

TEST_CASE("Columnar and CSV files written by halo read back event for event, across row groups") {
  testing::TempDir dir;
  const EventSchema schema({{"age", FieldType::kInt},
                             {"tag", FieldType::kString},
                             {"video_ad.viewed_fraction", FieldType::kDouble},
                             {"banner_ad.viewable", FieldType::kBool}});
  const EventBatch batch = SomeEvents(kEventBatchRows + 1234);
  std::vector<std::string> expected;
  for (size_t i = 0; i < batch.size(); ++i) {
    std::string row = std::to_string(batch.vids[i]) + "," + batch.event_groups.At(i) + "," +
                      std::to_string(batch.timestamps_micros[i]);
    for (size_t f = 0; f < schema.fields().size(); ++f) row += "," + Shown(schema.fields()[f].type, batch.columns[f], i);
    expected.push_back(row);
  }
  for (const char* name : {"events.hev", "events.csv"}) {
    auto writer = CreateEventFile(dir.Sub(name), schema);
    REQUIRE(writer.ok());
    REQUIRE((*writer)->Write(batch).ok());
    CHECK_FALSE(std::filesystem::exists(dir.Sub(name)));  // only at Close
    REQUIRE((*writer)->Close().ok());
    EventSchema read_schema;
    CHECK(ReadAll(dir.Sub(name), &read_schema) == expected);
    CHECK(read_schema == schema);
  }
  CHECK(std::filesystem::file_size(dir.Sub("events.hev")) * 2 < std::filesystem::file_size(dir.Sub("events.csv")));
  CHECK(*ListEventFiles(dir.path().string()) ==
        std::vector<std::string>{dir.Sub("events.csv"), dir.Sub("events.hev")});
}

TEST_CASE("A truncated or corrupted columnar file is refused, not read short") {
  testing::TempDir dir;
  const EventSchema schema({{"age", FieldType::kInt},
                            {"tag", FieldType::kString},
                            {"video_ad.viewed_fraction", FieldType::kDouble},
                            {"banner_ad.viewable", FieldType::kBool}});
  auto writer = CreateEventFile(dir.Sub("full.hev"), schema);
  REQUIRE((*writer)->Write(SomeEvents(1000)).ok());
  REQUIRE((*writer)->Close().ok());
  std::ifstream in(dir.Sub("full.hev"), std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  WriteText(dir.Sub("cut.hev"), bytes.substr(0, bytes.size() - 4));
  CHECK(ReadError(dir.Sub("cut.hev")).code() == absl::StatusCode::kDataLoss);
  std::string flipped = bytes;
  flipped[bytes.size() / 2] ^= 0x01;
  WriteText(dir.Sub("flipped.hev"), flipped);
  const absl::Status corrupt = ReadError(dir.Sub("flipped.hev"));
  CHECK(corrupt.code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(corrupt.message()), Catch::Contains("SHA-256"));
  WriteText(dir.Sub("other.hev"), "not an event file at all");
  CHECK_THAT(std::string(ReadError(dir.Sub("other.hev")).message()), Catch::Contains("not a halo columnar event file"));
}

TEST_CASE("A scan takes the events of the selected groups, in their intervals, that pass their filters") {
  testing::TempDir dir;
  WriteText(dir.Sub("a.csv"),
            "vid,event_group,timestamp,age,duration_seconds\n"
            "1,video,100,30,10\n"   // taken by the video selection
            "2,video,300,30,10\n"   // outside its interval
            "3,video,150,15,10\n"   // fails its filter
            "4,display,100,15,20\n" // taken by the display selection (no filter)
            "5,audio,100,30,10\n"   // not selected
            "1,display,120,30,5\n");
  const std::vector<std::string> files = {dir.Sub("a.csv")};
  const std::vector<EventGroupSelection> selections = {
      {"video", 0, 200, *EventFilter::Parse("age >= 18")}, {"display", 0, 200, *EventFilter::Parse("")}};
  const sketch::VidSampler everyone = *sketch::VidSampler::Create(100, {0, 1});
  VidTally tally(everyone);
  REQUIRE(tally.Add(files, selections).ok());
  CHECK(tally.Reach() == 2);                                     // VIDs 1 and 4
  CHECK(tally.Histogram(3) == std::vector<uint64_t>{1, 1, 0});  // 4 once, 1 twice
  CHECK(tally.Impressions(1) == 2);
  CHECK(*tally.WatchSeconds(12) == 12 + 12);                    // 1: 15 capped; 4: 20 capped

  const std::vector<EventGroupSelection> unknown_field = {{"video", 0, 200, *EventFilter::Parse("income > 3")}};
  const absl::Status refused = VidTally(everyone).Add(files, unknown_field);
  CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(refused.message()), Catch::Contains("a.csv"));
}

TEST_CASE("A tally counts the sampled VIDs only, and the events of VIDs outside the population") {
  testing::TempDir dir;
  std::string csv = "vid,event_group,timestamp\n";
  for (int vid = 0; vid < 1000; ++vid) absl::StrAppend(&csv, vid, ",g,100\n");
  absl::StrAppend(&csv, "1000,g,100\n5000,g,100\n5000,g,101\n");
  WriteText(dir.Sub("a.csv"), csv);
  const std::vector<EventGroupSelection> selections = {{"g", 0, 200, *EventFilter::Parse("")}};
  const sketch::VidSampler half = *sketch::VidSampler::Create(1000, {0.9, 0.5});
  VidTally tally(half);
  REQUIRE(tally.Add({dir.Sub("a.csv")}, selections).ok());
  CHECK(tally.Reach() == half.slots());
  CHECK(tally.counts().outside_population == 3);
}

TEST_CASE("Generated events come with a summary their files agree with") {
  testing::TempDir dir;
  SyntheticEventsOptions options;
  options.population_size = 50000;
  options.audience_size = 5000;
  options.edps = {{"edp1", 0.6, {"g1", "g2"}}, {"edp2", 0.3, {"g3"}}};
  options.rows_per_file = 4000;
  auto summary = WriteSyntheticEvents(options, dir.path().string());
  INFO(summary.status().message());
  REQUIRE(summary.ok());
  CHECK(summary->edps[0].files.size() > 1);
  const sketch::VidSampler everyone = *sketch::VidSampler::Create(options.population_size, {0, 1});
  VidTally all(everyone), merged(everyone);
  uint64_t events = 0;
  for (const auto& edp : summary->edps) {
    std::vector<EventGroupSelection> selections;
    for (const auto& e : options.edps) {
      for (const auto& g : e.event_groups) selections.push_back({g, 0, INT64_MAX, *EventFilter::Parse("")});
    }
    VidTally one(everyone);
    REQUIRE(one.Add(edp.files, selections).ok());
    CHECK(one.Reach() == edp.reach);
    CHECK(one.Impressions(UINT64_MAX) == edp.events);
    REQUIRE(all.Add(edp.files, selections).ok());
    merged.Merge(one);
    events += edp.events;
  }
  CHECK(all.Reach() == summary->union_reach);
  CHECK(events == summary->events);
  CHECK(all.Histogram(10) == summary->histogram);
  // One tally per EDP, merged, is the union.
  CHECK(merged.Reach() == all.Reach());
  CHECK(merged.Histogram(10) == all.Histogram(10));
  CHECK(merged.Impressions(3) == all.Impressions(3));
  // Reach about 0.6 and 0.3 of the audience, overlapping by about their product.
  CHECK(summary->edps[0].reach == Approx(3000).epsilon(0.06));
  CHECK(summary->edps[1].reach == Approx(1500).epsilon(0.08));
  CHECK(summary->overlap_reach == Approx(900).epsilon(0.12));
  CHECK(std::filesystem::exists(dir.Sub("truth.json")));
  // The same seed gives the same data.
  testing::TempDir again;
  CHECK(WriteSyntheticEvents(options, again.path().string())->ToJson() == summary->ToJson());
}

}  // namespace
}  // namespace halo::edp
