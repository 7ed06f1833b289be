// A RequisitionSpec's filter comes from the measurement consumer: parsed,
// bound to the EDP's schema, relaxed for the privacy budget and evaluated.
#include <unistd.h>

#include "fuzz_support.h"
#include "halo/common/files.h"
#include "halo/edp/event_filter.h"
#include "halo/edp/events.h"

namespace {

struct Events {
  halo::edp::EventSchema schema;
  halo::edp::EventBatch batch;
};

Events LoadEvents() {
  const std::string path = absl::StrCat("/tmp/halo-event-filter-fuzz-", getpid(), ".csv");
  const absl::Status written = halo::WriteFileAtomically(
      path,
      "vid,event_group,timestamp,age:int,person.gender:string,video_ad.viewed_fraction:double,banner_ad.viewable:bool\n"
      "1,g,1700000000000000,25,F,0.5,true\n"
      "2,g,1700000000000001,40,M,1.0,false\n"
      "3,h,1700000000000002,70,F,0.0,true\n");
  Events events;
  auto reader = halo::edp::OpenEventFile(path);
  if (!written.ok() || !reader.ok() || !(*reader)->Next(events.batch).ok()) std::abort();
  events.schema = (*reader)->schema();
  unlink(path.c_str());
  return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const Events events = [] {
    halo::fuzz::MaybeWriteSeeds({"age >= 18 && person.gender == \"F\"", "!(age < 30) || banner_ad.viewable",
                                 "video_ad.viewed_fraction > 0.25 && event_group in [\"g\", \"h\"]",
                                 "((age == 25))", "person.gender != \"M\" && !banner_ad.viewable", ""});
    return LoadEvents();
  }();
  const absl::string_view expression(reinterpret_cast<const char*>(data), size);
  auto filter = halo::edp::EventFilter::Parse(expression);
  if (!filter.ok()) return 0;
  (void)filter->LiteralValues();
  const halo::edp::EventFilter relaxed = filter->Relaxed({"age", "person.gender"});
  std::vector<uint8_t> keep;
  for (const halo::edp::EventFilter* f : {static_cast<const halo::edp::EventFilter*>(&*filter), &relaxed}) {
    auto bound = f->Bind(events.schema);
    if (bound.ok()) bound->Evaluate(events.batch, keep);
  }
  return 0;
}
