// A role's metrics, exposed in Prometheus's text format (version 0.0.4) on
// its monitoring listener. Each daemon owns one Registry, so that three
// duchies in one process keep theirs apart.
//
// Label values must come from bounded sets (stage names, methods, status
// codes, reasons), never from names of measurements or requisitions: a
// family keeps at most kMaxSeries label sets, and drops samples of new ones
// beyond it, counting them in halo_monitoring_dropped_samples_total.
#ifndef HALO_MONITORING_METRICS_H_
#define HALO_MONITORING_METRICS_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace halo::monitoring {

using LabelValues = std::vector<std::string>;

inline constexpr size_t kMaxSeries = 1000;

// Upper bounds, in seconds, for calls that take milliseconds to a minute.
std::vector<double> CallSecondsBuckets();
// For protocol stages and exchange steps, which take milliseconds to hours.
std::vector<double> StageSecondsBuckets();

class Registry;

class Family {
 public:
  virtual ~Family() = default;
  const std::string& name() const { return name_; }

 protected:
  Family(Registry& registry, std::string name, std::string help, std::vector<std::string> label_names)
      : registry_(registry), name_(std::move(name)), help_(std::move(help)), label_names_(std::move(label_names)) {}
  // False (and counted as dropped) for a wrong number of values or a new
  // label set beyond kMaxSeries.
  bool Admit(const LabelValues& values, size_t series) const;

  friend class Registry;
  virtual void Write(std::string& out) const = 0;
  void WriteHeader(std::string& out, const char* type) const;
  void WriteSample(std::string& out, const std::string& suffix, const LabelValues& values, double value,
                   const std::pair<std::string, std::string>* extra = nullptr) const;

  Registry& registry_;
  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
};

// One number a label set.
class ValueFamily : public Family {
 protected:
  using Family::Family;
  // Applies `change` to the label set's value (0 when new), unless the set
  // is not admitted.
  void Change(const LabelValues& values, const std::function<void(double&)>& change);
  void WriteValues(std::string& out, const char* type) const;

 private:
  mutable absl::Mutex mu_;
  std::map<LabelValues, double> values_ ABSL_GUARDED_BY(mu_);
};

// Only goes up; "_total" ends its name.
class Counter : public ValueFamily {
 public:
  void Increment(const LabelValues& values, double by = 1);

 private:
  using ValueFamily::ValueFamily;
  friend class Registry;
  void Write(std::string& out) const override { WriteValues(out, "counter"); }
};

class Gauge : public ValueFamily {
 public:
  void Set(const LabelValues& values, double value);
  void Add(const LabelValues& values, double by);

 private:
  using ValueFamily::ValueFamily;
  friend class Registry;
  void Write(std::string& out) const override { WriteValues(out, "gauge"); }
};

class Histogram : public Family {
 public:
  void Observe(const LabelValues& values, double value);

 private:
  Histogram(Registry& registry, std::string name, std::string help, std::vector<std::string> label_names,
            std::vector<double> bounds)
      : Family(registry, std::move(name), std::move(help), std::move(label_names)), bounds_(std::move(bounds)) {}
  friend class Registry;
  void Write(std::string& out) const override;
  struct Series {
    std::vector<uint64_t> counts;  // per bound, not cumulative
    uint64_t count = 0;
    double sum = 0;
  };
  const std::vector<double> bounds_;
  mutable absl::Mutex mu_;
  std::map<LabelValues, Series> series_ ABSL_GUARDED_BY(mu_);
};

// Values read when scraped (a queue's depth, measurements by state), from a
// function that returns each label set's value, or an error to leave the
// family out of that scrape.
using GaugeReader = std::function<absl::StatusOr<std::vector<std::pair<LabelValues, double>>>()>;

class Registry {
 public:
  Registry();
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // Each name once; the returned family lives as long as the registry.
  Counter& AddCounter(const std::string& name, const std::string& help, std::vector<std::string> label_names = {});
  Gauge& AddGauge(const std::string& name, const std::string& help, std::vector<std::string> label_names = {});
  Histogram& AddHistogram(const std::string& name, const std::string& help, std::vector<std::string> label_names,
                          std::vector<double> bounds);
  void AddGaugeReader(const std::string& name, const std::string& help, std::vector<std::string> label_names,
                      GaugeReader read);

  // Every family, sorted by name, in the text exposition format.
  std::string Exposition() const;

 private:
  friend class Family;
  class ReadGauge;
  template <typename T, typename... Args>
  T& Add(const std::string& name, Args&&... args);

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<Family>> families_ ABSL_GUARDED_BY(mu_);
  Counter* dropped_ = nullptr;
};

// The text format's content type.
inline constexpr char kExpositionContentType[] = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace halo::monitoring

#endif  // HALO_MONITORING_METRICS_H_
