// Measurement results as people would rather look at them: one
// self-contained HTML file (inline SVG, no script, nothing loaded from
// elsewhere) with each measurement's reach and its 95% interval, its
// frequency distribution as bars with error bars, the measurements side by
// side, and each one's parameters under its charts; or CSV for
// spreadsheets. Where a truth is known (the demo's generated events), it is
// drawn as a marker beside the estimate.
#ifndef HALO_MC_RESULT_REPORT_H_
#define HALO_MC_RESULT_REPORT_H_

#include <optional>
#include <string>
#include <vector>

#include "halo/api/v1/resources.pb.h"

namespace halo::mc {

struct ReportTruth {
  std::optional<double> reach;
  std::vector<double> frequency;  // relative, as the result's
  std::optional<double> impressions;
  std::optional<double> watch_seconds;
};

struct ReportEntry {
  std::string title;  // what the measurement is of ("edp1 video", a name)
  api::v1::Measurement measurement;
  // The opened result, when it succeeded.
  std::optional<api::v1::MeasurementResult> result;
  std::optional<ReportTruth> truth;
};

std::string ResultReportHtml(const std::string& title, const std::vector<ReportEntry>& entries);
// One row a figure: measurement, title, protocol, state, figure, value,
// standard_error, ci95_low, ci95_high, epsilon, delta, vid_start, vid_width,
// truth.
std::string ResultReportCsv(const std::vector<ReportEntry>& entries);

}  // namespace halo::mc

#endif  // HALO_MC_RESULT_REPORT_H_
