#include "testing/process_deployment.h"

#include <google/protobuf/text_format.h>

#include <csignal>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "halo/api/encryption_key_file.h"
#include "halo/api/envelopes.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"
#include "testing/halo_process.h"

namespace halo::testing {
namespace {

const char* const kDuchies[] = {"worker1", "worker2", "aggregator"};
const char* const kEdps[] = {"edp1", "edp2"};

}  // namespace

absl::StatusOr<edp::SyntheticEventsSummary> WriteDeploymentEvents(const std::string& dir, uint64_t population_size,
                                                                  uint64_t audience_size, uint64_t seed) {
  edp::SyntheticEventsOptions options;
  options.population_size = population_size;
  options.audience_size = audience_size;
  options.mean_frequency = 3;
  options.seed = seed;
  options.edps = {{"edp1", 0.7, {"edp1-video", "edp1-display"}}, {"edp2", 0.7, {"edp2-video", "edp2-display"}}};
  return edp::WriteSyntheticEvents(options, dir);
}

mc::MeasurementRequest ProcessDeployment::ReachAndFrequencyRequest() const {
  const edp::SyntheticEventsOptions window;
  mc::MeasurementRequest request;
  request.type = mc::MeasurementType::kReachAndFrequency;
  for (const std::string& group : event_groups_) {
    request.event_groups.push_back(
        {group, window.start_micros, window.start_micros + int64_t{window.days} * 86400 * 1000000, ""});
  }
  request.privacy.set_epsilon(1);
  request.privacy.set_delta(1e-9);
  request.frequency_privacy = request.privacy;
  request.maximum_frequency = 5;
  return request;
}

ProcessDeployment::ProcessDeployment(ProcessDeploymentOptions options)
    : options_(std::move(options)), fixture_(dir_, "process-deployment") {
  // Mills before their heralds, as systemd may start them: a mill must
  // find its herald once it is up.
  roles_ = {"kingdom"};
  for (const char* duchy : kDuchies) {
    for (int i = 0; i < options_.mills_per_duchy; ++i) roles_.push_back(absl::StrCat("mill-", duchy, "-", i));
  }
  for (const char* duchy : kDuchies) roles_.push_back(absl::StrCat("duchy-", duchy));
  roles_.push_back("edp-edp1");
  roles_.push_back("edp-edp2");
  if (options_.exchange_daemon) roles_.push_back("exchange-edp1");
}

absl::StatusOr<std::unique_ptr<ProcessDeployment>> ProcessDeployment::Start(ProcessDeploymentOptions options) {
  std::unique_ptr<ProcessDeployment> d(new ProcessDeployment(std::move(options)));
  for (const char* subject : {"kingdom", "admins/operator", "measurementConsumers/mc1", "dataProviders/edp1",
                              "dataProviders/edp2", "duchies/worker1", "duchies/worker2", "duchies/aggregator"}) {
    d->tls_[subject] = d->fixture_.Issue(subject);
    if (std::string(subject) != "kingdom" && std::string(subject) != "admins/operator") {
      d->signing_[subject] = d->fixture_.IssueSigning(subject);
    }
  }
  d->kingdom_public_ = FreeLoopbackPort();
  d->kingdom_system_ = FreeLoopbackPort();
  for (const char* duchy : kDuchies) {
    d->duchy_ports_[duchy] = {FreeLoopbackPort(), FreeLoopbackPort()};
    if (d->options_.mills_per_duchy > 0) d->mill_ports_[duchy] = FreeLoopbackPort();
    // Each mill's certificate is issued by its duchy's root (here the one
    // test root): duchies/{id}/mills/{name}.
    for (int i = 0; i < d->options_.mills_per_duchy; ++i) {
      const std::string mill = absl::StrCat("duchies/", duchy, "/mills/mill-", i);
      d->tls_[mill] = d->fixture_.Issue(mill);
    }
  }
  for (const std::string& role : d->roles()) d->monitoring_ports_[role] = FreeLoopbackPort();
  RETURN_IF_ERROR(d->Restart("kingdom"));
  RETURN_IF_ERROR(d->Register());
  for (const std::string& role : d->roles()) {
    if (role != "kingdom") RETURN_IF_ERROR(d->Restart(role));
  }
  ASSIGN_OR_RETURN(std::unique_ptr<mc::McClient> mc, d->Mc());
  for (int i = 0; i < 300 && d->event_groups_.size() < 4; ++i) {
    if (auto listed = mc->ListEventGroups(); listed.ok()) {
      d->event_groups_.clear();
      for (const auto& group : *listed) d->event_groups_.push_back(group.name());
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
  if (d->event_groups_.size() < 4) {
    return absl::DeadlineExceededError("the EDP agents did not register their event groups within 30 s");
  }
  return d;
}

ProcessDeployment::~ProcessDeployment() {
  for (auto& [role, process] : processes_) {
    if (process != nullptr) process->Signal(SIGTERM);
  }
  for (auto& [role, process] : processes_) {
    if (process != nullptr) process->Wait(absl::Seconds(30));
  }
}

config::HaloConfig ProcessDeployment::ConfigOf(const std::string& role) const {
  config::HaloConfig c;
  c.set_data_dir(dir_.Sub(role));
  c.mutable_monitoring()->set_http_address(absl::StrCat("127.0.0.1:", monitoring_ports_.at(role)));
  if (role == "kingdom") {
    c.set_role(config::KINGDOM);
    auto& k = *c.mutable_kingdom();
    k.set_public_api_address(absl::StrCat("127.0.0.1:", kingdom_public_));
    k.set_system_api_address(absl::StrCat("127.0.0.1:", kingdom_system_));
    *k.mutable_tls() = Tls("kingdom");
    k.add_administrator_certificates(FingerprintOf(Tls("admins/operator")));
    auto& p = *k.mutable_protocols();
    for (const char* duchy : kDuchies) p.add_duchies(duchy);
    p.set_aggregator("aggregator");
    p.set_prefer_hmss(options_.prefer_hmss);
    if (options_.population_size > 0) p.set_population_size(options_.population_size);
    if (options_.llv2_sketch_size > 0) p.set_llv2_sketch_size(options_.llv2_sketch_size);
    if (options_.llv2_decay_rate > 0) p.set_llv2_decay_rate(options_.llv2_decay_rate);
  } else if (absl::StartsWith(role, "mill-")) {
    // mill-{duchy}-{i}
    const std::string rest = role.substr(5);
    const std::string id = rest.substr(0, rest.rfind('-'));
    c.set_role(config::DUCHY_MILL);
    auto& m = *c.mutable_duchy_mill();
    m.set_duchy_id(id);
    m.set_herald_target(absl::StrCat("localhost:", mill_ports_.at(id)));
    *m.mutable_tls() = Tls(absl::StrCat("duchies/", id, "/mills/mill-", rest.substr(rest.rfind('-') + 1)));
    m.set_parallelism(options_.mill_parallelism);
    m.set_lease_seconds(options_.mill_lease_seconds);
  } else if (absl::StartsWith(role, "duchy-")) {
    const std::string id = role.substr(6);
    c.set_role(options_.mills_per_duchy > 0 ? config::DUCHY_HERALD : config::DUCHY);
    auto& d = *c.mutable_duchy();
    d.set_duchy_id(id);
    d.set_kingdom_system_api_target(absl::StrCat("localhost:", kingdom_system_));
    d.set_computation_control_address(absl::StrCat("127.0.0.1:", duchy_ports_.at(id).first));
    d.set_requisition_fulfillment_address(absl::StrCat("127.0.0.1:", duchy_ports_.at(id).second));
    *d.mutable_tls() = Tls("duchies/" + id);
    *d.mutable_signing() = Signing("duchies/" + id);
    d.set_mill_parallelism(options_.mill_parallelism);
    if (options_.mills_per_duchy > 0) d.set_mill_service_address(absl::StrCat("127.0.0.1:", mill_ports_.at(id)));
    for (const char* peer : kDuchies) {
      if (peer == id) continue;
      auto& p = *d.add_peers();
      p.set_duchy_id(peer);
      p.set_computation_control_target(absl::StrCat("localhost:", duchy_ports_.at(peer).first));
    }
  } else if (role == "exchange-edp1") {
    c.set_role(config::EXCHANGE_DAEMON);
    auto& x = *c.mutable_exchange_daemon();
    x.set_party("dataProviders/edp1");
    x.set_kingdom_public_api_target(absl::StrCat("localhost:", kingdom_public_));
    *x.mutable_tls() = Tls("dataProviders/edp1");
    *x.mutable_signing() = Signing("dataProviders/edp1");
    x.set_shared_storage_dir(dir_.Sub("exchange-shared"));
    x.add_accepted_workflow_sha256(std::string(64, '0'));
  } else {
    const std::string id = role.substr(4);
    c.set_role(config::EDP_AGENT);
    auto& e = *c.mutable_edp_agent();
    e.set_data_provider("dataProviders/" + id);
    e.set_kingdom_public_api_target(absl::StrCat("localhost:", kingdom_public_));
    *e.mutable_tls() = Tls("dataProviders/" + id);
    *e.mutable_signing() = Signing("dataProviders/" + id);
    e.set_encryption_key_file(dir_.Sub(id + ".encryption-key"));
    e.set_events_dir(absl::StrCat(options_.events_dir, "/", id));
    for (const char* kind : {"-video", "-display"}) {
      auto& g = *e.add_event_groups();
      g.set_reference_id(id + kind);
      g.set_measurement_consumer("measurementConsumers/mc1");
    }
    for (const char* duchy : kDuchies) {
      auto& t = *e.add_duchies();
      t.set_duchy_id(duchy);
      t.set_requisition_fulfillment_target(absl::StrCat("localhost:", duchy_ports_.at(duchy).second));
    }
  }
  return c;
}

absl::Status ProcessDeployment::Register() {
  ASSIGN_OR_RETURN(net::TlsMaterial admin_tls, net::LoadTlsMaterial(Tls("admins/operator")));
  auto admin = api::v1::Admin::NewStub(
      net::OpenChannel(absl::StrCat("localhost:", kingdom_public_), admin_tls, net::kKingdomSubject));
  for (const char* id : kEdps) {
    const std::string subject = absl::StrCat("dataProviders/", id);
    const crypto::EncryptionKeyPair key = crypto::EncryptionKeyPair::Generate();
    RETURN_IF_ERROR(api::WriteEncryptionKeyFile(dir_.Sub(absl::StrCat(id, ".encryption-key")), key));
    const api::ContentSigner signer = SignerOf(Signing(subject), subject);
    api::v1::CreateDataProviderRequest request;
    request.set_data_provider_id(id);
    request.mutable_data_provider()->set_certificate_der(CertificateDerOf(Tls(subject)));
    request.mutable_data_provider()->set_signing_certificate_der(signer.certificate.ToDer());
    request.mutable_data_provider()->set_root_certificate_der(RootDerOf(Tls(subject)));
    request.mutable_data_provider()->set_supports_hmss(true);
    *request.mutable_data_provider()->mutable_public_key() =
        api::Sign(api::ToEncryptionPublicKey(key.public_key), signer.key, signer.name);
    RETURN_IF_ERROR(net::Call(*admin, &api::v1::Admin::Stub::CreateDataProvider, request, subject).status());
  }
  api::v1::CreateMeasurementConsumerRequest mc;
  mc.set_measurement_consumer_id("mc1");
  mc.mutable_measurement_consumer()->set_certificate_der(CertificateDerOf(Tls("measurementConsumers/mc1")));
  mc.mutable_measurement_consumer()->set_signing_certificate_der(
      SignerOf(Signing("measurementConsumers/mc1"), "measurementConsumers/mc1").certificate.ToDer());
  mc.mutable_measurement_consumer()->set_root_certificate_der(RootDerOf(Tls("measurementConsumers/mc1")));
  RETURN_IF_ERROR(net::Call(*admin, &api::v1::Admin::Stub::CreateMeasurementConsumer, mc, "mc1").status());
  for (const char* id : kDuchies) {
    api::v1::CreateDuchyRequest duchy;
    duchy.set_duchy_id(id);
    duchy.mutable_duchy()->set_certificate_der(CertificateDerOf(Tls(absl::StrCat("duchies/", id))));
    duchy.mutable_duchy()->set_signing_certificate_der(
        SignerOf(Signing(absl::StrCat("duchies/", id)), absl::StrCat("duchies/", id)).certificate.ToDer());
    duchy.mutable_duchy()->set_root_certificate_der(RootDerOf(Tls(absl::StrCat("duchies/", id))));
    RETURN_IF_ERROR(net::Call(*admin, &api::v1::Admin::Stub::CreateDuchy, duchy, id).status());
  }
  return absl::OkStatus();
}

void ProcessDeployment::Kill(const std::string& role) {
  auto it = processes_.find(role);
  if (it == processes_.end() || it->second == nullptr) return;
  it->second->Signal(SIGKILL);
  it->second->Wait(absl::Seconds(10));
  it->second.reset();
}

absl::Status ProcessDeployment::Restart(const std::string& role) {
  if (Running(role)) return absl::FailedPreconditionError(absl::StrCat(role, " is running"));
  std::vector<std::string>& logs = logs_[role];
  logs.push_back(dir_.Sub(absl::StrCat(role, "-", logs.size() + 1, ".log")));
  processes_[role] = StartHalo(ConfigOf(role), dir_.Sub(role + ".textproto"), logs.back(), options_.replay_seed);
  if (processes_[role] == nullptr) {
    return absl::UnavailableError(absl::StrCat(role, " did not start: ", ReadFile(logs.back()).value_or("")));
  }
  return absl::OkStatus();
}

bool ProcessDeployment::Running(const std::string& role) const {
  auto it = processes_.find(role);
  return it != processes_.end() && it->second != nullptr;
}

pid_t ProcessDeployment::Pid(const std::string& role) const {
  auto it = processes_.find(role);
  return it == processes_.end() || it->second == nullptr ? -1 : it->second->pid();
}

std::string ProcessDeployment::Log(const std::string& role) const {
  std::string out;
  auto it = logs_.find(role);
  if (it == logs_.end()) return out;
  for (const std::string& path : it->second) absl::StrAppend(&out, ReadFile(path).value_or(""));
  return out;
}

absl::StatusOr<std::unique_ptr<mc::McClient>> ProcessDeployment::Mc() const {
  mc::McClientOptions options;
  options.measurement_consumer = "measurementConsumers/mc1";
  options.kingdom_target = absl::StrCat("localhost:", kingdom_public_);
  ASSIGN_OR_RETURN(options.tls, net::LoadTlsMaterial(Tls("measurementConsumers/mc1")));
  options.signer = SignerOf(Signing("measurementConsumers/mc1"), "measurementConsumers/mc1");
  ASSIGN_OR_RETURN(options.encryption_key, McEncryptionKey());
  return mc::McClient::Create(options);
}

absl::StatusOr<crypto::EncryptionKeyPair> ProcessDeployment::McEncryptionKey() const {
  const std::string path = dir_.Sub("mc1.encryption-key");
  if (!std::filesystem::exists(path)) {
    RETURN_IF_ERROR(api::WriteEncryptionKeyFile(path, crypto::EncryptionKeyPair::Generate()));
  }
  return api::ReadEncryptionKeyFile(path);
}

absl::StatusOr<std::string> ProcessDeployment::McConfigFile() const {
  RETURN_IF_ERROR(McEncryptionKey().status());
  config::McClientConfig config;
  config.set_measurement_consumer("measurementConsumers/mc1");
  config.set_kingdom_public_api_target(absl::StrCat("localhost:", kingdom_public_));
  *config.mutable_tls() = Tls("measurementConsumers/mc1");
  *config.mutable_signing() = Signing("measurementConsumers/mc1");
  config.set_encryption_key_file(dir_.Sub("mc1.encryption-key"));
  const std::string path = dir_.Sub("mc1.textproto");
  std::string text;
  google::protobuf::TextFormat::PrintToString(config, &text);
  RETURN_IF_ERROR(WriteFileAtomically(path, text));
  return path;
}

}  // namespace halo::testing
