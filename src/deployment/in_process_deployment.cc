#include "halo/deployment/in_process_deployment.h"

#include <algorithm>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "halo/storage/local_postgres_server.h"
#include "halo/api/envelopes.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/certificate.h"
#include "halo/crypto/sha256.h"
#include "halo/duchy/duchy_daemon.h"
#include "halo/duchy/duchy_mill.h"
#include "halo/edp/edp_agent.h"
#include "halo/exchange/example_workflows.h"
#include "halo/exchange/exchange_daemon.h"
#include "halo/exchange/workflow.h"
#include "halo/kingdom/kingdom_server.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"

namespace halo::deployment {
namespace {

constexpr char kAdministrator[] = "admins/operator";

// The 32-byte seed the parties derive their replayable randomness from.
std::string ReplaySeedOf(const InProcessDeploymentOptions& options) {
  if (!options.replay_seed.has_value()) return "";
  return crypto::Sha256(absl::StrCat("halo in-process replay seed ", *options.replay_seed));
}

absl::StatusOr<net::TlsMaterial> Issue(const crypto::CertificateAuthority& root, const std::string& subject,
                                       const std::string& trusted_roots_pem) {
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::CertificateRequest request;
  request.subject_name = subject;
  request.dns_names = {"localhost"};
  request.ip_addresses = {"127.0.0.1"};
  ASSIGN_OR_RETURN(crypto::Certificate certificate, root.Issue(request, key.verifying_key()));
  return net::TlsMaterial{certificate.ToPem(), key.ToPrivateKeyPem(), trusted_roots_pem, subject};
}

absl::StatusOr<api::ContentSigner> IssueSigner(const crypto::CertificateAuthority& root, const std::string& subject) {
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::CertificateRequest request;
  request.subject_name = subject;
  request.use = crypto::CertificateUse::kContentSigning;
  ASSIGN_OR_RETURN(crypto::Certificate certificate, root.Issue(request, key.verifying_key()));
  return api::ContentSignerFromPem(certificate.ToPem(), key.ToPrivateKeyPem(), subject, "signing");
}

std::string Localhost(int port) { return absl::StrCat("localhost:", port); }

}  // namespace

struct InProcessDeployment::State {
  InProcessDeploymentOptions options;
  // First, so that it stops after every party that uses it.
  std::unique_ptr<storage::LocalPostgresServer> postgres;
  // The database config of the Kingdom ("kingdom") and of each duchy.
  absl::StatusOr<config::DatabaseConfig> DatabaseOf(const std::string& party);
  std::map<std::string, net::TlsMaterial> tls;
  std::map<std::string, api::ContentSigner> signers;
  // Every party is its own organisation with its own root, as in a real
  // deployment; exchange parties issue their exchange certificates from it.
  std::map<std::string, crypto::CertificateAuthority> roots;
  std::map<std::string, crypto::EncryptionKeyPair> edp_keys;
  std::unique_ptr<kingdom::KingdomServer> kingdom;
  // What the Kingdom was started with, its ports included, to start it again.
  kingdom::KingdomServerOptions kingdom_options;
  std::map<std::string, std::unique_ptr<duchy::DuchyDaemon>> duchies;
  std::map<std::string, std::pair<int, int>> duchy_ports;  // control, fulfillment
  std::map<std::string, int> mill_service_ports;
  std::map<std::string, std::vector<std::unique_ptr<duchy::DuchyMill>>> remote_mills;
  std::vector<std::unique_ptr<edp::EdpAgent>> agents;
  std::map<std::string, std::unique_ptr<mc::McClient>> mcs;
  std::map<std::string, std::unique_ptr<exchange::ExchangeDaemon>> exchange_daemons;

