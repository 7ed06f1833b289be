#include "halo/mc/result_report.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "halo/monitoring/status_page.h"

namespace halo::mc {
namespace {

using api::v1::Measurement;
using api::v1::MeasurementResult;
using api::v1::MeasurementSpec;
using monitoring::HtmlEscape;

// The two-sided 95% normal quantile.
constexpr double kZ95 = 1.959963984540054;

std::string Number(double value, int decimals = 0) { return absl::StrFormat("%.*f", decimals, value); }

// A round axis maximum at or above `most`: 1, 2 or 5 times a power of ten.
double AxisMax(double most) {
  if (!(most > 0)) return 1;
  const double power = std::pow(10.0, std::floor(std::log10(most)));
  for (double step : {1.0, 2.0, 5.0, 10.0}) {
    if (step * power >= most) return step * power;
  }
  return 10 * power;
}

MeasurementSpec SpecOf(const Measurement& m) {
  MeasurementSpec spec;
  spec.ParseFromString(m.measurement_spec().data());
  return spec;
}

// The parameters printed under a measurement's charts.
std::string Parameters(const Measurement& m) {
  const MeasurementSpec spec = SpecOf(m);
  std::vector<std::string> parts = {absl::StrCat("protocol ", api::v1::Protocol_Name(m.protocol_config().protocol()))};
  const auto privacy = [&parts](const char* what, const api::v1::DifferentialPrivacyParams& p) {
    parts.push_back(absl::StrFormat("%s epsilon %g, delta %g", what, p.epsilon(), p.delta()));
  };
  switch (spec.measurement_type_case()) {
    case MeasurementSpec::kReach:
      privacy("reach", spec.reach().privacy_params());
      break;
    case MeasurementSpec::kReachAndFrequency:
      privacy("reach", spec.reach_and_frequency().reach_privacy_params());
      privacy("frequency", spec.reach_and_frequency().frequency_privacy_params());
      parts.push_back(absl::StrCat("frequencies up to ", spec.reach_and_frequency().maximum_frequency(), "+"));
      break;
    case MeasurementSpec::kImpression:
      privacy("impressions", spec.impression().privacy_params());
      parts.push_back(absl::StrCat("at most ", spec.impression().maximum_frequency_per_user(), " a person"));
      break;
    case MeasurementSpec::kDuration:
      privacy("watch time", spec.duration().privacy_params());
      parts.push_back(
          absl::StrCat("at most ", spec.duration().maximum_watch_duration_per_user_seconds(), " s a person"));
      break;
    default:
      break;
  }
  const double start = spec.vid_sampling_interval().start();
  const double width = spec.has_vid_sampling_interval() ? spec.vid_sampling_interval().width() : 1;
  parts.push_back(absl::StrFormat("VID sampling interval [%g, %g)", start, start + width));
  parts.push_back(absl::StrCat("state ", Measurement::State_Name(m.state())));
  return absl::StrJoin(parts, "; ");
}

// Vertical bars with 95% error bars and truth markers, as inline SVG. The
// <svg> carries its scale (pixels a unit) and baseline (y of zero), so that
// a test can check where the browser drew each mark.
struct Bar {
  std::string label;
  double value = 0;
  double standard_error = 0;
  std::optional<double> truth;
};

std::string BarChart(const std::string& id, const std::string& unit, const std::vector<Bar>& bars,
                     double value_scale_for_text, int decimals) {
  constexpr double kLeft = 80, kTop = 12, kPlotHeight = 220, kBottom = 46, kSlot = 64, kBarWidth = 36;
  const double width = kLeft + kSlot * static_cast<double>(bars.size()) + 16;
  const double height = kTop + kPlotHeight + kBottom;
  double most = 0;
  for (const Bar& bar : bars) {
    most = std::max({most, bar.value + kZ95 * bar.standard_error, bar.truth.value_or(0)});
  }
  const double top = AxisMax(most);
  const double scale = kPlotHeight / top;
  const double baseline = kTop + kPlotHeight;
  const auto y = [&](double value) { return baseline - std::max(0.0, value) * scale; };
  std::string svg = absl::StrFormat(
      "<svg id=\"%s\" class=\"chart\" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
      "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" data-scale=\"%.17g\" data-baseline=\"%.17g\">\n",
      HtmlEscape(id), width, height, width, height, scale, baseline);
  // The axis: zero, half and the top, labelled.
  for (double tick : {0.0, top / 2, top}) {
    absl::StrAppendFormat(&svg,
                          "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.2f\" y2=\"%.2f\" stroke=\"#ccc\"/>"
                          "<text x=\"%.1f\" y=\"%.2f\" text-anchor=\"end\">%s</text>\n",
                          kLeft - 4, width - 8, y(tick), y(tick), kLeft - 8, y(tick) + 4,
                          HtmlEscape(Number(tick * value_scale_for_text, decimals) + unit));
  }
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& bar = bars[i];
    const double x = kLeft + kSlot * static_cast<double>(i) + (kSlot - kBarWidth) / 2;
    const double center = x + kBarWidth / 2;
    const double low = std::max(0.0, bar.value - kZ95 * bar.standard_error);
    const double high = bar.value + kZ95 * bar.standard_error;
    absl::StrAppendFormat(&svg,
                          "<rect class=\"estimate\" data-label=\"%s\" data-value=\"%.17g\" x=\"%.2f\" y=\"%.2f\" "
                          "width=\"%.0f\" height=\"%.2f\" fill=\"#4a78b5\"><title>%s: %s%s</title></rect>\n",
                          HtmlEscape(bar.label), bar.value, x, y(bar.value), kBarWidth,
                          std::max(0.0, bar.value) * scale, HtmlEscape(bar.label),
                          Number(bar.value * value_scale_for_text, decimals), unit);
    absl::StrAppendFormat(&svg,
                          "<line class=\"interval\" data-low=\"%.17g\" data-high=\"%.17g\" x1=\"%.2f\" x2=\"%.2f\" "
                          "y1=\"%.2f\" y2=\"%.2f\" stroke=\"#222\" stroke-width=\"1.5\"/>"
                          "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%.2f\" y2=\"%.2f\" stroke=\"#222\"/>"
                          "<line x1=\"%.2f\" x2=\"%.2f\" y1=\"%.2f\" y2=\"%.2f\" stroke=\"#222\"/>\n",
                          low, high, center, center, y(high), y(low), center - 6, center + 6, y(high), y(high),
                          center - 6, center + 6, y(low), y(low));
    if (bar.truth) {
      absl::StrAppendFormat(&svg,
                            "<line class=\"truth\" data-value=\"%.17g\" x1=\"%.2f\" x2=\"%.2f\" y1=\"%.2f\" "
                            "y2=\"%.2f\" stroke=\"#d62728\" stroke-width=\"3\"><title>truth %s%s</title></line>\n",
                            *bar.truth, x - 6, x + kBarWidth + 6, y(*bar.truth), y(*bar.truth),
                            Number(*bar.truth * value_scale_for_text, decimals), unit);
    }
    const std::string label = bar.label.size() > 10 ? bar.label.substr(0, 9) + "…" : bar.label;
    absl::StrAppendFormat(&svg, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n", center,
                          baseline + 16, HtmlEscape(label));
  }
  svg += "</svg>\n";
  return svg;
}

std::string Legend(bool truth) {
  return absl::StrCat(
      "<p class=\"legend\"><span style=\"color:#4a78b5\">&#9632;</span> estimate, "
      "<span>&#9474;</span> its 95% interval",
      truth ? ", <span style=\"color:#d62728\">&#9644;</span> truth (from the generated events)" : "", "</p>\n");
}

// One row of the figures table.
std::vector<std::string> FigureRow(const std::string& figure, double value, double se, int decimals,
                                   std::optional<double> truth, double scale = 1) {
  return {figure, Number(value * scale, decimals), Number(se * scale, decimals),
          absl::StrCat(Number(std::max(0.0, value - kZ95 * se) * scale, decimals), " to ",
                       Number((value + kZ95 * se) * scale, decimals)),
          truth ? Number(*truth * scale, decimals) : "-"};
}

std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::string html = "<table><thead><tr><th>figure</th><th>estimate</th><th>standard error</th><th>95% interval</th>"
                     "<th>truth</th></tr></thead><tbody>\n";
  for (const auto& row : rows) {
    html += "<tr>";
    for (const std::string& cell : row) absl::StrAppend(&html, "<td>", HtmlEscape(cell), "</td>");
    html += "</tr>\n";
  }
  return html + "</tbody></table>\n";
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

}  // namespace

