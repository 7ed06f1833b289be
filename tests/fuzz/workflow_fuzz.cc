// An exchange workflow, as text from an operator or as the bytes the
// Kingdom hands a daemon: refused with a reason or accepted, never a crash.
#include "fuzz_support.h"
#include "halo/exchange/example_workflows.h"
#include "halo/exchange/workflow.h"
#include "google/protobuf/text_format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool seeded = [] {
    std::vector<std::string> seeds;
    for (const auto& workflow : {halo::exchange::MiniExchangeWorkflow(), halo::exchange::FullExchangeWorkflow()}) {
      std::string text;
      google::protobuf::TextFormat::PrintToString(workflow, &text);
      seeds.push_back(halo::fuzz::WithSelector(0, text));
      seeds.push_back(halo::fuzz::WithSelector(1, workflow.SerializeAsString()));
    }
    halo::fuzz::MaybeWriteSeeds(seeds);
    return true;
  }();
  (void)seeded;
  const auto [selector, rest] = halo::fuzz::Select(data, size);
  halo::api::v1::ExchangeWorkflow workflow;
  if (selector % 2 == 0) {
    auto parsed = halo::exchange::ParseWorkflow(rest, "fuzz.textproto");
    if (!parsed.ok()) return 0;
    workflow = *std::move(parsed);
  } else {
    if (!workflow.ParseFromArray(rest.data(), static_cast<int>(rest.size()))) return 0;
    if (!halo::exchange::ValidateWorkflow(workflow).ok()) return 0;
  }
  (void)halo::exchange::Prerequisites(workflow);
  (void)halo::exchange::WorkflowSha256(workflow);
  for (const auto& step : workflow.steps()) {
    for (const auto& [name, blob] : step.outputs()) {
      if (blob.storage() == halo::api::v1::ExchangeWorkflow::SHARED) {
        (void)halo::exchange::SharedBlobWriter(workflow, blob.label());
      }
    }
  }
  return 0;
}
