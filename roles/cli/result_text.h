// How `halo mc` and `halo demo` show a measurement and its result: figures
// with their standard error and 95% interval as text, or JSON for scripts.
#ifndef HALO_ROLES_CLI_RESULT_TEXT_H_
#define HALO_ROLES_CLI_RESULT_TEXT_H_

#include <optional>
#include <string>

#include "halo/api/v1/resources.pb.h"

namespace halo::cli {

// One line a figure: "reach 13,456 ± 31 (95%: 13,395 to 13,517)".
std::string ResultText(const api::v1::MeasurementResult& result);
// The measurement's name, state, protocol and failure, then the result.
std::string MeasurementText(const api::v1::Measurement& measurement,
                            const std::optional<api::v1::MeasurementResult>& result);
// One JSON object: the measurement's fields the Kingdom returns (without
// the encrypted parts) and "result", the opened result, if any.
std::string MeasurementJson(const api::v1::Measurement& measurement,
                            const std::optional<api::v1::MeasurementResult>& result);
// Digits grouped by thousands: 1234567 -> "1,234,567".
std::string Grouped(int64_t value);

}  // namespace halo::cli

#endif  // HALO_ROLES_CLI_RESULT_TEXT_H_
