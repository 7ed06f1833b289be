#include "cli/result_text.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "google/protobuf/util/json_util.h"

namespace halo::cli {
namespace {

std::string Figure(absl::string_view what, double value, double se, bool whole) {
  auto format = [whole](double v) {
    return whole ? Grouped(std::llround(v)) : absl::StrFormat("%.4f", v);
  };
  return absl::StrCat(what, " ", format(value), " ± ", whole ? Grouped(std::llround(se)) : absl::StrFormat("%.4f", se),
                      " (95%: ", format(value - 1.96 * se), " to ", format(value + 1.96 * se), ")");
}

std::string Json(const google::protobuf::Message& message) {
  std::string out;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

}  // namespace

std::string Grouped(int64_t value) {
  std::string digits = absl::StrCat(value < 0 ? -value : value);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(static_cast<size_t>(at), ",");
  return value < 0 ? "-" + digits : digits;
}

std::string ResultText(const api::v1::MeasurementResult& result) {
  std::string text;
  if (result.has_reach()) {
    absl::StrAppend(&text, Figure("reach", static_cast<double>(result.reach().value()),
                                  result.reach().standard_error(), true), "\n");
  }
  for (int k = 0; k < result.frequency().relative_frequency_size(); ++k) {
    const bool last = k + 1 == result.frequency().relative_frequency_size();
    absl::StrAppend(&text, "  ", Figure(absl::StrCat("frequency ", k + 1, last ? "+" : ""),
                                        result.frequency().relative_frequency(k), result.frequency().standard_error(k),
                                        false),
                    "\n");
  }
  if (result.has_impression()) {
    absl::StrAppend(&text, Figure("impressions", static_cast<double>(result.impression().value()),
                                  result.impression().standard_error(), true), "\n");
  }
  if (result.has_watch_duration()) {
    absl::StrAppend(&text, Figure("watch seconds", result.watch_duration().seconds(),
                                  result.watch_duration().standard_error(), true), "\n");
  }
  return text;
}

std::string MeasurementText(const api::v1::Measurement& m, const std::optional<api::v1::MeasurementResult>& result) {
  std::string text = absl::StrCat(m.name(), "\n  state ", api::v1::Measurement::State_Name(m.state()),
                                  ", protocol ", api::v1::Protocol_Name(m.protocol_config().protocol()), "\n");
  if (m.state() == api::v1::Measurement::FAILED) {
    absl::StrAppend(&text, "  failed: ", api::v1::Measurement::Failure::Reason_Name(m.failure().reason()), ": ",
                    m.failure().message(), "\n");
  }
  if (result.has_value()) {
    for (absl::string_view line : absl::StrSplit(ResultText(*result), '\n', absl::SkipEmpty())) {
      absl::StrAppend(&text, "  ", line, "\n");
    }
  }
  return text;
}

std::string MeasurementJson(const api::v1::Measurement& m, const std::optional<api::v1::MeasurementResult>& result) {
  api::v1::Measurement shown = m;
  shown.clear_measurement_spec();
  shown.clear_results();
  for (auto& entry : *shown.mutable_data_providers()) entry.clear_encrypted_requisition_spec();
  std::string json = Json(shown);
  if (result.has_value() && !json.empty() && json.back() == '}') {
    json.pop_back();
    absl::StrAppend(&json, json.size() > 1 ? "," : "", "\"result\":", Json(*result), "}");
  }
  return json;
}

}  // namespace halo::cli
