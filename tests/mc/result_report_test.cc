// The results report, drawn by headless Chromium: every chart renders with
// no console message, each bar is as tall as its value on the chart's
// scale, each error bar spans the 95% interval and each truth marker sits at
// its truth; and the CSV holds the same figures.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "halo/mc/result_report.h"
#include "testing/headless_browser.h"
#include "testing/temp_dir.h"

namespace halo::mc {
namespace {

using api::v1::Measurement;
using api::v1::MeasurementResult;
using api::v1::MeasurementSpec;

constexpr double kZ95 = 1.959963984540054;

ReportEntry Entry(const std::string& title, int64_t reach, double se, std::optional<double> truth,
                  std::vector<double> frequency = {}, std::vector<double> frequency_truth = {}) {
  ReportEntry e;
  e.title = title;
  e.measurement.set_name("measurementConsumers/mc1/measurements/" + title);
  e.measurement.set_state(Measurement::SUCCEEDED);
  e.measurement.mutable_protocol_config()->set_protocol(api::v1::LIQUID_LEGIONS_V2);
  MeasurementSpec spec;
  auto& rf = *spec.mutable_reach_and_frequency();
  rf.mutable_reach_privacy_params()->set_epsilon(0.5);
  rf.mutable_reach_privacy_params()->set_delta(1e-9);
  rf.mutable_frequency_privacy_params()->set_epsilon(0.25);
  rf.set_maximum_frequency(static_cast<int>(frequency.size()));
  spec.mutable_vid_sampling_interval()->set_start(0.25);
  spec.mutable_vid_sampling_interval()->set_width(0.5);
  e.measurement.mutable_measurement_spec()->set_data(spec.SerializeAsString());
  MeasurementResult result;
  result.mutable_reach()->set_value(reach);
  result.mutable_reach()->set_standard_error(se);
  for (double f : frequency) {
    result.mutable_frequency()->add_relative_frequency(f);
    result.mutable_frequency()->add_standard_error(0.01);
  }
  e.result = result;
  if (truth || !frequency_truth.empty()) e.truth = ReportTruth{.reach = truth, .frequency = frequency_truth};
  return e;
}

// The report with its own policy lifted and a probe appended that records,
// as the browser laid it out, each mark's geometry in the chart's units.
std::string Probed(std::string html) {
  html = std::regex_replace(html, std::regex("<meta http-equiv=\"Content-Security-Policy\"[^>]*>\n"), "");
  const std::string probe = R"js(<pre id="probe"></pre><script>
const out = [];
for (const svg of document.querySelectorAll('svg.chart')) {
  const scale = +svg.dataset.scale, base = +svg.dataset.baseline;
  for (const r of svg.querySelectorAll('rect.estimate')) {
    const b = r.getBBox();
    out.push(['bar', svg.id, r.dataset.label, +r.dataset.value, b.height / scale, (base - b.y) / scale].join(' '));
  }
  for (const l of svg.querySelectorAll('line.interval')) {
    const b = l.getBBox();
    out.push(['interval', svg.id, +l.dataset.low, +l.dataset.high, (base - b.y - b.height) / scale, (base - b.y) / scale].join(' '));
  }
  for (const l of svg.querySelectorAll('line.truth')) {
    const b = l.getBBox();
    out.push(['truth', svg.id, +l.dataset.value, (base - b.y) / scale].join(' '));
  }
}
document.getElementById('probe').textContent = out.join('\n');
</script>)js";
  return html.replace(html.rfind("</body>"), 7, probe + "</body>");
}

struct Mark {
  std::string kind, chart;
  std::vector<std::string> fields;
};

std::vector<Mark> ProbedMarks(const std::string& dom) {
  const size_t start = dom.find("<pre id=\"probe\">");
  REQUIRE(start != std::string::npos);
  const size_t end = dom.find("</pre>", start);
  std::vector<Mark> marks;
  for (absl::string_view line : absl::StrSplit(dom.substr(start + 16, end - start - 16), '\n', absl::SkipEmpty())) {
    std::vector<std::string> fields = absl::StrSplit(line, ' ');
    REQUIRE(fields.size() >= 4);
    marks.push_back({fields[0], fields[1], {fields.begin() + 2, fields.end()}});
  }
  return marks;
}

double Num(const std::string& text) {
  double value;
  REQUIRE(absl::SimpleAtod(text, &value));
  return value;
}

TEST_CASE("The report's charts render as their figures say: bar heights, 95% intervals and truth markers") {
  const std::vector<ReportEntry> entries = {
      Entry("edp1", 41'200, 310, 41'000.0, {0.5, 0.3, 0.2}, {0.52, 0.29, 0.19}),
      Entry("edp2", 18'700, 250, 18'900.0),
      Entry("union", 52'000, 420, std::nullopt),
  };
  const std::string html = ResultReportHtml("Campaign <A> & B", entries);
  // Self-contained: nothing that would reach the network.
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("Campaign &lt;A&gt; &amp; B") != std::string::npos);
  // The parameters under each chart.
  CHECK(html.find("reach epsilon 0.5, delta 1e-09") != std::string::npos);
  CHECK(html.find("VID sampling interval [0.25, 0.75)") != std::string::npos);
  CHECK(html.find("protocol LIQUID_LEGIONS_V2") != std::string::npos);

  testing::TempDir dir;
  {
    std::ofstream(dir.Sub("report.html")) << html;
    std::ofstream(dir.Sub("probed.html")) << Probed(html);
  }
  // As written: renders with nothing refused by its policy.
  auto plain = testing::RenderInChromium("file://" + dir.Sub("report.html"));
  if (!plain) return;
  INFO(absl::StrJoin(plain->console, "\n"));
  CHECK(plain->console.empty());
  CHECK(plain->dom.find("<svg id=\"reach-comparison\"") != std::string::npos);

  auto probed = testing::RenderInChromium("file://" + dir.Sub("probed.html"));
  REQUIRE(probed);
  const std::vector<Mark> marks = ProbedMarks(probed->dom);
  std::map<std::string, int> kinds;
  for (const Mark& m : marks) {
    ++kinds[m.kind];
    INFO(m.kind << " in " << m.chart << ": " << absl::StrJoin(m.fields, " "));
    if (m.kind == "bar") {
      // label, value, drawn height and top, in the chart's units: within a
      // tenth of a pixel's worth.
      const double value = Num(m.fields[1]);
      const double tolerance = std::max(value, 1.0) * 2e-3;
      CHECK(Num(m.fields[2]) == Approx(value).margin(tolerance));
      CHECK(Num(m.fields[3]) == Approx(value).margin(tolerance));
    } else if (m.kind == "interval") {
      const double low = Num(m.fields[0]), high = Num(m.fields[1]);
      const double tolerance = std::max(high, 1.0) * 2e-3;
      CHECK(Num(m.fields[2]) == Approx(low).margin(tolerance));
      CHECK(Num(m.fields[3]) == Approx(high).margin(tolerance));
    } else if (m.kind == "truth") {
      const double value = Num(m.fields[0]);
      CHECK(Num(m.fields[1]) == Approx(value).margin(std::max(value, 1.0) * 2e-3));
    }
  }
  // Bars: 3 side by side, one reach each, 3 frequencies; as many intervals;
  // truths: 2 side by side, 2 reach, 3 frequencies.
  CHECK(kinds["bar"] == 3 + 3 + 3);
  CHECK(kinds["interval"] == 9);
  CHECK(kinds["truth"] == 2 + 2 + 3);
  // The marks carry the figures given, not others: edp1's reach bar and its
  // interval, and its truth.
  bool found_reach = false, found_interval = false, found_truth = false;
  for (const Mark& m : marks) {
    if (m.chart != "measurement-1-reach") continue;
    if (m.kind == "bar") found_reach = Num(m.fields[1]) == 41'200;
    if (m.kind == "interval") {
      found_interval = Num(m.fields[0]) == Approx(41'200 - kZ95 * 310) && Num(m.fields[1]) == Approx(41'200 + kZ95 * 310);
    }
    if (m.kind == "truth") found_truth = Num(m.fields[0]) == 41'000;
  }
  CHECK(found_reach);
  CHECK(found_interval);
  CHECK(found_truth);
}

TEST_CASE("The CSV holds each figure with its interval, parameters and truth") {
  const std::string csv = ResultReportCsv({Entry("edp1, video", 41'200, 310, 41'000.0, {0.6, 0.4}, {0.61, 0.39})});
  const std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  REQUIRE(lines.size() == 4);  // header, reach, two frequencies
  CHECK(lines[0] ==
        "measurement,title,protocol,state,figure,value,standard_error,ci95_low,ci95_high,epsilon,delta,vid_start,"
        "vid_width,truth");
  CHECK(lines[1].rfind("\"measurementConsumers/mc1/measurements/edp1, video\",\"edp1, video\",LIQUID_LEGIONS_V2,"
                       "SUCCEEDED,reach,41200,310,",
                       0) == 0);
  CHECK(lines[1].find(",0.5,1e-09,0.25,0.5,41000") != std::string::npos);
  CHECK(lines[3].find(",frequency_2+,0.40000000000000002,0.01,") != std::string::npos);
  CHECK(lines[3].find(",0.25,0,0.25,0.5,0.39000000000000001") != std::string::npos);
}

}  // namespace
}  // namespace halo::mc
