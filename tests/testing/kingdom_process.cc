#include "testing/kingdom_process.h"

#include <fstream>

namespace halo::testing {

KingdomProcess::KingdomProcess(const std::string& halo_binary, const TempDir& dir, const TlsFixture& fixture)
    : halo_binary_(halo_binary), config_path_(dir.Sub("kingdom.textproto")), public_port_(FreeLoopbackPort()) {
  const config::TlsConfig tls = fixture.Issue("kingdom");
  std::ofstream(config_path_) << "role: KINGDOM\ndata_dir: \"" << dir.Sub("kingdom-data") << "\"\nkingdom {\n"
                              << "  public_api_address: \"127.0.0.1:" << public_port_ << "\"\n"
                              << "  system_api_address: \"127.0.0.1:" << FreeLoopbackPort() << "\"\n"
                              << "  tls { certificate_file: \"" << tls.certificate_file() << "\" private_key_file: \""
                              << tls.private_key_file() << "\" trusted_ca_file: \"" << tls.trusted_ca_file()
                              << "\" }\n  administrators: \"admins/operator\"\n"
                              << "  protocols { duchies: \"worker1\" duchies: \"worker2\" duchies: \"aggregator\" "
                                 "aggregator: \"aggregator\" }\n}\n";
}

bool KingdomProcess::Start() {
  process_ = std::make_unique<ChildProcess>(std::vector<std::string>{halo_binary_, "--config", config_path_});
  return process_->WaitForStderr("serving", absl::Seconds(20));
}

api::v1::SignedMessage SignAs(const config::TlsConfig& tls, const std::string& data, const std::string& certificate) {
  api::v1::SignedMessage m;
  m.set_data(data);
  m.set_signature(SigningKeyOf(tls).Sign(data));
  m.set_certificate(certificate);
  return m;
}

}  // namespace halo::testing