std::string ResultReportHtml(const std::string& title, const std::vector<ReportEntry>& entries) {
  std::string body;
  bool any_truth = false;
  std::vector<Bar> reaches;
  std::string key;  // which number is which measurement
  for (size_t i = 0; i < entries.size(); ++i) {
    const ReportEntry& e = entries[i];
    if (e.result && e.result->has_reach()) {
      // Numbered, as titles are too long to stand under a bar.
      reaches.push_back({absl::StrCat(i + 1), static_cast<double>(e.result->reach().value()),
                         e.result->reach().standard_error(), e.truth ? e.truth->reach : std::nullopt});
      any_truth = any_truth || (e.truth && e.truth->reach);
      absl::StrAppend(&key, "<li value=\"", i + 1, "\"><a href=\"#measurement-", i + 1, "\">", HtmlEscape(e.title),
                      "</a></li>");
    }
  }
  if (reaches.size() > 1) {
    absl::StrAppend(&body, "<section id=\"reach-side-by-side\"><h2>Reach, side by side</h2>\n",
                    BarChart("reach-comparison", "", reaches, 1, 0), Legend(any_truth), "<ol class=\"key\">", key,
                    "</ol></section>\n");
  }
  for (size_t i = 0; i < entries.size(); ++i) {
    const ReportEntry& e = entries[i];
    const std::string id = absl::StrCat("measurement-", i + 1);
    absl::StrAppend(&body, "<section class=\"measurement\" id=\"", id, "\"><h2>", i + 1, ". ", HtmlEscape(e.title),
                    "</h2>\n",
                    "<p class=\"name\">", HtmlEscape(e.measurement.name()), "</p>\n");
    if (!e.result) {
      absl::StrAppend(&body, "<p class=\"failed\">", HtmlEscape(Measurement::State_Name(e.measurement.state())),
                      e.measurement.failure().message().empty()
                          ? ""
                          : absl::StrCat(": ", HtmlEscape(e.measurement.failure().message())),
                      "</p>\n<p class=\"parameters\">", HtmlEscape(Parameters(e.measurement)), "</p></section>\n");
      continue;
    }
    const MeasurementResult& r = *e.result;
    const ReportTruth truth = e.truth.value_or(ReportTruth{});
    std::vector<std::vector<std::string>> rows;
    std::string charts;
    if (r.has_reach()) {
      rows.push_back(FigureRow("reach", static_cast<double>(r.reach().value()), r.reach().standard_error(), 0,
                               truth.reach));
      charts += BarChart(id + "-reach", "",
                         {{"reach", static_cast<double>(r.reach().value()), r.reach().standard_error(), truth.reach}},
                         1, 0);
    }
    if (r.has_frequency() && r.frequency().relative_frequency_size() > 0) {
      std::vector<Bar> bars;
      const int k_max = r.frequency().relative_frequency_size();
      for (int k = 0; k < k_max; ++k) {
        const std::string label = absl::StrCat(k + 1, k + 1 == k_max ? "+" : "");
        const double se = k < r.frequency().standard_error_size() ? r.frequency().standard_error(k) : 0;
        const std::optional<double> t =
            static_cast<size_t>(k) < truth.frequency.size() ? std::optional<double>(truth.frequency[k]) : std::nullopt;
        bars.push_back({label, r.frequency().relative_frequency(k), se, t});
        rows.push_back(FigureRow(absl::StrCat("seen ", label, " times (% of reach)"), r.frequency().relative_frequency(k),
                                 se, 2, t, 100));
      }
      charts += BarChart(id + "-frequency", "%", bars, 100, 0);
    }
    if (r.has_impression()) {
      rows.push_back(FigureRow("impressions", static_cast<double>(r.impression().value()),
                               r.impression().standard_error(), 0, truth.impressions));
    }
    if (r.has_watch_duration()) {
      rows.push_back(FigureRow("watch time (s)", r.watch_duration().seconds(), r.watch_duration().standard_error(), 0,
                               truth.watch_seconds));
    }
    absl::StrAppend(&body, "<div class=\"charts\">", charts, "</div>\n",
                    charts.empty() ? "" : Legend(e.truth.has_value()), Table(rows), "<p class=\"parameters\">",
                    HtmlEscape(Parameters(e.measurement)), "</p></section>\n");
  }
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
      "<title>",
      HtmlEscape(title), "</title>\n<style>\n",
      "body{font-family:sans-serif;margin:1.5em;color:#222;max-width:70em}h1{font-size:1.4em}"
      "h2{font-size:1.1em;margin:1.8em 0 .2em}.name,.parameters,.legend{color:#555;font-size:.9em}"
      ".charts{display:flex;flex-wrap:wrap;gap:1.5em;align-items:flex-end}"
      "table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:.2em .6em;text-align:right}"
      "th:first-child,td:first-child{text-align:left}th{background:#eee}.failed{color:#b00}.key{font-size:.9em}"
      "svg text{font-size:11px;font-family:sans-serif}\n</style>\n</head>\n<body>\n<h1>",
      HtmlEscape(title), "</h1>\n<p class=\"name\">", entries.size(), " measurement(s); written ",
      absl::FormatTime("%Y-%m-%d %H:%M UTC", absl::Now(), absl::UTCTimeZone()),
      ". Each estimate carries differential-privacy noise; its bar shows the 95% interval.</p>\n", body,
      "</body>\n</html>\n");
}

