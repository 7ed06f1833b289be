#include "halo/mc/measurement_consumer_client.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "halo/api/envelopes.h"
#include "halo/api/nonce.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/random.h"
#include "halo/net/call.h"
#include "halo/net/peer.h"

namespace halo::mc {
namespace {

using api::v1::Measurement;
using api::v1::MeasurementResult;
using api::v1::MeasurementSpec;

// "dataProviders/{dp}" of "dataProviders/{dp}/eventGroups/{eg}".
absl::StatusOr<std::string> DataProviderOf(const std::string& event_group) {
  const size_t at = event_group.find("/eventGroups/");
  if (event_group.rfind("dataProviders/", 0) != 0 || at == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", event_group, "\" is not an event group name (dataProviders/{dp}/eventGroups/{eg})"));
  }
  return event_group.substr(0, at);
}

MeasurementSpec SpecOf(const MeasurementRequest& request) {
  MeasurementSpec spec;
  switch (request.type) {
    case MeasurementType::kReach:
      *spec.mutable_reach()->mutable_privacy_params() = request.privacy;
      break;
    case MeasurementType::kReachAndFrequency: {
      auto& rf = *spec.mutable_reach_and_frequency();
      *rf.mutable_reach_privacy_params() = request.privacy;
      *rf.mutable_frequency_privacy_params() = request.frequency_privacy;
      rf.set_maximum_frequency(request.maximum_frequency);
      break;
    }
    case MeasurementType::kImpression:
      *spec.mutable_impression()->mutable_privacy_params() = request.privacy;
      spec.mutable_impression()->set_maximum_frequency_per_user(request.maximum_frequency_per_user);
      break;
    case MeasurementType::kDuration:
      *spec.mutable_duration()->mutable_privacy_params() = request.privacy;
      spec.mutable_duration()->set_maximum_watch_duration_per_user_seconds(request.maximum_watch_duration_seconds);
      break;
  }
  spec.mutable_vid_sampling_interval()->set_start(request.vid_sampling_start);
  spec.mutable_vid_sampling_interval()->set_width(request.vid_sampling_width);
  return spec;
}

// Direct results of several EDPs: impressions and watch time add up, and
// so do their variances.
absl::StatusOr<MeasurementResult> Combine(const std::vector<MeasurementResult>& parts) {
  if (parts.size() == 1) return parts.front();
  MeasurementResult total;
  double variance = 0;
  for (const MeasurementResult& part : parts) {
    if (part.has_impression()) {
      total.mutable_impression()->set_value(total.impression().value() + part.impression().value());
      variance += part.impression().standard_error() * part.impression().standard_error();
    } else if (part.has_watch_duration()) {
      total.mutable_watch_duration()->set_seconds(total.watch_duration().seconds() + part.watch_duration().seconds());
      variance += part.watch_duration().standard_error() * part.watch_duration().standard_error();
    } else {
      return absl::FailedPreconditionError("several EDPs answered with reach, which does not add up");
    }
  }
  if (total.has_impression()) total.mutable_impression()->set_standard_error(std::sqrt(variance));
  if (total.has_watch_duration()) total.mutable_watch_duration()->set_standard_error(std::sqrt(variance));
  return total;
}

}  // namespace

McClient::McClient(McClientOptions options, std::string certificate, crypto::SigningKey signing_key,
                   std::shared_ptr<grpc::Channel> kingdom, crypto::TrustedRoots trusted_roots)
    : options_(std::move(options)),
      certificate_(std::move(certificate)),
      signing_key_(std::move(signing_key)),
      kingdom_(std::move(kingdom)),
      certificates_(kingdom_, std::move(trusted_roots)),
      measurements_(api::v1::Measurements::NewStub(kingdom_)),
      data_providers_(api::v1::DataProviders::NewStub(kingdom_)),
      event_groups_(api::v1::EventGroups::NewStub(kingdom_)) {}

absl::StatusOr<std::unique_ptr<McClient>> McClient::Create(McClientOptions options) {
  ASSIGN_OR_RETURN(crypto::Certificate certificate, crypto::Certificate::FromPem(options.tls.certificate_pem));
  if (certificate.SubjectName() != options.measurement_consumer) {
    return absl::InvalidArgumentError(absl::StrCat("the TLS certificate is for \"", certificate.SubjectName(),
                                                   "\", not ", options.measurement_consumer));
  }
  ASSIGN_OR_RETURN(crypto::TrustedRoots trusted_roots, crypto::TrustedRoots::FromPem(options.tls.trusted_ca_pem));
  RETURN_IF_ERROR(api::CheckContentSigner(options.signer, options.measurement_consumer, "signing"));
  auto kingdom = net::OpenChannel(options.kingdom_target, options.tls, net::kKingdomSubject);
  std::string name = options.signer->name;
  crypto::SigningKey key = options.signer->key;
  return std::unique_ptr<McClient>(
      new McClient(std::move(options), std::move(name), std::move(key), std::move(kingdom), std::move(trusted_roots)));
}