  std::vector<std::string> DuchyIds() const {
    return {options.protocols.duchies().begin(), options.protocols.duchies().end()};
  }
  absl::Status Register();
  absl::Status StartDuchy(const std::string& id);
  absl::Status StartExchangeDaemon(const DeploymentExchangeParty& party);
};

absl::Status InProcessDeployment::State::Register() {
  auto admin = api::v1::Admin::NewStub(net::OpenChannel(Localhost(kingdom->public_port()), tls.at(kAdministrator), net::kKingdomSubject));
  auto der_of = [&](const std::string& subject) -> absl::StatusOr<std::string> {
    ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromPem(tls.at(subject).certificate_pem));
    return certificate.ToDer();
  };
  // Every data provider signs its encryption key with its signing
  // certificate, which the Kingdom registers with it.
  auto register_data_provider = [&](const std::string& id, bool supports_hmss) -> absl::Status {
    const std::string subject = absl::StrCat("dataProviders/", id);
    api::v1::CreateDataProviderRequest request;
    request.set_data_provider_id(id);
    ASSIGN_OR_RETURN(*request.mutable_data_provider()->mutable_certificate_der(), der_of(subject));
    request.mutable_data_provider()->set_signing_certificate_der(signers.at(subject).certificate.ToDer());
    request.mutable_data_provider()->set_root_certificate_der(roots.at(subject).certificate().ToDer());
    request.mutable_data_provider()->set_supports_hmss(supports_hmss);
    const api::ContentSigner& signer = signers.at(subject);
    *request.mutable_data_provider()->mutable_public_key() =
        api::Sign(api::ToEncryptionPublicKey(edp_keys.at(id).public_key), signer.key, signer.name);
    return net::Call(*admin, &api::v1::Admin::Stub::CreateDataProvider, request, absl::StrCat("CreateDataProvider ", id))
        .status();
  };
  for (const DeploymentEdp& edp : options.edps) RETURN_IF_ERROR(register_data_provider(edp.id, edp.supports_hmss));
  for (const DeploymentExchangeParty& party : options.exchange_parties) {
    const std::string id = party.party.substr(party.party.find('/') + 1);
    if (party.party.rfind("modelProviders/", 0) == 0) {
      api::v1::CreateModelProviderRequest request;
      request.set_model_provider_id(id);
      ASSIGN_OR_RETURN(*request.mutable_model_provider()->mutable_certificate_der(), der_of(party.party));
      request.mutable_model_provider()->set_signing_certificate_der(signers.at(party.party).certificate.ToDer());
      request.mutable_model_provider()->set_root_certificate_der(roots.at(party.party).certificate().ToDer());
      RETURN_IF_ERROR(net::Call(*admin, &api::v1::Admin::Stub::CreateModelProvider, request,
                                absl::StrCat("CreateModelProvider ", id))
                          .status());
    } else if (std::none_of(options.edps.begin(), options.edps.end(),
                            [&](const DeploymentEdp& edp) { return edp.id == id; })) {
      // A data provider only in exchanges: its encryption key goes unused.
      RETURN_IF_ERROR(register_data_provider(id, false));
    }
  }
  for (const std::string& id : options.measurement_consumers) {
    api::v1::CreateMeasurementConsumerRequest request;
    request.set_measurement_consumer_id(id);
    const std::string subject = absl::StrCat("measurementConsumers/", id);
    ASSIGN_OR_RETURN(*request.mutable_measurement_consumer()->mutable_certificate_der(), der_of(subject));
    request.mutable_measurement_consumer()->set_signing_certificate_der(signers.at(subject).certificate.ToDer());
    request.mutable_measurement_consumer()->set_root_certificate_der(roots.at(subject).certificate().ToDer());
    RETURN_IF_ERROR(net::Call(*admin, &api::v1::Admin::Stub::CreateMeasurementConsumer, request,
                              absl::StrCat("CreateMeasurementConsumer ", id))
                        .status());
  }
  for (const std::string& id : DuchyIds()) {
    api::v1::CreateDuchyRequest request;
    request.set_duchy_id(id);
    const std::string subject = absl::StrCat("duchies/", id);
    ASSIGN_OR_RETURN(*request.mutable_duchy()->mutable_certificate_der(), der_of(subject));
    request.mutable_duchy()->set_signing_certificate_der(signers.at(subject).certificate.ToDer());
    request.mutable_duchy()->set_root_certificate_der(roots.at(subject).certificate().ToDer());
    RETURN_IF_ERROR(
        net::Call(*admin, &api::v1::Admin::Stub::CreateDuchy, request, absl::StrCat("CreateDuchy ", id)).status());
  }
  return absl::OkStatus();
}

