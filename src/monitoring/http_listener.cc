#include "halo/monitoring/http_listener.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <spdlog/spdlog.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/match.h"

namespace halo::monitoring {
namespace {

void LogFromMicrohttpd(void*, const char* format, va_list args) {
  char line[512];
  std::vsnprintf(line, sizeof line, format, args);
  std::string text(line);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  spdlog::warn("monitoring listener: {}", text);
}

MHD_Result Queue(MHD_Connection* connection, const HttpResponse& reply) {
  MHD_Response* response =
      MHD_create_response_from_buffer(reply.body.size(), const_cast<char*>(reply.body.data()), MHD_RESPMEM_MUST_COPY);
  if (response == nullptr) return MHD_NO;
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, reply.content_type.c_str());
  MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
  // The status page may draw nothing from elsewhere (VMs may have no
  // internet, and a page that loads nothing cannot leak what it shows).
  MHD_add_response_header(response, "Content-Security-Policy",
                          "default-src 'none'; style-src 'unsafe-inline'; img-src data:");
  if (reply.status == MHD_HTTP_METHOD_NOT_ALLOWED) MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
  const MHD_Result queued = MHD_queue_response(connection, reply.status, response);
  MHD_destroy_response(response);
  return queued;
}

}  // namespace

struct HttpListener::Daemon {
  MHD_Daemon* mhd = nullptr;
};

absl::StatusOr<ListenAddress> ParseListenAddress(const std::string& address, const std::string& setting) {
  const auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat(setting, ": \"", address, "\" ", why));
  };
  ListenAddress parsed;
  std::string host, port;
  if (absl::StartsWith(address, "[")) {
    const size_t close = address.find(']');
    if (close == std::string::npos || close + 1 >= address.size() || address[close + 1] != ':') {
      return bad("is not [IPv6]:PORT");
    }
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
    parsed.ipv6 = true;
  } else if (const size_t colon = address.rfind(':'); colon != std::string::npos) {
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  } else {
    port = address;
  }
  if (host.empty() || host == "localhost") host = parsed.ipv6 ? "::1" : "127.0.0.1";
  unsigned char buffer[sizeof(in6_addr)];
  if (inet_pton(parsed.ipv6 ? AF_INET6 : AF_INET, host.c_str(), buffer) != 1) {
    return bad(parsed.ipv6 ? "has no IPv6 address in brackets" : "is not HOST:PORT with an IPv4 address or localhost");
  }
  if (!absl::SimpleAtoi(port, &parsed.port) || parsed.port < 0 || parsed.port > 65535) {
    return bad("has no port (0-65535)");
  }
  parsed.host = host;
  return parsed;
}

absl::StatusOr<std::unique_ptr<HttpListener>> HttpListener::Start(const ListenAddress& address,
                                                                  std::map<std::string, HttpHandler> routes) {
  std::unique_ptr<HttpListener> listener(new HttpListener);
  listener->routes_ = std::move(routes);
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  const sockaddr* bind_to;
  if (address.ipv6) {
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET6, address.host.c_str(), &v6.sin6_addr);
    bind_to = reinterpret_cast<const sockaddr*>(&v6);
  } else {
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(address.port));
    inet_pton(AF_INET, address.host.c_str(), &v4.sin_addr);
    bind_to = reinterpret_cast<const sockaddr*>(&v4);
  }
  const auto handle = [](void* cls, MHD_Connection* connection, const char* url, const char* method, const char*,
                         const char*, size_t*, void**) -> MHD_Result {
    const auto& routes = static_cast<HttpListener*>(cls)->routes_;
    const bool head = std::strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (!head && std::strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
      return Queue(connection, {MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8", "only GET and HEAD\n"});
    }
    const auto route = routes.find(url);
    if (route == routes.end()) {
      return Queue(connection, {MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8", "no such page\n"});
    }
    return Queue(connection, route->second());
  };
  const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                         (address.ipv6 ? MHD_USE_IPv6 : 0);
  MHD_Daemon* mhd = MHD_start_daemon(
      flags, 0, nullptr, nullptr, handle, listener.get(), MHD_OPTION_EXTERNAL_LOGGER, &LogFromMicrohttpd, nullptr,
      MHD_OPTION_SOCK_ADDR, bind_to,
      // A scraper and an operator's browser or two; nobody else belongs here.
      MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_PER_IP_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u,
      MHD_OPTION_END);
  if (mhd == nullptr) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", address.ipv6 ? "[" : "", address.host,
                                               address.ipv6 ? "]" : "", ":", address.port,
                                               " (in use, or not an address of this host)"));
  }
  listener->daemon_ = new Daemon{mhd};
  const MHD_DaemonInfo* info = MHD_get_daemon_info(mhd, MHD_DAEMON_INFO_BIND_PORT);
  listener->port_ = info != nullptr ? info->port : address.port;
  return listener;
}

HttpListener::~HttpListener() {
  if (daemon_ != nullptr) MHD_stop_daemon(daemon_->mhd);
  delete daemon_;
}

}  // namespace halo::monitoring
