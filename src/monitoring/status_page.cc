#include "halo/monitoring/status_page.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace halo::monitoring {

std::string HtmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string HumanDuration(double seconds) {
  if (!(seconds >= 0)) return "-";
  if (seconds < 90) return absl::StrFormat("%.0f s", seconds);
  if (seconds < 90 * 60) return absl::StrFormat("%.0f min", seconds / 60);
  if (seconds < 48 * 3600) return absl::StrFormat("%.1f h", seconds / 3600);
  return absl::StrFormat("%.1f days", seconds / 86400);
}

StatusPage::StatusPage(std::string role) : role_(std::move(role)) {}

void StatusPage::Section(const std::string& title) { absl::StrAppend(&body_, "<h2>", HtmlEscape(title), "</h2>\n"); }

void StatusPage::Paragraph(const std::string& text) { absl::StrAppend(&body_, "<p>", HtmlEscape(text), "</p>\n"); }

void StatusPage::Table(const std::string& id, const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows, const std::string& empty) {
  if (rows.empty()) {
    absl::StrAppend(&body_, "<p class=\"empty\" id=\"", HtmlEscape(id), "\">", HtmlEscape(empty), "</p>\n");
    return;
  }
  absl::StrAppend(&body_, "<table id=\"", HtmlEscape(id), "\">\n<thead><tr>");
  for (const std::string& cell : header) absl::StrAppend(&body_, "<th>", HtmlEscape(cell), "</th>");
  body_ += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (const std::string& cell : row) absl::StrAppend(&body_, "<td>", HtmlEscape(cell), "</td>");
    body_ += "</tr>\n";
  }
  body_ += "</tbody>\n</table>\n";
}

void StatusPage::BarChart(const std::string& id, const std::vector<std::pair<std::string, double>>& bars) {
  if (bars.empty()) return;
  constexpr int kLabelWidth = 260, kBarWidth = 360, kRow = 22;
  double most = 0;
  for (const auto& [label, value] : bars) most = std::max(most, value);
  const int height = static_cast<int>(bars.size()) * kRow + 4;
  absl::StrAppend(&body_, "<svg id=\"", HtmlEscape(id), "\" role=\"img\" width=\"", kLabelWidth + kBarWidth + 80,
                  "\" height=\"", height, "\" viewBox=\"0 0 ", kLabelWidth + kBarWidth + 80, " ", height,
                  "\" xmlns=\"http://www.w3.org/2000/svg\">\n");
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& [label, value] = bars[i];
    const int y = static_cast<int>(i) * kRow + 2;
    const double width = most > 0 ? std::max(1.0, kBarWidth * value / most) : 1.0;
    absl::StrAppend(&body_, "<text x=\"", kLabelWidth - 6, "\" y=\"", y + 15, "\" text-anchor=\"end\">",
                    HtmlEscape(label), "</text>");
    absl::StrAppend(&body_, "<rect class=\"bar\" data-label=\"", HtmlEscape(label), "\" data-value=\"", value,
                    "\" x=\"", kLabelWidth, "\" y=\"", y + 2, "\" width=\"", absl::StrFormat("%.1f", width),
                    "\" height=\"", kRow - 6, "\" fill=\"#4a78b5\"/>");
    absl::StrAppend(&body_, "<text x=\"", absl::StrFormat("%.1f", kLabelWidth + width + 6), "\" y=\"", y + 15, "\">",
                    value, "</text>\n");
  }
  body_ += "</svg>\n";
}

std::string StatusPage::Html() const {
  const std::string title = absl::StrCat("halo ", role_);
  return absl::StrCat(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", HtmlEscape(title),
      "</title>\n<style>\n"
      "body{font-family:sans-serif;margin:1.5em;color:#222}h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}"
      "table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;"
      "vertical-align:top}th{background:#eee}td{max-width:48em;overflow-wrap:anywhere}.empty{color:#666}"
      "svg text{font-size:12px;font-family:sans-serif}footer{margin-top:2em;color:#666;font-size:.9em}\n"
      "</style>\n</head>\n<body>\n<h1>",
      HtmlEscape(title), "</h1>\n", body_, "<footer>As of ", absl::FormatTime("%Y-%m-%d %H:%M:%S UTC", absl::Now(), absl::UTCTimeZone()),
      ". Metrics: <a href=\"/metrics\">/metrics</a>; health: <a href=\"/healthz\">/healthz</a>.</footer>\n</body>\n</html>\n");
}

}  // namespace halo::monitoring