absl::StatusOr<config::DatabaseConfig> InProcessDeployment::State::DatabaseOf(const std::string& party) {
  config::DatabaseConfig database;
  if (options.database == DeploymentDatabase::kSqlite) {
    database.mutable_sqlite();
    return database;
  }
  const std::string name = absl::StrReplaceAll(party, {{"-", "_"}});
  const std::string file = absl::StrCat(options.dir, "/", name, ".conninfo");
  // A party started again keeps its database.
  if (std::filesystem::exists(file)) {
    database.mutable_postgresql()->set_conninfo_file(file);
    return database;
  }
  if (postgres == nullptr) {
    ASSIGN_OR_RETURN(postgres, storage::LocalPostgresServer::Start());
  }
  return postgres->NewDatabase(name, file);
}

absl::Status InProcessDeployment::State::StartDuchy(const std::string& id) {
  duchy::DuchyOptions duchy;
  duchy.config.set_duchy_id(id);
  duchy.config.set_kingdom_system_api_target(Localhost(kingdom->system_port()));
  auto ports = duchy_ports.find(id);
  duchy.config.set_computation_control_address(
      absl::StrCat("127.0.0.1:", ports == duchy_ports.end() ? 0 : ports->second.first));
  duchy.config.set_requisition_fulfillment_address(
      absl::StrCat("127.0.0.1:", ports == duchy_ports.end() ? 0 : ports->second.second));
  duchy.config.set_mill_parallelism(options.duchy_parallelism);
  duchy.config.set_blob_store(options.duchy_blob_store);
  duchy.mills = options.duchy_mills;
  if (options.duchy_remote_mills > 0) {
    auto port = mill_service_ports.find(id);
    duchy.config.set_mill_service_address(absl::StrCat("127.0.0.1:", port == mill_service_ports.end() ? 0 : port->second));
  }
  duchy.data_dir = absl::StrCat(options.dir, "/duchy-", id);
  ASSIGN_OR_RETURN(*duchy.config.mutable_database(), DatabaseOf(absl::StrCat("duchy_", id)));
  duchy.tls = tls.at(absl::StrCat("duchies/", id));
  duchy.signer = signers.at(absl::StrCat("duchies/", id));
  duchy.replay_seed = ReplaySeedOf(options);
  ASSIGN_OR_RETURN(duchies[id], duchy::DuchyDaemon::Start(duchy));
  duchy_ports[id] = {duchies[id]->computation_control_port(), duchies[id]->requisition_fulfillment_port()};
  if (options.duchy_remote_mills > 0 && remote_mills[id].empty()) {
    mill_service_ports[id] = duchies[id]->mill_service_port();
    for (int i = 0; i < options.duchy_remote_mills; ++i) {
      duchy::DuchyMillOptions mill;
      mill.config.set_duchy_id(id);
      mill.config.set_herald_target(Localhost(mill_service_ports[id]));
      mill.config.set_parallelism(options.duchy_parallelism);
      ASSIGN_OR_RETURN(mill.tls, Issue(roots.at(absl::StrCat("duchies/", id)),
                                       absl::StrCat("duchies/", id, "/mills/mill-", i),
                                       tls.at(absl::StrCat("duchies/", id)).trusted_ca_pem));
      mill.replay_seed = ReplaySeedOf(options);
      ASSIGN_OR_RETURN(std::unique_ptr<duchy::DuchyMill> started, duchy::DuchyMill::Start(mill));
      remote_mills[id].push_back(std::move(started));
    }
  }
  for (auto& [a, daemon] : duchies) {
    if (daemon == nullptr) continue;
    for (const auto& [b, p] : duchy_ports) daemon->SetPeerTarget(b, Localhost(p.first));
  }
  return absl::OkStatus();
}

