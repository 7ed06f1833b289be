// `halo --role=kingdom` as a child process on fresh loopback ports, for the
// tests and benchmarks that need the Kingdom in another process: it writes
// the role's config and certificate, and signs as the parties that call it.
#ifndef HALO_TESTS_TESTING_KINGDOM_PROCESS_H_
#define HALO_TESTS_TESTING_KINGDOM_PROCESS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "halo/api/v1/public.pb.h"
#include "halo/api/v1/resources.pb.h"
#include "halo/config/config.pb.h"
#include "testing/subprocess.h"
#include "testing/temp_dir.h"
#include "testing/tls_fixture.h"

namespace halo::testing {

class KingdomProcess {
 public:
  // The Kingdom of `fixture`'s CA with duchies worker1, worker2 and
  // aggregator and administrator "admins/operator" (administrator()), its
  // data under `dir`; its ledger on PostgreSQL when `postgres_conninfo_file`
  // is set.
  KingdomProcess(const std::string& halo_binary, const TempDir& dir, const TlsFixture& fixture,
                 const std::string& postgres_conninfo_file = "");
  // Another replica of the same Kingdom (same administrator, certificate and
  // PostgreSQL database), named `name`, on ports and a data directory of
  // its own.
  std::unique_ptr<KingdomProcess> Replica(const std::string& name) const;
  const config::TlsConfig& administrator() const { return administrator_; }

  // Starts the process (again, after a kill) and waits until it serves;
  // false if it did not within 20 s.
  bool Start();
  ChildProcess& process() { return *process_; }
  std::string public_target() const { return "localhost:" + std::to_string(public_port_); }
  std::string system_target() const { return "localhost:" + std::to_string(system_port_); }

 private:
  KingdomProcess() = default;
  void WriteConfig(const std::string& name);

  std::string halo_binary_;
  std::string dir_;
  config::TlsConfig tls_;
  config::TlsConfig administrator_;
  std::string postgres_conninfo_file_;
  std::string config_path_;
  int public_port_ = 0;
  int system_port_ = 0;
  std::unique_ptr<ChildProcess> process_;
};

// Measurement consumer mc1, registered with one data provider, edp1: it
// asks for direct reach measurements over edp1.
class DirectMeasurementConsumer {
 public:
  // Registers measurementConsumers/mc1 and dataProviders/edp1 (the parties
  // of `mc` and `edp`, with signing certificates `fixture` issues) at the
  // Kingdom at `target`, as administrator `admin`.
  static absl::StatusOr<DirectMeasurementConsumer> Register(const std::string& target, const TlsFixture& fixture,
                                                            const config::TlsConfig& admin,
                                                            const config::TlsConfig& mc,
                                                            const config::TlsConfig& edp);

  // A reach measurement over edp1 with requisition nonce `nonce`, its spec
  // signed as mc1.
  api::v1::CreateMeasurementRequest ReachRequest(uint64_t nonce, const std::string& request_id,
                                                 std::string encrypted_requisition_spec) const;

 private:
  DirectMeasurementConsumer(crypto::SigningKey key, std::string certificate, std::string measurement_public_key)
      : key_(std::move(key)), certificate_(std::move(certificate)),
        measurement_public_key_(std::move(measurement_public_key)) {}
  crypto::SigningKey key_;
  std::string certificate_;  // mc1's registered signing certificate
  std::string measurement_public_key_;
};

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_KINGDOM_PROCESS_H_
