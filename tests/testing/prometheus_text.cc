#include "testing/prometheus_text.h"

#include <cmath>
#include <regex>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"
#include "absl/strings/strip.h"

namespace halo::testing {
namespace {

const std::regex kMetricName("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");

bool ParseValue(const std::string& text, double& value) {
  if (text == "+Inf") {
    value = INFINITY;
  } else if (text == "-Inf") {
    value = -INFINITY;
  } else if (text == "NaN") {
    value = NAN;
  } else {
    return absl::SimpleAtod(text, &value) && text.find_first_of(" \t") == std::string::npos;
  }
  return true;
}

// name{labels} value [timestamp]
absl::StatusOr<Sample> ParseSample(const std::string& line) {
  Sample sample;
  size_t i = 0;
  while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
  sample.name = line.substr(0, i);
  if (!std::regex_match(sample.name, kMetricName)) return absl::InvalidArgumentError("a malformed metric name");
  if (i < line.size() && line[i] == '{') {
    ++i;
    while (true) {
      if (i < line.size() && line[i] == '}') {
        ++i;
        break;
      }
      size_t start = i;
      while (i < line.size() && line[i] != '=') ++i;
      const std::string label = line.substr(start, i - start);
      if (!std::regex_match(label, kLabelName)) return absl::InvalidArgumentError("a malformed label name");
      if (i + 1 >= line.size() || line[i + 1] != '"') return absl::InvalidArgumentError("a label value not quoted");
      i += 2;
      std::string value;
      while (true) {
        if (i >= line.size()) return absl::InvalidArgumentError("an unterminated label value");
        const char c = line[i++];
        if (c == '"') break;
        if (c == '\\') {
          if (i >= line.size()) return absl::InvalidArgumentError("a dangling escape");
          const char e = line[i++];
          if (e == 'n') {
            value += '\n';
          } else if (e == '\\' || e == '"') {
            value += e;
          } else {
            return absl::InvalidArgumentError("an unknown escape in a label value");
          }
        } else {
          value += c;
        }
      }
      if (!sample.labels.emplace(label, value).second) return absl::InvalidArgumentError("a label given twice");
      if (i < line.size() && line[i] == ',') {
        ++i;
      } else if (i >= line.size() || line[i] != '}') {
        return absl::InvalidArgumentError("labels not separated by commas");
      }
    }
  }
  if (i >= line.size() || line[i] != ' ') return absl::InvalidArgumentError("no space before the value");
  const std::vector<std::string> rest = absl::StrSplit(line.substr(i + 1), ' ');
  if (rest.empty() || rest.size() > 2) return absl::InvalidArgumentError("not one value and at most a timestamp");
  if (!ParseValue(rest[0], sample.value)) return absl::InvalidArgumentError("a value that is not a number");
  int64_t timestamp;
  if (rest.size() == 2 && !absl::SimpleAtoi(rest[1], &timestamp)) {
    return absl::InvalidArgumentError("a timestamp that is not an integer");
  }
  return sample;
}

// The family a sample belongs to, given the families' types.
std::string FamilyOf(const std::string& sample, const std::map<std::string, MetricFamily>& families) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    if (absl::EndsWith(sample, suffix)) {
      const std::string base(absl::StripSuffix(sample, suffix));
      auto it = families.find(base);
      if (it != families.end() && (it->second.type == "histogram" || it->second.type == "summary")) return base;
    }
  }
  return sample;
}