absl::Status InProcessDeployment::State::StartExchangeDaemon(const DeploymentExchangeParty& party) {
  exchange::ExchangeDaemonOptions daemon;
  daemon.config.set_party(party.party);
  daemon.config.set_kingdom_public_api_target(Localhost(kingdom->public_port()));
  daemon.config.set_input_dir(party.input_dir);
  daemon.config.set_output_dir(party.output_dir);
  daemon.config.set_shared_storage_dir(options.shared_storage_dir);
  daemon.config.set_poll_interval_ms(100);
  daemon.config.set_parallelism(options.duchy_parallelism);
  for (const std::string& hash : party.accepted_workflow_sha256) daemon.config.add_accepted_workflow_sha256(hash);
  if (party.accepted_workflow_sha256.empty()) {
    for (const auto& workflow : {exchange::MiniExchangeWorkflow(), exchange::FullExchangeWorkflow()}) {
      daemon.config.add_accepted_workflow_sha256(exchange::WorkflowSha256(workflow));
    }
  }
  daemon.data_dir = absl::StrCat(options.dir, "/exchange-", party.party.substr(party.party.find('/') + 1));
  daemon.tls = tls.at(party.party);
  daemon.signer = signers.at(party.party);
  if (party.certificate_authority) {
    daemon.certificate_authority_pem = roots.at(party.party).certificate().ToPem();
    daemon.certificate_authority_key_pem = roots.at(party.party).key().ToPrivateKeyPem();
  }
  ASSIGN_OR_RETURN(exchange_daemons[party.party], exchange::ExchangeDaemon::Start(daemon));
  return absl::OkStatus();
}

InProcessDeployment::InProcessDeployment(std::unique_ptr<State> state) : state_(std::move(state)) {}

InProcessDeployment::~InProcessDeployment() {
  if (state_ == nullptr) return;
  for (auto& agent : state_->agents) agent->Shutdown();
  for (auto& [party, daemon] : state_->exchange_daemons) {
    if (daemon != nullptr) daemon->Shutdown();
  }
  state_->exchange_daemons.clear();
  for (auto& [id, mills] : state_->remote_mills) {
    for (auto& mill : mills) mill->Shutdown();
  }
  state_->remote_mills.clear();
  for (auto& [id, daemon] : state_->duchies) {
    if (daemon != nullptr) daemon->Shutdown();
  }
  state_->mcs.clear();
  state_->agents.clear();
  state_->duchies.clear();
  if (state_->kingdom != nullptr) state_->kingdom->Shutdown(absl::Seconds(1));
}

