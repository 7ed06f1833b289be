// An EDP's event files, CSV and columnar (.hev): a malformed or truncated
// file is refused naming the line or row group.
#include <unistd.h>

#include "fuzz_support.h"
#include "halo/common/files.h"
#include "halo/edp/events.h"

namespace {

std::string ColumnarSeed() {
  const std::string path = absl::StrCat("/tmp/halo-event-file-seed-", getpid(), ".hev");
  halo::edp::EventSchema schema({{"age", halo::edp::FieldType::kInt},
                                 {"person.gender", halo::edp::FieldType::kString},
                                 {"video_ad.viewed_fraction", halo::edp::FieldType::kDouble},
                                 {"banner_ad.viewable", halo::edp::FieldType::kBool}});
  auto writer = halo::edp::CreateEventFile(path, schema);
  if (!writer.ok()) std::abort();
  halo::edp::EventBatch batch;
  batch.Clear(4);
  for (int i = 0; i < 5; ++i) {
    batch.vids.push_back(100 + i);
    batch.event_groups.dictionary = {"g", "h"};
    batch.event_groups.ids.push_back(i % 2);
    batch.timestamps_micros.push_back(1700000000000000 + i);
    batch.columns[0].ints.push_back(20 + i);
    batch.columns[1].strings.dictionary = {"F", "M"};
    batch.columns[1].strings.ids.push_back(i % 2);
    batch.columns[2].doubles.push_back(0.25 * i);
    batch.columns[3].ints.push_back(i % 2);
  }
  if (!(*writer)->Write(batch).ok() || !(*writer)->Close().ok()) std::abort();
  auto bytes = halo::ReadFile(path);
  unlink(path.c_str());
  return *bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path_stem = [] {
    halo::fuzz::MaybeWriteSeeds(
        {halo::fuzz::WithSelector(0, "vid,event_group,timestamp,age:int,person.gender:string\n"
                                     "1,g,1700000000000000,25,F\n2,h,2026-01-01T00:00:00Z,40,M\n"),
         halo::fuzz::WithSelector(0, "vid,event_group,timestamp,video_ad.viewed_fraction:double,banner_ad.viewable:bool\n"
                                     "7,g,1700000000000000,0.5,true\n"),
         halo::fuzz::WithSelector(1, ColumnarSeed())});
    return absl::StrCat("/tmp/halo-event-file-fuzz-", getpid());
  }();
  const auto [selector, rest] = halo::fuzz::Select(data, size);
  const std::string path = path_stem + (selector % 2 == 0 ? ".csv" : ".hev");
  if (!halo::WriteFileAtomically(path, rest).ok()) return 0;
  auto reader = halo::edp::OpenEventFile(path);
  if (reader.ok()) {
    halo::edp::EventBatch batch;
    while (true) {
      auto more = (*reader)->Next(batch);
      if (!more.ok() || !*more) break;
    }
  }
  unlink(path.c_str());
  return 0;
}