std::string ResultReportCsv(const std::vector<ReportEntry>& entries) {
  std::string csv =
      "measurement,title,protocol,state,figure,value,standard_error,ci95_low,ci95_high,epsilon,delta,vid_start,"
      "vid_width,truth\n";
  for (const ReportEntry& e : entries) {
    const MeasurementSpec spec = SpecOf(e.measurement);
    api::v1::DifferentialPrivacyParams reach_privacy, frequency_privacy, other_privacy;
    switch (spec.measurement_type_case()) {
      case MeasurementSpec::kReach: reach_privacy = spec.reach().privacy_params(); break;
      case MeasurementSpec::kReachAndFrequency:
        reach_privacy = spec.reach_and_frequency().reach_privacy_params();
        frequency_privacy = spec.reach_and_frequency().frequency_privacy_params();
        break;
      case MeasurementSpec::kImpression: other_privacy = spec.impression().privacy_params(); break;
      case MeasurementSpec::kDuration: other_privacy = spec.duration().privacy_params(); break;
      default: break;
    }
    const double start = spec.vid_sampling_interval().start();
    const double width = spec.has_vid_sampling_interval() ? spec.vid_sampling_interval().width() : 1;
    const std::string head = absl::StrCat(CsvField(e.measurement.name()), ",", CsvField(e.title), ",",
                                          api::v1::Protocol_Name(e.measurement.protocol_config().protocol()), ",",
                                          Measurement::State_Name(e.measurement.state()), ",");
    const auto row = [&](const std::string& figure, double value, double se,
                         const api::v1::DifferentialPrivacyParams& privacy, std::optional<double> truth) {
      absl::StrAppendFormat(&csv, "%s%s,%.17g,%.17g,%.17g,%.17g,%g,%g,%g,%g,%s\n", head, CsvField(figure), value, se,
                            std::max(0.0, value - kZ95 * se), value + kZ95 * se, privacy.epsilon(), privacy.delta(),
                            start, width, truth ? absl::StrFormat("%.17g", *truth) : "");
    };
    if (!e.result) {
      absl::StrAppend(&csv, head, ",,,,,,,,,\n");
      continue;
    }
    const ReportTruth truth = e.truth.value_or(ReportTruth{});
    const MeasurementResult& r = *e.result;
    if (r.has_reach()) {
      row("reach", static_cast<double>(r.reach().value()), r.reach().standard_error(), reach_privacy, truth.reach);
    }
    for (int k = 0; k < r.frequency().relative_frequency_size(); ++k) {
      row(absl::StrCat("frequency_", k + 1, k + 1 == r.frequency().relative_frequency_size() ? "+" : ""),
          r.frequency().relative_frequency(k),
          k < r.frequency().standard_error_size() ? r.frequency().standard_error(k) : 0, frequency_privacy,
          static_cast<size_t>(k) < truth.frequency.size() ? std::optional<double>(truth.frequency[k]) : std::nullopt);
    }
    if (r.has_impression()) {
      row("impressions", static_cast<double>(r.impression().value()), r.impression().standard_error(), other_privacy,
          truth.impressions);
    }
    if (r.has_watch_duration()) {
      row("watch_seconds", r.watch_duration().seconds(), r.watch_duration().standard_error(), other_privacy,
          truth.watch_seconds);
    }
  }
  return csv;
}

}  // namespace halo::mc