absl::StatusOr<crypto::EcPoint> McClient::DataProviderKey(const std::string& data_provider, std::string* certificate) {
  api::v1::GetDataProviderRequest get;
  get.set_name(data_provider);
  ASSIGN_OR_RETURN(api::v1::DataProvider provider,
                   net::Call(*data_providers_, &api::v1::DataProviders::Stub::GetDataProvider, get,
                             absl::StrCat("the Kingdom's GetDataProvider of ", data_provider)));
  ASSIGN_OR_RETURN(crypto::Certificate signer,
                   certificates_.ResolveOf(provider.public_key().certificate(), data_provider));
  api::v1::EncryptionPublicKey key;
  absl::Status verified =
      api::VerifyAndParse(provider.public_key(), signer, absl::StrCat(data_provider, "'s encryption key"), key);
  if (!verified.ok()) return absl::PermissionDeniedError(verified.message());
  *certificate = provider.signing_certificate();
  return api::ParseEncryptionPublicKey(key.SerializeAsString());
}

absl::StatusOr<Measurement> McClient::CreateMeasurement(const MeasurementRequest& request) {
  if (request.event_groups.empty()) return absl::InvalidArgumentError("a measurement needs at least one event group");
  std::map<std::string, std::vector<const EventGroupEntry*>> by_provider;
  for (const EventGroupEntry& entry : request.event_groups) {
    ASSIGN_OR_RETURN(std::string provider, DataProviderOf(entry.event_group));
    by_provider[provider].push_back(&entry);
  }
  MeasurementSpec spec = SpecOf(request);
  spec.set_measurement_public_key(api::ToEncryptionPublicKey(options_.encryption_key.public_key).SerializeAsString());
  api::v1::CreateMeasurementRequest create;
  create.set_parent(options_.measurement_consumer);
  create.set_request_id(request.request_id);
  Measurement& m = *create.mutable_measurement();
  m.set_measurement_consumer_certificate(certificate_);
  m.set_measurement_reference_id(request.reference_id);
  for (const auto& [provider, entries] : by_provider) {
    std::string provider_certificate;
    ASSIGN_OR_RETURN(crypto::EcPoint key, DataProviderKey(provider, &provider_certificate));
    api::v1::RequisitionSpec requisition_spec;
    for (const EventGroupEntry* entry : entries) {
      auto& out = *requisition_spec.add_event_groups();
      out.set_event_group(entry->event_group);
      out.mutable_collection_interval()->set_start_micros(entry->start_micros);
      out.mutable_collection_interval()->set_end_micros(entry->end_micros);
      out.set_filter(entry->filter);
    }
    requisition_spec.set_measurement_public_key(spec.measurement_public_key());
    const uint64_t nonce = crypto::SecureRandomUint64();
    requisition_spec.set_nonce(nonce);
    spec.add_nonce_hashes(api::NonceHash(nonce));
    auto& entry = *m.add_data_providers();
    entry.set_data_provider(provider);
    entry.set_data_provider_certificate(provider_certificate);
    ASSIGN_OR_RETURN(*entry.mutable_encrypted_requisition_spec(),
                     api::EncryptRequisitionSpec(api::Sign(requisition_spec, signing_key_, certificate_), key));
    entry.set_nonce_hash(api::NonceHash(nonce));
  }
  *m.mutable_measurement_spec() = api::Sign(spec, signing_key_, certificate_);
  return net::Call(*measurements_, &api::v1::Measurements::Stub::CreateMeasurement, create,
                   "the Kingdom's CreateMeasurement");
}

absl::StatusOr<Measurement> McClient::GetMeasurement(const std::string& name) {
  api::v1::GetMeasurementRequest get;
  get.set_name(name);
  return net::Call(*measurements_, &api::v1::Measurements::Stub::GetMeasurement, get,
                   absl::StrCat("the Kingdom's GetMeasurement of ", name));
}

absl::StatusOr<std::vector<api::v1::EventGroup>> McClient::ListEventGroups() {
  std::vector<api::v1::EventGroup> out;
  api::v1::ListEventGroupsRequest list;
  list.set_parent(options_.measurement_consumer);
  do {
    ASSIGN_OR_RETURN(api::v1::ListEventGroupsResponse page,
                     net::Call(*event_groups_, &api::v1::EventGroups::Stub::ListEventGroups, list,
                               "the Kingdom's ListEventGroups"));
    for (api::v1::EventGroup& group : *page.mutable_event_groups()) out.push_back(std::move(group));
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty());
  return out;
}

