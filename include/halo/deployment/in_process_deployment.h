// A whole deployment in one process on loopback, with real mTLS, real stores
// and real servers: a CA, the Kingdom, the duchies, EDP agents on given
// event files, and MC clients, every party registered. For `halo demo`,
// end-to-end tests and benchmarks. A duchy can be stopped and started again
// on its ports and data, as if its process had died.
#ifndef HALO_DEPLOYMENT_IN_PROCESS_DEPLOYMENT_H_
#define HALO_DEPLOYMENT_IN_PROCESS_DEPLOYMENT_H_

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/api/content_signer.h"
#include "halo/config/config.pb.h"
#include "halo/crypto/certificate.h"
#include "halo/mc/measurement_consumer_client.h"
#include "halo/net/tls.h"

namespace halo::deployment {

struct DeploymentEdp {
  std::string id;  // dataProviders/{id}
  bool supports_hmss = true;
  // Without an agent the EDP is registered but answers nothing: a test
  // plays it.
  bool run_agent = true;
  std::string events_dir;
  // Each shared with the MC it names.
  std::vector<config::EventGroupConfig> event_groups;
  // Its agent's limits and privacy budget.
  config::PrivacyGuardConfig privacy;
};

// A party of Panel Exchange and its daemon's directories.
struct DeploymentExchangeParty {
  std::string party;  // dataProviders/{id} or modelProviders/{id}
  std::string input_dir;
  std::string output_dir;
  // Whether its daemon holds the deployment's CA, so that
  // generate_certificate steps can mint certificates.
  bool certificate_authority = true;
  // The workflows it agrees to run (exchange_daemon.accepted_workflow_sha256);
  // none means the mini and full examples.
  std::vector<std::string> accepted_workflow_sha256;
};

enum class DeploymentDatabase {
  kSqlite,  // a file in each party's data directory
  // A database for the Kingdom and one for each duchy on a private
  // PostgreSQL server (storage::LocalPostgresServer) that the deployment
  // starts and, once everything else has stopped, stops.
  kPostgresql,
};

struct InProcessDeploymentOptions {
  std::string dir;  // every party's data goes under it
  DeploymentDatabase database = DeploymentDatabase::kSqlite;
  // Duchy ids and aggregator are taken from protocols.
  config::MeasurementProtocols protocols;
  std::vector<DeploymentEdp> edps;
  std::vector<std::string> measurement_consumers = {"mc1"};
  // Each gets an exchange daemon; both share `shared_storage_dir`.
  std::vector<DeploymentExchangeParty> exchange_parties;
  std::string shared_storage_dir;
  // The Kingdom's exchange settings (0: its defaults).
  int exchange_step_lease_seconds = 0;
  int exchange_step_max_attempts = 0;
  int duchy_parallelism = 2;
  int duchy_mills = 2;
  // Mills of each duchy that run as they would in their own processes
  // (DuchyMill, over the herald's mill service with certificates
  // `duchies/{id}/mills/mill-{i}` from the duchy's root). With duchy_mills
  // 0, each duchy is a herald and these are all its mills.
  int duchy_remote_mills = 0;
  config::DuchyConfig::BlobStoreKind duchy_blob_store = config::DuchyConfig::ROCKSDB;
  // When set, every party draws its DP noise (and the Kingdom its sketch
  // seeds) from seeds derived from this one and each measurement's spec, so
  // that the same measurements give the same results on every run: what
  // tests and the demo need to assert on statistics without failing by
  // chance. Unset: the operating system's randomness, as in production.
  std::optional<uint64_t> replay_seed;
};

class InProcessDeployment {
 public:
  // Starts everything and waits until every agent has registered its event
  // groups.
  static absl::StatusOr<std::unique_ptr<InProcessDeployment>> Start(InProcessDeploymentOptions options);
  ~InProcessDeployment();

  mc::McClient& mc(const std::string& id = "mc1");
  // The TLS identity of a party, e.g. "dataProviders/edp1".
  const net::TlsMaterial& tls(const std::string& subject) const;
  // Its content-signing identity (not the Kingdom's or the administrator's).
  const api::ContentSigner& signer(const std::string& subject) const;
  // The root of that party's organisation, which issued its certificate.
  const crypto::CertificateAuthority& root(const std::string& subject) const;
  int kingdom_public_port() const;
  int kingdom_system_port() const;
  int computation_control_port(const std::string& duchy) const;
  int requisition_fulfillment_port(const std::string& duchy) const;

  // Stops the Kingdom; the other parties' calls to it fail meanwhile.
  void StopKingdom();
  // Starts it again on its ports and database.
  absl::Status StartKingdom();
  // Stops duchy `id` where it stands, abandoning a stage in progress.
  void StopDuchy(const std::string& id);
  // Starts it again on its ports and data directory.
  absl::Status StartDuchy(const std::string& id);
  // The same for the exchange daemon of `party`.
  void StopExchangeDaemon(const std::string& party);
  absl::Status StartExchangeDaemon(const std::string& party);

  struct State;

 private:
  explicit InProcessDeployment(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace halo::deployment

#endif  // HALO_DEPLOYMENT_IN_PROCESS_DEPLOYMENT_H_
