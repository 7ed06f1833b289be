// A plain HTTP/1.0 request to a listener on loopback, for tests of the
// monitoring pages.
#ifndef HALO_TESTS_TESTING_HTTP_GET_H_
#define HALO_TESTS_TESTING_HTTP_GET_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace halo::testing {

struct HttpReply {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
};

absl::StatusOr<HttpReply> HttpGet(int port, const std::string& path, const std::string& method = "GET");

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_HTTP_GET_H_
