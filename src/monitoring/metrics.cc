#include "halo/monitoring/metrics.h"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace halo::monitoring {
namespace {

std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // The shortest text that reads back as the same double: 0.1, not
  // 0.10000000000000001.
  char text[32];
  const auto written = std::to_chars(text, text + sizeof text, value);
  return std::string(text, written.ptr);
}

// A label value or help text: backslash and newline escaped, and the double
// quote too in a label value.
std::string Escape(const std::string& text, bool quote) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::vector<double> CallSecondsBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> StageSecondsBuckets() {
  return {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200};
}

bool Family::Admit(const LabelValues& values, size_t series) const {
  if (values.size() == label_names_.size() && series < kMaxSeries) return true;
  if (values.size() != label_names_.size()) {
    spdlog::error("metric {} takes {} labels, given {}", name_, label_names_.size(), values.size());
  }
  if (registry_.dropped_ != nullptr && this != registry_.dropped_) registry_.dropped_->Increment({name_});
  return false;
}

void Family::WriteHeader(std::string& out, const char* type) const {
  absl::StrAppend(&out, "# HELP ", name_, " ", Escape(help_, false), "\n# TYPE ", name_, " ", type, "\n");
}

void Family::WriteSample(std::string& out, const std::string& suffix, const LabelValues& values, double value,
                         const std::pair<std::string, std::string>* extra) const {
  absl::StrAppend(&out, name_, suffix);
  if (!values.empty() || extra != nullptr) {
    out += '{';
    for (size_t i = 0; i < values.size(); ++i) {
      absl::StrAppend(&out, i == 0 ? "" : ",", label_names_[i], "=\"", Escape(values[i], true), "\"");
    }
    if (extra != nullptr) {
      absl::StrAppend(&out, values.empty() ? "" : ",", extra->first, "=\"", extra->second, "\"");
    }
    out += '}';
  }
  absl::StrAppend(&out, " ", FormatValue(value), "\n");
}

void ValueFamily::Change(const LabelValues& values, const std::function<void(double&)>& change) {
  absl::MutexLock lock(&mu_);
  auto it = values_.find(values);
  if (it == values_.end()) {
    if (!Admit(values, values_.size())) return;
    it = values_.emplace(values, 0).first;
  }
  change(it->second);
}

void ValueFamily::WriteValues(std::string& out, const char* type) const {
  WriteHeader(out, type);
  absl::MutexLock lock(&mu_);
  for (const auto& [values, value] : values_) WriteSample(out, "", values, value);
}

void Counter::Increment(const LabelValues& values, double by) {
  if (!(by >= 0)) return;  // a counter never goes down, and NaN is no count
  Change(values, [by](double& value) { value += by; });
}

void Gauge::Set(const LabelValues& values, double value) {
  Change(values, [value](double& stored) { stored = value; });
}

void Gauge::Add(const LabelValues& values, double by) {
  Change(values, [by](double& value) { value += by; });
}

void Histogram::Observe(const LabelValues& values, double value) {
  if (std::isnan(value)) return;
  absl::MutexLock lock(&mu_);
  auto it = series_.find(values);
  if (it == series_.end()) {
    if (!Admit(values, series_.size())) return;
    it = series_.emplace(values, Series{std::vector<uint64_t>(bounds_.size(), 0)}).first;
  }
  Series& series = it->second;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    if (value <= bounds_[i]) {
      ++series.counts[i];
      break;
    }
  }
  ++series.count;
  series.sum += value;
}

void Histogram::Write(std::string& out) const {
  WriteHeader(out, "histogram");
  absl::MutexLock lock(&mu_);
  for (const auto& [values, series] : series_) {
    uint64_t cumulative = 0;
    for (size_t i = 0; i < bounds_.size(); ++i) {
      cumulative += series.counts[i];
      const std::pair<std::string, std::string> le{"le", FormatValue(bounds_[i])};
      WriteSample(out, "_bucket", values, static_cast<double>(cumulative), &le);
    }
    const std::pair<std::string, std::string> inf{"le", "+Inf"};
    WriteSample(out, "_bucket", values, static_cast<double>(series.count), &inf);
    WriteSample(out, "_sum", values, series.sum);
    WriteSample(out, "_count", values, static_cast<double>(series.count));
  }
}

class Registry::ReadGauge : public Family {
 public:
  ReadGauge(Registry& registry, std::string name, std::string help, std::vector<std::string> label_names,
            GaugeReader read)
      : Family(registry, std::move(name), std::move(help), std::move(label_names)), read_(std::move(read)) {}

 private:
  void Write(std::string& out) const override {
    auto read = read_();
    if (!read.ok()) {
      spdlog::warn("metric {} not read: {}", name_, std::string(read.status().message()));
      return;
    }
    WriteHeader(out, "gauge");
    std::map<LabelValues, double> sorted;
    for (auto& [values, value] : *read) {
      if (values.size() == label_names_.size() && sorted.size() < kMaxSeries) sorted[std::move(values)] = value;
    }
    for (const auto& [values, value] : sorted) WriteSample(out, "", values, value);
  }
  const GaugeReader read_;
};

Registry::Registry() {
  dropped_ = &AddCounter("halo_monitoring_dropped_samples_total",
                         "Samples dropped for a label set beyond a metric's limit, or the wrong labels", {"metric"});
}

template <typename T, typename... Args>
T& Registry::Add(const std::string& name, Args&&... args) {
  absl::MutexLock lock(&mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    // Two parts of a role may count the same thing (both of the Kingdom's
    // servers count their calls); two kinds under one name is a bug.
    if (T* same = dynamic_cast<T*>(it->second.get())) return *same;
    spdlog::critical("metric {} registered as two kinds", name);
    std::abort();
  }
  auto family = std::unique_ptr<T>(new T(*this, name, std::forward<Args>(args)...));
  T& added = *family;
  families_.emplace(name, std::move(family));
  return added;
}

Counter& Registry::AddCounter(const std::string& name, const std::string& help, std::vector<std::string> label_names) {
  return Add<Counter>(name, help, std::move(label_names));
}

Gauge& Registry::AddGauge(const std::string& name, const std::string& help, std::vector<std::string> label_names) {
  return Add<Gauge>(name, help, std::move(label_names));
}

Histogram& Registry::AddHistogram(const std::string& name, const std::string& help,
                                  std::vector<std::string> label_names, std::vector<double> bounds) {
  return Add<Histogram>(name, help, std::move(label_names), std::move(bounds));
}

void Registry::AddGaugeReader(const std::string& name, const std::string& help, std::vector<std::string> label_names,
                              GaugeReader read) {
  Add<ReadGauge>(name, help, std::move(label_names), std::move(read));
}

std::string Registry::Exposition() const {
  std::vector<const Family*> families;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  for (const Family* family : families) family->Write(out);
  return out;
}

}  // namespace halo::monitoring