absl::StatusOr<std::unique_ptr<InProcessDeployment>> InProcessDeployment::Start(InProcessDeploymentOptions options) {
  std::error_code error;
  std::filesystem::create_directories(options.dir, error);
  if (error) return absl::FailedPreconditionError(absl::StrCat("cannot create ", options.dir, ": ", error.message()));
  auto state = std::make_unique<State>();
  State& s = *state;
  s.options = options;
  auto deployment = std::unique_ptr<InProcessDeployment>(new InProcessDeployment(std::move(state)));
  std::vector<std::string> subjects = {"kingdom", kAdministrator};
  for (const std::string& id : s.DuchyIds()) subjects.push_back(absl::StrCat("duchies/", id));
  for (const DeploymentEdp& edp : options.edps) {
    subjects.push_back(absl::StrCat("dataProviders/", edp.id));
    s.edp_keys.insert_or_assign(edp.id, crypto::EncryptionKeyPair::Generate());
  }
  for (const std::string& id : options.measurement_consumers) subjects.push_back(absl::StrCat("measurementConsumers/", id));
  for (const DeploymentExchangeParty& party : options.exchange_parties) {
    if (std::find(subjects.begin(), subjects.end(), party.party) != subjects.end()) continue;
    subjects.push_back(party.party);
    if (party.party.rfind("dataProviders/", 0) == 0) {
      s.edp_keys.insert_or_assign(party.party.substr(party.party.find('/') + 1), crypto::EncryptionKeyPair::Generate());
    }
  }
  std::string trusted_roots_pem;
  for (const std::string& subject : subjects) {
    ASSIGN_OR_RETURN(crypto::CertificateAuthority root,
                     crypto::CertificateAuthority::Create(absl::StrCat("root of ", subject), absl::Hours(24)));
    trusted_roots_pem += root.certificate().ToPem();
    s.roots.emplace(subject, std::move(root));
  }
  for (const std::string& subject : subjects) {
    ASSIGN_OR_RETURN(s.tls[subject], Issue(s.roots.at(subject), subject, trusted_roots_pem));
    if (subject == "kingdom" || subject == kAdministrator) continue;
    ASSIGN_OR_RETURN(api::ContentSigner signer, IssueSigner(s.roots.at(subject), subject));
    s.signers.emplace(subject, std::move(signer));
  }

  kingdom::KingdomServerOptions kingdom;
  kingdom.config.set_public_api_address("127.0.0.1:0");
  kingdom.config.set_system_api_address("127.0.0.1:0");
  ASSIGN_OR_RETURN(crypto::Certificate administrator, crypto::Certificate::FromPem(s.tls.at(kAdministrator).certificate_pem));
  kingdom.config.add_administrator_certificates(administrator.FingerprintHex());
  *kingdom.config.mutable_protocols() = options.protocols;
  kingdom.config.set_exchange_step_lease_seconds(options.exchange_step_lease_seconds);
  kingdom.config.set_exchange_step_max_attempts(options.exchange_step_max_attempts);
  kingdom.database_path = absl::StrCat(options.dir, "/kingdom.db");
  ASSIGN_OR_RETURN(*kingdom.config.mutable_database(), s.DatabaseOf("kingdom"));
  kingdom.tls = s.tls.at("kingdom");
  kingdom.replay_seed = ReplaySeedOf(options);
  ASSIGN_OR_RETURN(s.kingdom, kingdom::KingdomServer::Start(kingdom));
  kingdom.config.set_public_api_address(absl::StrCat("127.0.0.1:", s.kingdom->public_port()));
  kingdom.config.set_system_api_address(absl::StrCat("127.0.0.1:", s.kingdom->system_port()));
  s.kingdom_options = kingdom;
  RETURN_IF_ERROR(s.Register());
  for (const std::string& id : s.DuchyIds()) RETURN_IF_ERROR(s.StartDuchy(id));

  for (const DeploymentEdp& edp : options.edps) {
    if (!edp.run_agent) continue;
    edp::EdpAgentOptions agent;
    agent.config.set_data_provider(absl::StrCat("dataProviders/", edp.id));
    agent.config.set_kingdom_public_api_target(Localhost(s.kingdom->public_port()));
    agent.config.set_events_dir(edp.events_dir);
    agent.config.set_max_concurrent_requisitions(2);
    agent.config.set_encryption_parallelism(options.duchy_parallelism);
    for (const auto& group : edp.event_groups) *agent.config.add_event_groups() = group;
    *agent.config.mutable_privacy() = edp.privacy;
    for (const auto& [id, ports] : s.duchy_ports) {
      auto& target = *agent.config.add_duchies();
      target.set_duchy_id(id);
      target.set_requisition_fulfillment_target(Localhost(ports.second));
    }
    agent.data_dir = absl::StrCat(options.dir, "/edp-", edp.id);
    agent.tls = s.tls.at(absl::StrCat("dataProviders/", edp.id));
    agent.signer = s.signers.at(absl::StrCat("dataProviders/", edp.id));
    agent.encryption_key = s.edp_keys.at(edp.id);
    agent.replay_seed = ReplaySeedOf(options);
    ASSIGN_OR_RETURN(std::unique_ptr<edp::EdpAgent> started, edp::EdpAgent::Start(agent));
    s.agents.push_back(std::move(started));
  }
  for (auto& agent : s.agents) {
    if (!agent->AwaitRegistered(absl::Seconds(30))) {
      return absl::DeadlineExceededError("an EDP agent did not register its event groups within 30 s");
    }
  }
  for (const DeploymentExchangeParty& party : options.exchange_parties) RETURN_IF_ERROR(s.StartExchangeDaemon(party));
  for (const std::string& id : options.measurement_consumers) {
    mc::McClientOptions client;
    client.measurement_consumer = absl::StrCat("measurementConsumers/", id);
    client.kingdom_target = Localhost(s.kingdom->public_port());
    client.tls = s.tls.at(client.measurement_consumer);
    client.signer = s.signers.at(client.measurement_consumer);
    client.encryption_key = crypto::EncryptionKeyPair::Generate();
    ASSIGN_OR_RETURN(s.mcs[id], mc::McClient::Create(client));
  }
  return deployment;
}

