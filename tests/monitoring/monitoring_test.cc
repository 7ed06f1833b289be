// The metrics registry's exposition, read back by a strict parser, and the
// monitoring listener over real HTTP on loopback.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "halo/monitoring/http_listener.h"
#include "halo/monitoring/metrics.h"
#include "testing/http_get.h"
#include "testing/prometheus_text.h"

namespace halo::monitoring {
namespace {

using testing::ParseExposition;

TEST_CASE("Counters, gauges and histograms read back exactly, in the strict text format") {
  Registry registry;
  Counter& calls = registry.AddCounter("halo_test_calls_total", "Calls by method and code", {"method", "code"});
  Gauge& depth = registry.AddGauge("halo_test_queue_depth", "Computations waiting");
  Histogram& latency =
      registry.AddHistogram("halo_test_latency_seconds", "Latency", {"stage"}, {0.1, 1, 10});
  registry.AddGaugeReader("halo_test_measurements", "Measurements by state", {"state"}, [] {
    return absl::StatusOr<std::vector<std::pair<LabelValues, double>>>(
        std::vector<std::pair<LabelValues, double>>{{{"SUCCEEDED"}, 7}, {{"FAILED"}, 2}});
  });
  calls.Increment({"Get", "OK"});
  calls.Increment({"Get", "OK"}, 2);
  calls.Increment({"List", "NOT_FOUND"});
  calls.Increment({"Get", "OK"}, -5);  // a counter never goes down
  depth.Set({}, 4);
  depth.Add({}, -1);
  for (double v : {0.05, 0.5, 0.5, 5.0, 50.0}) latency.Observe({"SETUP"}, v);
  // Label values that need escaping.
  latency.Observe({"a \"quoted\"\\stage\n"}, 0.2);

  const std::string text = registry.Exposition();
  auto parsed = ParseExposition(text);
  INFO(text);
  REQUIRE(parsed.ok());
  CHECK(parsed->families.at("halo_test_calls_total").type == "counter");
  CHECK(parsed->Value("halo_test_calls_total", {{"method", "Get"}, {"code", "OK"}}) == 3);
  CHECK(parsed->Value("halo_test_calls_total", {{"method", "List"}}) == 1);
  CHECK(parsed->Value("halo_test_queue_depth") == 3);
  CHECK(parsed->Value("halo_test_latency_seconds_bucket", {{"stage", "SETUP"}, {"le", "0.1"}}) == 1);
  CHECK(parsed->Value("halo_test_latency_seconds_bucket", {{"stage", "SETUP"}, {"le", "1"}}) == 3);
  CHECK(parsed->Value("halo_test_latency_seconds_bucket", {{"stage", "SETUP"}, {"le", "10"}}) == 4);
  CHECK(parsed->Value("halo_test_latency_seconds_bucket", {{"stage", "SETUP"}, {"le", "+Inf"}}) == 5);
  CHECK(parsed->Value("halo_test_latency_seconds_count", {{"stage", "SETUP"}}) == 5);
  CHECK(parsed->Value("halo_test_latency_seconds_sum", {{"stage", "SETUP"}}) == Approx(56.05));
  CHECK(parsed->Value("halo_test_latency_seconds_count", {{"stage", "a \"quoted\"\\stage\n"}}) == 1);
  CHECK(parsed->Value("halo_test_measurements", {{"state", "FAILED"}}) == 2);
  CHECK(parsed->Value("halo_monitoring_dropped_samples_total") == std::nullopt);
}

TEST_CASE("A family keeps a bounded number of label sets and counts what it drops") {
  Registry registry;
  Counter& counter = registry.AddCounter("halo_test_by_name_total", "Misuse: a label per name", {"name"});
  for (size_t i = 0; i < kMaxSeries + 10; ++i) counter.Increment({std::to_string(i)});
  counter.Increment({"a", "label", "too many"});
  auto parsed = ParseExposition(registry.Exposition());
  REQUIRE(parsed.ok());
  CHECK(parsed->families.at("halo_test_by_name_total").samples.size() == kMaxSeries);
  CHECK(parsed->Value("halo_monitoring_dropped_samples_total", {{"metric", "halo_test_by_name_total"}}) == 11);
}

TEST_CASE("The strict parser refuses what a scraper would choke on") {
  const char* bad[] = {
      "x 1\n",                                             // no TYPE
      "# TYPE x counter\nx -1\n",                          // a counter below zero
      "# TYPE x gauge\nx{a=\"1\"} 1\nx{a=\"1\"} 2\n",      // a series twice
      "# TYPE x gauge\n# TYPE y gauge\nx 1\ny 1\nx 2\n",   // a family split
      "# TYPE x gauge\nx{a=1} 1\n",                        // an unquoted label
      "# TYPE x gauge\nx 1",                               // no final newline
      "# TYPE x gauge\nx one\n",                           // not a number
      "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",  // not cumulative
      "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",                          // no +Inf
      "# comment\n",
  };
  for (const char* text : bad) {
    INFO(text);
    CHECK_FALSE(ParseExposition(text).ok());
  }
}

TEST_CASE("The listener serves its routes over HTTP on loopback, GET and HEAD only") {
  auto address = ParseListenAddress("0", "monitoring.http_address");
  REQUIRE(address.ok());
  CHECK(address->host == "127.0.0.1");
  int hits = 0;
  auto listener = HttpListener::Start(*address, {{"/healthz", [&] {
                                                    ++hits;
                                                    return HttpResponse{503, "text/plain; charset=utf-8",
                                                                        "the Kingdom is unreachable\n"};
                                                  }}});
  REQUIRE(listener.ok());
  const int port = (*listener)->port();
  REQUIRE(port > 0);
  auto health = testing::HttpGet(port, "/healthz");
  REQUIRE(health.ok());
  CHECK(health->status == 503);
  CHECK(health->body == "the Kingdom is unreachable\n");
  CHECK(health->headers.at("content-type") == "text/plain; charset=utf-8");
  CHECK(health->headers.at("content-security-policy").find("default-src 'none'") != std::string::npos);
  CHECK(testing::HttpGet(port, "/nothing")->status == 404);
  CHECK(testing::HttpGet(port, "/healthz", "POST")->status == 405);
  auto head = testing::HttpGet(port, "/healthz", "HEAD");
  REQUIRE(head.ok());
  CHECK(head->status == 503);
  CHECK(head->body.empty());
  CHECK(hits == 2);
  listener->reset();
  CHECK_FALSE(testing::HttpGet(port, "/healthz").ok());
}

TEST_CASE("A listen address names its setting when it is wrong") {
  for (const char* bad : {"", "host:80", "127.0.0.1:", "127.0.0.1:99999", "[::1]", "[nothing]:80", "1.2.3:80"}) {
    auto parsed = ParseListenAddress(bad, "monitoring.http_address");
    INFO(bad);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.status().message().find("monitoring.http_address") != std::string::npos);
  }
  auto v6 = ParseListenAddress("[::1]:9464", "x");
  REQUIRE(v6.ok());
  CHECK(v6->ipv6);
  CHECK(v6->port == 9464);
  auto everywhere = ParseListenAddress("0.0.0.0:9464", "x");
  REQUIRE(everywhere.ok());
  CHECK(everywhere->host == "0.0.0.0");
  auto local = ParseListenAddress("localhost:9464", "x");
  REQUIRE(local.ok());
  CHECK(local->host == "127.0.0.1");
  // A port someone else holds.
  auto first = HttpListener::Start(*ParseListenAddress("0", "x"), {});
  REQUIRE(first.ok());
  auto second = HttpListener::Start(*ParseListenAddress(std::to_string((*first)->port()), "x"), {});
  CHECK(absl::IsUnavailable(second.status()));
}

TEST_CASE("The local deployment's Prometheus config scrapes every role's listener and nothing else") {
  const auto read = [](const std::filesystem::path& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  };
  const std::filesystem::path source(HALO_SOURCE_DIR);
  std::set<std::string> listeners;
  const std::regex address("monitoring \\{ http_address: \"([^\"]+)\" \\}");
  for (const char* dir : {"config/local", "config/local/split"}) {
    for (const auto& entry : std::filesystem::directory_iterator(source / dir)) {
      if (entry.path().extension() != ".textproto") continue;
      const std::string config = read(entry.path());
      std::smatch found;
      if (std::regex_search(config, found, address)) listeners.insert(found[1]);
    }
  }
  CHECK(listeners.size() == 12);  // the Kingdom, 3 duchies, 6 mills, the EDP and the exchange daemon
  std::set<std::string> targets;
  const std::string prometheus = read(source / "config/monitoring/prometheus.yml");
  const std::regex target("\"(127\\.0\\.0\\.1:[0-9]+)\"");
  for (auto it = std::sregex_iterator(prometheus.begin(), prometheus.end(), target); it != std::sregex_iterator(); ++it) {
    targets.insert((*it)[1]);
  }
  CHECK(targets == listeners);
}

}  // namespace
}  // namespace halo::monitoring