absl::StatusOr<std::vector<Measurement>> McClient::ListMeasurements(const std::vector<Measurement::State>& states,
                                                                   int limit) {
  std::vector<Measurement> out;
  api::v1::ListMeasurementsRequest list;
  list.set_parent(options_.measurement_consumer);
  for (Measurement::State state : states) list.add_states(state);
  do {
    list.set_page_size(std::min(100, limit - static_cast<int>(out.size())));
    ASSIGN_OR_RETURN(api::v1::ListMeasurementsResponse page,
                     net::Call(*measurements_, &api::v1::Measurements::Stub::ListMeasurements, list,
                               "the Kingdom's ListMeasurements"));
    for (Measurement& m : *page.mutable_measurements()) out.push_back(std::move(m));
    list.set_page_token(page.next_page_token());
  } while (!list.page_token().empty() && static_cast<int>(out.size()) < limit);
  return out;
}

absl::StatusOr<Measurement> McClient::CancelMeasurement(const std::string& name) {
  api::v1::CancelMeasurementRequest cancel;
  cancel.set_name(name);
  return net::Call(*measurements_, &api::v1::Measurements::Stub::CancelMeasurement, cancel,
                   absl::StrCat("the Kingdom's CancelMeasurement of ", name));
}

absl::StatusOr<Measurement> McClient::AwaitMeasurement(const std::string& name, absl::Duration timeout,
                                                       const std::function<void(const Measurement&)>& on_poll) {
  const absl::Time deadline = absl::Now() + timeout;
  absl::Duration pause = absl::Milliseconds(100);
  while (true) {
    ASSIGN_OR_RETURN(Measurement m, GetMeasurement(name));
    if (on_poll) on_poll(m);
    if (m.state() == Measurement::SUCCEEDED || m.state() == Measurement::FAILED ||
        m.state() == Measurement::CANCELLED) {
      return m;
    }
    if (absl::Now() + pause > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(name, " is still ", Measurement::State_Name(m.state()),
                                                      " after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(pause);
    // Every second at most while someone watches its progress.
    pause = std::min(pause * 2, on_poll ? absl::Seconds(1) : absl::Seconds(2));
  }
}

absl::StatusOr<MeasurementResult> McClient::OpenResult(const Measurement& measurement) {
  if (measurement.state() != Measurement::SUCCEEDED) {
    return absl::FailedPreconditionError(
        absl::StrCat(measurement.name(), " is ", Measurement::State_Name(measurement.state()), ", not SUCCEEDED"));
  }
  const bool direct = measurement.protocol_config().protocol() == api::v1::DIRECT;
  const size_t expected = direct ? static_cast<size_t>(measurement.data_providers_size()) : 1;
  if (static_cast<size_t>(measurement.results_size()) != expected) {
    return absl::PermissionDeniedError(absl::StrCat(measurement.name(), " has ", measurement.results_size(),
                                                    " results where ", expected, " were due"));
  }
  std::vector<std::string> signers;
  if (direct) {
    for (const auto& entry : measurement.data_providers()) signers.push_back(entry.data_provider());
  } else {
    signers.push_back(absl::StrCat("duchies/", measurement.protocol_config().aggregator()));
  }
  std::vector<MeasurementResult> parts;
  for (const auto& part : measurement.results()) {
    // Each signer answers once.
    auto signer = std::find_if(signers.begin(), signers.end(), [&](const std::string& s) {
      return part.certificate().rfind(s + "/certificates/", 0) == 0;
    });
    if (signer == signers.end()) {
      return absl::PermissionDeniedError(absl::StrCat("a result of ", measurement.name(), " is signed by ",
                                                      part.certificate(), ", which is not due to answer"));
    }
    ASSIGN_OR_RETURN(crypto::Certificate certificate, certificates_.ResolveOf(part.certificate(), *signer));
    signers.erase(signer);
    absl::StatusOr<api::v1::SignedMessage> opened =
        api::DecryptResult(options_.encryption_key, part.encrypted_result(), measurement.name());
    if (!opened.ok()) {
      return absl::PermissionDeniedError(absl::StrCat("a result of ", measurement.name(),
                                                      " does not decrypt with this MC's key: ", opened.status().message()));
    }
    if (opened->certificate() != part.certificate()) {
      return absl::PermissionDeniedError(absl::StrCat("a result of ", measurement.name(), " names certificate ",
                                                      opened->certificate(), " inside but ", part.certificate(),
                                                      " outside"));
    }
    MeasurementResult result;
    absl::Status verified = api::VerifyAndParse(*opened, certificate, "the result", result);
    if (!verified.ok()) return absl::PermissionDeniedError(verified.message());
    parts.push_back(std::move(result));
  }
  return Combine(parts);
}

}  // namespace halo::mc
