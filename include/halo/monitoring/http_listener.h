// The monitoring listener: a plain-HTTP server of a few read-only pages
// (/metrics, /healthz, the status page), on libmicrohttpd's own thread.
// Only GET and HEAD are served; a handler runs for each request, so a page
// shows the role as it is when asked.
#ifndef HALO_MONITORING_HTTP_LISTENER_H_
#define HALO_MONITORING_HTTP_LISTENER_H_

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace halo::monitoring {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse()>;

// Where to listen: "HOST:PORT", HOST an IPv4 address, a bracketed IPv6 one
// or "localhost"; a bare "PORT" or ":PORT" is loopback (127.0.0.1). Port 0
// picks a free one. `setting` names the field in errors.
struct ListenAddress {
  std::string host;  // numeric
  int port = 0;
  bool ipv6 = false;
};
absl::StatusOr<ListenAddress> ParseListenAddress(const std::string& address, const std::string& setting);

class HttpListener {
 public:
  // `routes` by exact path ("/metrics"); any other path is 404.
  static absl::StatusOr<std::unique_ptr<HttpListener>> Start(const ListenAddress& address,
                                                             std::map<std::string, HttpHandler> routes);
  ~HttpListener();  // stops listening, after the requests in progress
  HttpListener(const HttpListener&) = delete;
  HttpListener& operator=(const HttpListener&) = delete;

  int port() const { return port_; }

 private:
  HttpListener() = default;
  struct Daemon;
  std::map<std::string, HttpHandler> routes_;
  Daemon* daemon_ = nullptr;
  int port_ = 0;
};

}  // namespace halo::monitoring

#endif  // HALO_MONITORING_HTTP_LISTENER_H_
