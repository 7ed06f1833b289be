#include "halo/net/server.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "halo/net/peer.h"
#include "halo/net/tls.h"
#include "testing/temp_dir.h"
#include "testing/tls_fixture.h"

namespace halo::net {
namespace {

struct LoopbackServer {
  testing::TempDir dir;
  testing::TlsFixture ca{dir, "main"};
  TlsMaterial server_tls = *LoadTlsMaterial(ca.Issue("kingdom"));
  std::unique_ptr<Server> server = *Server::Start({"127.0.0.1:0"}, server_tls, {});
  std::string target() const { return absl::StrCat("127.0.0.1:", server->ports()[0]); }
};

TEST_CASE("A client with a certificate from the trusted CA gets SERVING over mTLS") {
  LoopbackServer s;
  auto client_tls = LoadTlsMaterial(s.ca.Issue("dataProviders/edp1"));
  REQUIRE(client_tls.ok());
  CHECK(client_tls->identity == "dataProviders/edp1");
  auto channel = OpenChannel(s.target(), *client_tls, kKingdomSubject);
  CHECK(CheckHealth(*channel, absl::Seconds(5)).ok());
}

TEST_CASE("A party started before its peer reaches the peer within seconds of the peer starting") {
  testing::TempDir dir;
  testing::TlsFixture ca{dir, "main"};
  const TlsMaterial server_tls = *LoadTlsMaterial(ca.Issue("kingdom"));
  const TlsMaterial client_tls = *LoadTlsMaterial(ca.Issue("dataProviders/edp1"));
  // A port nothing listens on yet: the first attempts are refused, as when
  // systemd starts an agent before the Kingdom.
  std::unique_ptr<Server> probe = *Server::Start({"127.0.0.1:0"}, server_tls, {});
  const int port = probe->ports()[0];
  probe->Shutdown(absl::ZeroDuration());
  probe.reset();
  // By name, as configs give it: localhost resolves to more than one address.
  auto channel = OpenChannel(absl::StrCat("localhost:", port), client_tls, kKingdomSubject);
  for (int i = 0; i < 3; ++i) {
    CHECK_FALSE(CheckHealth(*channel, absl::Milliseconds(300)).ok());
    absl::SleepFor(absl::Milliseconds(300));
  }
  auto server = Server::Start({absl::StrCat("127.0.0.1:", port)}, server_tls, {});
  REQUIRE(server.ok());
  absl::Status reached = absl::UnavailableError("not tried");
  const absl::Time until = absl::Now() + absl::Seconds(15);
  while (!reached.ok() && absl::Now() < until) {
    reached = CheckHealth(*channel, absl::Seconds(1));
    if (!reached.ok()) absl::SleepFor(absl::Milliseconds(200));
  }
  INFO(reached.message());
  CHECK(reached.ok());
}

TEST_CASE("A client refuses a server whose certificate is for another subject, though its root is trusted") {
  LoopbackServer s;
  auto client_tls = *LoadTlsMaterial(s.ca.Issue("duchies/worker1"));
  // The server's certificate, from a trusted root and for this host, is the
  // Kingdom's: a caller that expects duchy worker2 must not talk to it.
  auto impostor = OpenChannel(s.target(), client_tls, DuchySubject("worker2"));
  const absl::Status refused = CheckHealth(*impostor, absl::Seconds(3));
  CHECK_FALSE(refused.ok());
  CHECK_THAT(std::string(refused.message()), Catch::Contains("duchies/worker2") || Catch::Contains("handshake") ||
                                                 Catch::Contains("Handshake"));
  CHECK(CheckHealth(*OpenChannel(s.target(), client_tls, kKingdomSubject), absl::Seconds(5)).ok());
}

TEST_CASE("A client refuses a server whose certificate does not name the host it dialled") {
  LoopbackServer s;
  auto client_tls = *LoadTlsMaterial(s.ca.Issue("duchies/worker1"));
  // The fixture's certificates name localhost and 127.0.0.1; dial as if
  // the server were elsewhere.example.
  grpc::ChannelArguments arguments;
  arguments.SetSslTargetNameOverride("elsewhere.example");
  auto elsewhere = grpc::CreateCustomChannel(s.target(), ChannelCredentials(client_tls, kKingdomSubject), arguments);
  CHECK_FALSE(CheckHealth(*elsewhere, absl::Seconds(3)).ok());
  grpc::ChannelArguments local;
  local.SetSslTargetNameOverride("localhost");
  auto here = grpc::CreateCustomChannel(s.target(), ChannelCredentials(client_tls, kKingdomSubject), local);
  CHECK(CheckHealth(*here, absl::Seconds(5)).ok());
}

TEST_CASE("A client whose certificate comes from another CA is refused") {
  LoopbackServer s;
  testing::TlsFixture other(s.dir, "other");
  TlsMaterial client_tls = *LoadTlsMaterial(other.Issue("dataProviders/intruder"));
  // Trust the server's CA so only the client side of the handshake is wrong.
  client_tls.trusted_ca_pem = s.server_tls.trusted_ca_pem;
  auto channel = OpenChannel(s.target(), client_tls, kKingdomSubject);
  CHECK_FALSE(CheckHealth(*channel, absl::Seconds(3)).ok());
}

TEST_CASE("A client without a certificate is refused") {
  LoopbackServer s;
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = s.server_tls.trusted_ca_pem;
  auto channel = grpc::CreateChannel(s.target(), grpc::SslCredentials(options));
  CHECK_FALSE(CheckHealth(*channel, absl::Seconds(3)).ok());
}

TEST_CASE("A plaintext client is refused") {
  LoopbackServer s;
  auto channel = grpc::CreateChannel(s.target(), grpc::InsecureChannelCredentials());
  CHECK_FALSE(CheckHealth(*channel, absl::Seconds(3)).ok());
}

TEST_CASE("A busy port is reported with its address") {
  LoopbackServer s;
  auto second = Server::Start({s.target()}, s.server_tls, {});
  REQUIRE_FALSE(second.ok());
  CHECK_THAT(std::string(second.status().message()), Catch::Contains(s.target()));
}

TEST_CASE("Bad TLS material is refused at load time, naming the file") {
  testing::TempDir dir;
  testing::TlsFixture ca(dir, "main");
  testing::TlsFixture other(dir, "other");
  config::TlsConfig good = ca.Issue("duchies/worker1");

  config::TlsConfig missing = good;
  missing.set_private_key_file(dir.Sub("nope.key"));
  CHECK_THAT(std::string(LoadTlsMaterial(missing).status().message()), Catch::Contains("nope.key"));

  // A key others could have read is not a secret any more.
  config::TlsConfig readable = ca.Issue("duchies/worker3");
  REQUIRE(chmod(readable.private_key_file().c_str(), 0644) == 0);
  auto exposed = LoadTlsMaterial(readable);
  CHECK(exposed.status().code() == absl::StatusCode::kPermissionDenied);
  CHECK_THAT(std::string(exposed.status().message()), Catch::Contains(readable.private_key_file()));

  config::TlsConfig mismatched = good;
  mismatched.set_private_key_file(ca.Issue("duchies/worker2").private_key_file());
  CHECK_THAT(std::string(LoadTlsMaterial(mismatched).status().message()),
             Catch::Contains("does not match certificate"));

  config::TlsConfig wrong_ca = good;
  wrong_ca.set_trusted_ca_file(other.ca_file());
  CHECK_THAT(std::string(LoadTlsMaterial(wrong_ca).status().message()),
             Catch::Contains("is not valid under CA"));

  config::TlsConfig garbage = good;
  garbage.set_certificate_file(good.trusted_ca_file() + ".missing");
  CHECK_FALSE(LoadTlsMaterial(garbage).ok());
}

}  // namespace
}  // namespace halo::net