absl::Status CheckHistogram(const std::string& name, const MetricFamily& family) {
  // Series by their labels other than le.
  struct Series {
    std::vector<std::pair<double, double>> buckets;  // le, count
    std::optional<double> count, sum;
  };
  std::map<std::map<std::string, std::string>, Series> series;
  for (const Sample& sample : family.samples) {
    std::map<std::string, std::string> labels = sample.labels;
    if (sample.name == name + "_bucket") {
      auto le = labels.find("le");
      if (le == labels.end()) return absl::InvalidArgumentError(absl::StrCat(name, ": a bucket without le"));
      double bound;
      if (!ParseValue(le->second, bound)) return absl::InvalidArgumentError(absl::StrCat(name, ": a bad le"));
      labels.erase(le);
      series[labels].buckets.emplace_back(bound, sample.value);
    } else if (sample.name == name + "_count") {
      series[labels].count = sample.value;
    } else if (sample.name == name + "_sum") {
      series[labels].sum = sample.value;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(name, ": a histogram sample named ", sample.name));
    }
  }
  for (const auto& [labels, s] : series) {
    if (s.buckets.empty() || !s.count || !s.sum) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": a series without buckets, sum or count"));
    }
    for (size_t i = 1; i < s.buckets.size(); ++i) {
      if (!(s.buckets[i].first > s.buckets[i - 1].first) || s.buckets[i].second < s.buckets[i - 1].second) {
        return absl::InvalidArgumentError(absl::StrCat(name, ": buckets not increasing and cumulative"));
      }
    }
    if (!std::isinf(s.buckets.back().first) || s.buckets.back().second != *s.count) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": the +Inf bucket is missing or differs from the count"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::optional<double> Exposition::Value(const std::string& name,
                                        const std::map<std::string, std::string>& labels) const {
  std::optional<double> total;
  for (const auto& [family_name, family] : families) {
    for (const Sample& sample : family.samples) {
      if (sample.name != name) continue;
      bool match = true;
      for (const auto& [label, value] : labels) {
        auto it = sample.labels.find(label);
        match = match && it != sample.labels.end() && it->second == value;
      }
      if (match) total = total.value_or(0) + sample.value;
    }
  }
  return total;
}

absl::StatusOr<Exposition> ParseExposition(const std::string& text) {
  if (!text.empty() && text.back() != '\n') return absl::InvalidArgumentError("the text does not end with a newline");
  Exposition exposition;
  std::set<std::string> closed;  // families whose lines have ended
  std::string current;
  std::set<std::pair<std::string, std::map<std::string, std::string>>> seen;
  int number = 0;
  for (absl::string_view view : absl::StrSplit(absl::StripSuffix(text, "\n"), '\n')) {
    ++number;
    const std::string line(view);
    const auto error = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("line ", number, " (", line, "): ", why));
    };
    if (line.empty()) continue;
    std::string family_name;
    if (absl::StartsWith(line, "#")) {
      const std::vector<std::string> parts = absl::StrSplit(line, absl::MaxSplits(' ', 3));
      if (parts.size() < 3 || parts[0] != "#" || (parts[1] != "HELP" && parts[1] != "TYPE")) {
        return error("a comment that is neither HELP nor TYPE");
      }
      family_name = parts[2];
      if (!std::regex_match(family_name, kMetricName)) return error("a malformed metric name");
      MetricFamily& family = exposition.families[family_name];
      if (parts[1] == "TYPE") {
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary", "untyped"};
        if (parts.size() != 4 || !kTypes.contains(parts[3])) return error("an unknown type");
        if (!family.type.empty()) return error("a second TYPE");
        if (!family.samples.empty()) return error("a TYPE after the family's samples");
        family.type = parts[3];
      } else {
        if (!family.help.empty()) return error("a second HELP");
        family.help = parts.size() == 4 ? parts[3] : "";
        if (family.help.empty()) return error("an empty HELP");
      }
    } else {
      auto sample = ParseSample(line);
      if (!sample.ok()) return error(sample.status().message());
      family_name = FamilyOf(sample->name, exposition.families);
      MetricFamily& family = exposition.families[family_name];
      if (family.type.empty()) return error("a sample before its family's TYPE");
      if (family.type == "counter" && !(sample->value >= 0)) return error("a counter below zero");
      if (!seen.emplace(sample->name, sample->labels).second) return error("a series given twice");
      family.samples.push_back(*std::move(sample));
    }
    if (family_name != current) {
      if (closed.contains(family_name)) return error("a family's lines are not together");
      if (!current.empty()) closed.insert(current);
      current = family_name;
    }
  }
  for (const auto& [name, family] : exposition.families) {
    if (family.type.empty()) return absl::InvalidArgumentError(absl::StrCat(name, " has no TYPE"));
    if (family.type == "histogram") {
      if (absl::Status histogram = CheckHistogram(name, family); !histogram.ok()) return histogram;
    }
  }
  return exposition;
}

}  // namespace halo::testing
