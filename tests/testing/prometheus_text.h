// A strict reader of Prometheus's text exposition format (0.0.4), for tests
// that scrape a role: every line must be a HELP, a TYPE or a sample; names
// and labels well formed; a family's lines together, its TYPE before its
// samples, no series twice; a histogram's buckets cumulative up to +Inf,
// which must equal its count.
#ifndef HALO_TESTS_TESTING_PROMETHEUS_TEXT_H_
#define HALO_TESTS_TESTING_PROMETHEUS_TEXT_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace halo::testing {

struct Sample {
  std::string name;  // with any _bucket, _sum or _count
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct MetricFamily {
  std::string type;
  std::string help;
  std::vector<Sample> samples;
};

struct Exposition {
  std::map<std::string, MetricFamily> families;
  // The value of the sample of that name whose labels include `labels`; the
  // sum when several do.
  std::optional<double> Value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const;
};

// An error names the line and what is wrong with it.
absl::StatusOr<Exposition> ParseExposition(const std::string& text);

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_PROMETHEUS_TEXT_H_
