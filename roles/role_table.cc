#include "role_table.h"

#include <spdlog/spdlog.h>

#include <map>
#include <optional>

#include "absl/strings/str_cat.h"
#include "duchy/duchy_role.h"
#include "edp/edp_agent_role.h"
#include "exchange/exchange_daemon_role.h"
#include "halo/common/config.h"
#include "halo/common/data_directory.h"
#include "halo/common/status_macros.h"
#include "halo/monitoring/http_listener.h"
#include "halo/monitoring/metrics.h"
#include "halo/net/peer.h"
#include "kingdom/kingdom_role.h"
#include "service.h"

namespace halo {
namespace {

const std::map<config::Role, ServiceFactory>& Factories() {
  static const auto* factories = new std::map<config::Role, ServiceFactory>{
      {config::KINGDOM, kingdom::StartKingdom},
      {config::DUCHY, duchy::StartDuchy},
      {config::DUCHY_HERALD, duchy::StartDuchyHerald},
      {config::DUCHY_MILL, duchy::StartDuchyMill},
      {config::EDP_AGENT, edp::StartEdpAgent},
      {config::EXCHANGE_DAEMON, exchange::StartExchangeDaemon},
  };
  return *factories;
}

// /metrics, and /healthz: 200 while the role is healthy and its Kingdom
// answers a health check, else 503 with the reason.
std::map<std::string, monitoring::HttpHandler> MonitoringPages(const StartedService& started,
                                                               const monitoring::Registry& metrics) {
  std::map<std::string, monitoring::HttpHandler> pages;
  pages["/metrics"] = [&metrics] {
    return monitoring::HttpResponse{200, monitoring::kExpositionContentType, metrics.Exposition()};
  };
  pages["/healthz"] = [health = started.health, kingdom = started.kingdom, kingdom_name = started.kingdom_name] {
    const auto unhealthy = [](const std::string& why) {
      return monitoring::HttpResponse{503, "text/plain; charset=utf-8", why + "\n"};
    };
    if (health) {
      if (absl::Status status = health(); !status.ok()) return unhealthy(std::string(status.message()));
    }
    if (kingdom != nullptr) {
      if (absl::Status status = net::CheckHealth(*kingdom, absl::Seconds(2)); !status.ok()) {
        return unhealthy(absl::StrCat(kingdom_name, " is unreachable: ", status.message()));
      }
    }
    return monitoring::HttpResponse{200, "text/plain; charset=utf-8", "serving\n"};
  };
  if (started.status_page) {
    pages["/"] = [page = started.status_page] {
      absl::StatusOr<std::string> html = page();
      if (!html.ok()) {
        return monitoring::HttpResponse{500, "text/plain; charset=utf-8",
                                        absl::StrCat("the status page failed: ", html.status().message(), "\n")};
      }
      return monitoring::HttpResponse{200, "text/html; charset=utf-8", *std::move(html)};
    };
  }
  return pages;
}

}  // namespace

absl::Status RunRole(const config::HaloConfig& config, const ShutdownSignal& shutdown,
                     const std::string& replay_seed) {
  auto factory = Factories().find(config.role());
  if (factory == Factories().end()) {
    return absl::InvalidArgumentError(absl::StrCat("no runner for role ", RoleName(config.role())));
  }
  std::optional<monitoring::ListenAddress> monitoring_address;
  if (config.has_monitoring()) {
    ASSIGN_OR_RETURN(monitoring_address,
                     monitoring::ParseListenAddress(config.monitoring().http_address(), "monitoring.http_address"));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<DataDirectory> data_dir, DataDirectory::Acquire(config.data_dir()));
  // Nothing is counted where nothing would serve it: interceptors and
  // timers cost on every call.
  std::shared_ptr<monitoring::Registry> metrics =
      monitoring_address ? std::make_shared<monitoring::Registry>() : nullptr;
  ASSIGN_OR_RETURN(StartedService started, factory->second(config, {metrics, data_dir->path(), replay_seed}));
  std::unique_ptr<monitoring::HttpListener> listener;
  if (monitoring_address) {
    auto listening = monitoring::HttpListener::Start(*monitoring_address, MonitoringPages(started, *metrics));
    if (!listening.ok()) {
      started.service->Shutdown();
      return absl::Status(listening.status().code(),
                          absl::StrCat("monitoring.http_address: ", listening.status().message()));
    }
    listener = *std::move(listening);
    spdlog::info("{} monitoring on http://{}:{}/ (/metrics, /healthz)", started.name,
                 monitoring_address->ipv6 ? absl::StrCat("[", monitoring_address->host, "]") : monitoring_address->host,
                 listener->port());
  }
  spdlog::info("{}", started.started);
  if (started.kingdom != nullptr) {
    net::WatchPeerUntilShutdown(*started.kingdom, started.kingdom_name, absl::Seconds(10), shutdown);
  } else {
    shutdown.Wait();
  }
  spdlog::info("{} shutting down", started.name);
  listener.reset();
  started.service->Shutdown();
  spdlog::info("{} stopped", started.name);
  return absl::OkStatus();
}

}  // namespace halo