mc::McClient& InProcessDeployment::mc(const std::string& id) { return *state_->mcs.at(id); }

const net::TlsMaterial& InProcessDeployment::tls(const std::string& subject) const { return state_->tls.at(subject); }

const api::ContentSigner& InProcessDeployment::signer(const std::string& subject) const {
  return state_->signers.at(subject);
}

const crypto::CertificateAuthority& InProcessDeployment::root(const std::string& subject) const {
  return state_->roots.at(subject);
}

int InProcessDeployment::kingdom_public_port() const { return state_->kingdom->public_port(); }

int InProcessDeployment::kingdom_system_port() const { return state_->kingdom->system_port(); }

int InProcessDeployment::computation_control_port(const std::string& duchy) const {
  return state_->duchy_ports.at(duchy).first;
}

int InProcessDeployment::requisition_fulfillment_port(const std::string& duchy) const {
  return state_->duchy_ports.at(duchy).second;
}

void InProcessDeployment::StopKingdom() {
  if (state_->kingdom == nullptr) return;
  state_->kingdom->Shutdown(absl::ZeroDuration());
  state_->kingdom.reset();
}

absl::Status InProcessDeployment::StartKingdom() {
  if (state_->kingdom != nullptr) return absl::FailedPreconditionError("the Kingdom is running");
  ASSIGN_OR_RETURN(state_->kingdom, kingdom::KingdomServer::Start(state_->kingdom_options));
  return absl::OkStatus();
}

void InProcessDeployment::StopDuchy(const std::string& id) {
  auto it = state_->duchies.find(id);
  if (it == state_->duchies.end() || it->second == nullptr) return;
  it->second->Shutdown();
  it->second.reset();
}

absl::Status InProcessDeployment::StartDuchy(const std::string& id) { return state_->StartDuchy(id); }

void InProcessDeployment::StopExchangeDaemon(const std::string& party) {
  auto it = state_->exchange_daemons.find(party);
  if (it == state_->exchange_daemons.end() || it->second == nullptr) return;
  it->second->Shutdown();
  it->second.reset();
}

absl::Status InProcessDeployment::StartExchangeDaemon(const std::string& party) {
  for (const DeploymentExchangeParty& p : state_->options.exchange_parties) {
    if (p.party == party) return state_->StartExchangeDaemon(p);
  }
  return absl::NotFoundError(absl::StrCat(party, " is not an exchange party of the deployment"));
}

}  // namespace halo::deployment
