// Three duchies at work in one process with the Kingdom: an MC asks for a
// reach-and-frequency measurement over two EDPs, the EDPs upload their
// frequency-vector shares to the duchies, and the duchies' heralds and
// mills carry the HMSS computation to a result that the MC decrypts and
// checks against the truth.
#include <catch2/catch.hpp>

#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "halo/api/certificate_name.h"
#include "halo/api/envelopes.h"
#include "halo/deployment/in_process_deployment.h"
#include "halo/api/nonce.h"
#include "halo/api/protocol_version.h"
#include "halo/api/v1/public.grpc.pb.h"
#include "halo/api/v1/system.grpc.pb.h"
#include "halo/crypto/random.h"
#include "halo/crypto/sha256.h"
#include "halo/stats/estimate.h"
#include "halo/duchy/blob_transfer.h"
#include "halo/duchy/v1/duchy.grpc.pb.h"
#include "halo/net/peer.h"
#include "halo/protocol/llv2.h"
#include "halo/protocol/reach_only_llv2.h"
#include "halo/sketch/frequency_vector.h"
#include "halo/sketch/liquid_legions.h"
#include "testing/grpc_call.h"
#include "testing/temp_dir.h"

namespace halo::duchy {
namespace {

using namespace api::v1;

constexpr uint64_t kPopulation = 20000;
constexpr int kMaxFrequency = 5;
const char* const kDuchies[] = {"worker1", "worker2", "aggregator"};

// A party the test plays: its TLS identity, signing key and certificate.
struct Party {
  net::TlsMaterial tls;
  crypto::SigningKey key = crypto::SigningKey::Generate();
  std::string certificate;  // its registered name
};

using testing::Call;

// Everything registered and running, with no EDP agents: the test plays
// the MC and the EDPs.
class Deployment {
 public:
  // `remote_mills`: each duchy is a herald with that many mills over its
  // mill service, as separate processes would be.
  explicit Deployment(bool hmss, config::DuchyConfig::BlobStoreKind blob_store = config::DuchyConfig::ROCKSDB,
                      int remote_mills = 0) {
    deployment::InProcessDeploymentOptions options;
    options.replay_seed = 1;
    options.duchy_blob_store = blob_store;
    if (remote_mills > 0) {
      options.duchy_mills = 0;
      options.duchy_remote_mills = remote_mills;
    }
    options.dir = dir_.Sub("deployment");
    auto& protocols = options.protocols;
    for (const char* d : kDuchies) protocols.add_duchies(d);
    protocols.set_aggregator("aggregator");
    protocols.set_prefer_hmss(hmss);
    protocols.set_population_size(kPopulation);
    protocols.set_llv2_sketch_size(100000);
    for (const char* edp : {"edp1", "edp2"}) options.edps.push_back({edp, true, /*run_agent=*/false, "", {}});
    auto started = deployment::InProcessDeployment::Start(options);
    INFO(started.status().message());
    REQUIRE(started.ok());
    deployment_ = *std::move(started);
    for (const char* subject : {"measurementConsumers/mc1", "dataProviders/edp1", "dataProviders/edp2",
                                "duchies/worker1", "duchies/worker2", "duchies/aggregator"}) {
      Party& p = parties_[subject];
      p.tls = deployment_->tls(subject);
      p.key = deployment_->signer(subject).key;
      p.certificate = deployment_->signer(subject).name;
    }
  }

  std::shared_ptr<grpc::Channel> PublicChannel(const std::string& subject) {
    return net::OpenChannel(absl::StrCat("localhost:", deployment_->kingdom_public_port()), parties_.at(subject).tls, net::kKingdomSubject);
  }
  int FulfillmentPort(const std::string& duchy) { return deployment_->requisition_fulfillment_port(duchy); }
  int ControlPort(const std::string& duchy) { return deployment_->computation_control_port(duchy); }
  Party& operator[](const std::string& subject) { return parties_.at(subject); }
  deployment::InProcessDeployment& deployment() { return *deployment_; }
  const crypto::EncryptionKeyPair& mc_key() const { return mc_key_; }

 private:
  testing::TempDir dir_;
  std::unique_ptr<deployment::InProcessDeployment> deployment_;
  std::map<std::string, Party> parties_;
  crypto::EncryptionKeyPair mc_key_ = crypto::EncryptionKeyPair::Generate();
};

// An audience of `reach` VIDs: EDP 1 reaches the first 3/4, EDP 2 the last
// half; VID v is seen 1 + v % 3 times by each EDP that reaches it.
struct Audience {
  uint64_t reach;
  std::vector<sketch::VidEvent> EventsOf(int edp) const {
    std::vector<sketch::VidEvent> events;
    const uint64_t first = edp == 1 ? 0 : reach / 2, last = edp == 1 ? reach * 3 / 4 : reach;
    for (uint64_t v = first; v < last; ++v) events.push_back({v, static_cast<uint32_t>(1 + v % 3)});
    return events;
  }
  // The true frequency distribution, capped at kMaxFrequency.
  std::vector<double> Frequency() const {
    std::vector<double> counts(kMaxFrequency, 0);
    for (uint64_t v = 0; v < reach; ++v) {
      const int per_edp = 1 + v % 3;
      const int seen = (v < reach * 3 / 4 ? per_edp : 0) + (v >= reach / 2 ? per_edp : 0);
      counts[std::min(seen, kMaxFrequency) - 1] += 1;
    }
    for (double& c : counts) c /= reach;
    return counts;
  }
};

struct Asked {
  Measurement measurement;
  std::map<std::string, uint64_t> nonces;
};

Asked Ask(Deployment& d, bool frequency) {
  Party& mc = d["measurementConsumers/mc1"];
  MeasurementSpec spec;
  spec.set_measurement_public_key(api::ToEncryptionPublicKey(d.mc_key().public_key).SerializeAsString());
  if (frequency) {
    auto& rf = *spec.mutable_reach_and_frequency();
    for (auto* p : {rf.mutable_reach_privacy_params(), rf.mutable_frequency_privacy_params()}) {
      p->set_epsilon(1);
      p->set_delta(1e-9);
    }
    rf.set_maximum_frequency(kMaxFrequency);
  } else {
    spec.mutable_reach()->mutable_privacy_params()->set_epsilon(1);
    spec.mutable_reach()->mutable_privacy_params()->set_delta(1e-9);
  }
  spec.mutable_vid_sampling_interval()->set_start(0);
  spec.mutable_vid_sampling_interval()->set_width(1);
  CreateMeasurementRequest request;
  request.set_parent("measurementConsumers/mc1");
  Asked asked;
  for (const char* edp : {"dataProviders/edp1", "dataProviders/edp2"}) {
    const uint64_t nonce = crypto::SecureRandomUint64();
    asked.nonces[edp] = nonce;
    spec.add_nonce_hashes(api::NonceHash(nonce));
    auto& entry = *request.mutable_measurement()->add_data_providers();
    entry.set_data_provider(edp);
    RequisitionSpec requisition_spec;
    requisition_spec.set_nonce(nonce);
    requisition_spec.set_measurement_public_key(spec.measurement_public_key());
    // The EDPs here know what they are asked; the spec travels as it would.
    entry.set_encrypted_requisition_spec(api::Sign(requisition_spec, mc.key, mc.certificate).SerializeAsString());
    entry.set_nonce_hash(api::NonceHash(nonce));
  }
  auto& m = *request.mutable_measurement();
  m.set_measurement_consumer_certificate(mc.certificate);
  *m.mutable_measurement_spec() = api::Sign(spec, mc.key, mc.certificate);
  auto measurements = Measurements::NewStub(d.PublicChannel("measurementConsumers/mc1"));
  const grpc::Status status = Call(*measurements, &Measurements::Stub::CreateMeasurement, request, &asked.measurement);
  INFO(status.error_message());
  REQUIRE(status.ok());
  return asked;
}

// Waits until `edp`'s requisition carries every duchy's key.
Requisition AwaitRequisition(Deployment& d, const std::string& edp) {
  auto requisitions = Requisitions::NewStub(d.PublicChannel(edp));
  for (int i = 0; i < 100; ++i) {
    ListRequisitionsRequest list;
    list.set_parent(edp);
    list.add_states(Requisition::UNFULFILLED);
    list.set_wait_milliseconds(500);
    ListRequisitionsResponse page;
    REQUIRE(Call(*requisitions, &Requisitions::Stub::ListRequisitions, list, &page).ok());
    for (const Requisition& r : page.requisitions()) {
      if (r.duchies_size() == 3) return r;
    }
  }
  FAIL("no requisition for " << edp << " became ready");
  return {};
}

// What an EDP uploads: the bytes, and for HMSS the other worker's seed.
struct UploadBody {
  UploadBody(std::string bytes, std::string encrypted_peer_seed = "")
      : bytes(std::move(bytes)), encrypted_peer_seed(std::move(encrypted_peer_seed)) {}
  std::string bytes;
  std::string encrypted_peer_seed;
};

// Uploads `body` for `requisition` to its duchy; the duchy's answer.
// `announced_sha256`, if given, replaces the digest the header announces.
grpc::Status Upload(Deployment& d, const std::string& edp, const Requisition& requisition, uint64_t nonce,
                    const UploadBody& body, const std::string& announced_sha256 = "") {
  const std::string& bytes = body.bytes;
  auto stub = v1::RequisitionFulfillment::NewStub(
      net::OpenChannel(absl::StrCat("localhost:", d.FulfillmentPort(requisition.fulfilling_duchy())), d[edp].tls, net::DuchySubject(requisition.fulfilling_duchy())));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  v1::FulfillRequisitionResponse response;
  auto stream = stub->FulfillRequisition(&context, &response);
  v1::FulfillRequisitionRequest header;
  auto& h = *header.mutable_header();
  h.set_requisition(api::ComputationRequisitionOf(requisition.measurement(), requisition.name()));
  h.set_nonce(nonce);
  h.set_requisition_fingerprint(
      api::RequisitionFingerprint(requisition.measurement_spec().data(), requisition.encrypted_requisition_spec()));
  h.set_total_bytes(static_cast<int64_t>(bytes.size()));
  h.set_sha256(announced_sha256.empty() ? crypto::Sha256(bytes) : announced_sha256);
  h.set_encrypted_peer_seed(body.encrypted_peer_seed);
  stream->Write(header);
  SendChunks(bytes, [&](absl::string_view chunk) {
    v1::FulfillRequisitionRequest message;
    message.set_chunk(std::string(chunk));
    return stream->Write(message);
  });
  stream->WritesDone();
  return stream->Finish();
}

// The HMSS upload of `edp`: its data share, and its seed for the other worker.
UploadBody HmssUpload(const Requisition& requisition, const Audience& audience, int edp) {
  const auto spec = *sketch::FrequencyVectorSpec::Create(kPopulation, {0, 1}, kMaxFrequency, 127);
  sketch::FrequencyVector vector = *sketch::FrequencyVector::Create(spec);
  vector.AddEvents(audience.EventsOf(edp));
  const sketch::FrequencyVectorShares shares = std::move(vector).Split();
  const std::string& fulfilling = requisition.fulfilling_duchy();
  const std::string other = fulfilling == "worker1" ? "worker2" : "worker1";
  std::string other_key;
  for (const auto& entry : requisition.duchies()) {
    if (entry.duchy_id() == other) other_key = entry.public_key().data();
  }
  const crypto::EcPoint other_point = *api::ParseEncryptionPublicKey(other_key);
  return UploadBody(std::string(shares.data.view()),
                    *crypto::HybridEncrypt(other_point, shares.seed,
                                           api::ComputationRequisitionOf(requisition.measurement(), requisition.name())));
}

Measurement AwaitResult(Deployment& d, const std::string& name) {
  auto measurements = Measurements::NewStub(d.PublicChannel("measurementConsumers/mc1"));
  Measurement m;
  for (int i = 0; i < 600; ++i) {
    GetMeasurementRequest get;
    get.set_name(name);
    REQUIRE(Call(*measurements, &Measurements::Stub::GetMeasurement, get, &m).ok());
    if (m.state() == Measurement::SUCCEEDED || m.state() == Measurement::FAILED) return m;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  FAIL("the measurement did not finish within a minute");
  return m;
}

MeasurementResult OpenResult(Deployment& d, const Measurement& m) {
  REQUIRE(m.results_size() == 1);
  auto certificates = Certificates::NewStub(d.PublicChannel("measurementConsumers/mc1"));
  GetCertificateRequest get;
  get.set_name(m.results(0).certificate());
  Certificate certificate;
  REQUIRE(Call(*certificates, &Certificates::Stub::GetCertificate, get, &certificate).ok());
  CHECK(certificate.subject() == "duchies/aggregator");
  auto signed_result = api::DecryptResult(d.mc_key(), m.results(0).encrypted_result(), m.name());
  REQUIRE(signed_result.ok());
  MeasurementResult result;
  REQUIRE(api::VerifyAndParse(*signed_result, *crypto::Certificate::FromDer(certificate.x509_der()), "the result",
                              result)
              .ok());
  return result;
}

// The LLv2 upload of `edp`: its sketch, each register encrypted under the
// duchies' combined key.
std::string Llv2Upload(const Requisition& requisition, const Audience& audience, int edp) {
  std::vector<crypto::ElGamalPublicKey> keys;
  for (const auto& entry : requisition.duchies()) {
    keys.push_back(*crypto::ElGamalPublicKey::Decode(api::ParseEncryptionPublicKey(entry.public_key().data())->Encode()));
  }
  const crypto::ElGamalPublicKey combined = *crypto::ElGamalPublicKey::Combine(keys);
  const auto& config = requisition.protocol_config();
  sketch::LiquidLegionsSketch sketch(*sketch::LiquidLegionsParams::Create(config.decay_rate(), config.sketch_size(), 0));
  sketch.AddEvents(audience.EventsOf(edp));
  if (config.protocol() == REACH_ONLY_LIQUID_LEGIONS_V2) {
    return *protocol::llv2::EncryptReachOnlySketch(sketch, combined, 2);
  }
  return *protocol::llv2::EncryptSketch(sketch, combined, 2);
}

// Runs one measurement end to end and checks its result against `audience`.
void Measure(Deployment& d, bool frequency, const Audience& audience, Protocol expected) {
  const Asked asked = Ask(d, frequency);
  REQUIRE(asked.measurement.protocol_config().protocol() == expected);
  for (int edp : {1, 2}) {
    const std::string name = absl::StrCat("dataProviders/edp", edp);
    const Requisition requisition = AwaitRequisition(d, name);
    const UploadBody upload = expected == HONEST_MAJORITY_SHARE_SHUFFLE ? HmssUpload(requisition, audience, edp)
                                                                         : UploadBody(Llv2Upload(requisition, audience, edp));
    const grpc::Status uploaded = Upload(d, name, requisition, asked.nonces.at(name), upload);
    INFO(uploaded.error_message());
    REQUIRE(uploaded.ok());
  }
  const Measurement done = AwaitResult(d, asked.measurement.name());
  INFO(done.failure().message());
  REQUIRE(done.state() == Measurement::SUCCEEDED);
  const MeasurementResult result = OpenResult(d, done);
  INFO("reach " << result.reach().value() << " +- " << result.reach().standard_error());
  CHECK(result.reach().standard_error() > 0);
  CHECK(std::abs(result.reach().value() - static_cast<double>(audience.reach)) <= 3 * result.reach().standard_error());
  if (!frequency) return;
  const std::vector<double> truth = audience.Frequency();
  REQUIRE(result.frequency().relative_frequency_size() == kMaxFrequency);
  // The distribution is one result within 3 standard errors: its buckets
  // checked together (stats::SimultaneousStandardErrors).
  const double k_se = stats::SimultaneousStandardErrors(3, kMaxFrequency);
  for (int k = 0; k < kMaxFrequency; ++k) {
    INFO("frequency " << k + 1 << ": " << result.frequency().relative_frequency(k) << " +- "
                      << result.frequency().standard_error(k) << " against " << truth[k]);
    CHECK(std::abs(result.frequency().relative_frequency(k) - truth[k]) <=
          k_se * result.frequency().standard_error(k) + 1e-9);
  }
}

TEST_CASE("HMSS: duchies carry reach and reach-and-frequency measurements to signed results within 3 standard errors") {
  Deployment d(/*hmss=*/true);
  Measure(d, /*frequency=*/true, {16000}, HONEST_MAJORITY_SHARE_SHUFFLE);
  Measure(d, /*frequency=*/false, {12000}, HONEST_MAJORITY_SHARE_SHUFFLE);
}

// edp2 uploads its HMSS share; the measurement must then come out right.
void FinishWithEdp2(Deployment& d, const Asked& asked, const Audience& audience) {
  const Requisition second = AwaitRequisition(d, "dataProviders/edp2");
  // Retried while UNAVAILABLE, as an EDP agent does: after a Kingdom
  // restart the duchy's channel to it may still be waiting to reconnect.
  const UploadBody body = HmssUpload(second, audience, 2);
  grpc::Status uploaded;
  for (int i = 0; i < 60; ++i) {
    uploaded = Upload(d, "dataProviders/edp2", second, asked.nonces.at("dataProviders/edp2"), body);
    if (uploaded.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  INFO("edp2's upload: " << uploaded.error_message());
  REQUIRE(uploaded.ok());
  const Measurement done = AwaitResult(d, asked.measurement.name());
  REQUIRE(done.state() == Measurement::SUCCEEDED);
  const MeasurementResult result = OpenResult(d, done);
  INFO("reach " << result.reach().value() << " +- " << result.reach().standard_error());
  CHECK(std::abs(result.reach().value() - static_cast<double>(audience.reach)) <= 3 * result.reach().standard_error());
}

TEST_CASE("An upload with a wrong nonce, a tampered digest, another EDP's name, a bad data share or replayed with "
          "other bytes is refused, and the measurement still comes out right") {
  Deployment d(/*hmss=*/true);
  const Audience audience{12000};
  const Asked asked = Ask(d, /*frequency=*/false);
  const Requisition first = AwaitRequisition(d, "dataProviders/edp1");
  const uint64_t nonce = asked.nonces.at("dataProviders/edp1");
  const UploadBody upload = HmssUpload(first, audience, 1);

  // A data share is refused from its header when it cannot fit the
  // computation, and at the first slot outside the ring as it arrives.
  UploadBody out_of_ring = upload;
  out_of_ring.bytes[kPopulation - 10] = static_cast<char>(127);
  const grpc::Status bad_slot = Upload(d, "dataProviders/edp1", first, nonce, out_of_ring);
  CHECK(bad_slot.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(bad_slot.error_message(), Catch::Contains(absl::StrCat("slot ", kPopulation - 10, " holds 127")));
  const grpc::Status short_share =
      Upload(d, "dataProviders/edp1", first, nonce, UploadBody(upload.bytes.substr(1), upload.encrypted_peer_seed));
  CHECK(short_share.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(short_share.error_message(), Catch::Contains("frequency vectors have"));
  const grpc::Status no_seed = Upload(d, "dataProviders/edp1", first, nonce, UploadBody(upload.bytes));
  CHECK(no_seed.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(no_seed.error_message(), Catch::Contains("encrypted_peer_seed"));

  const grpc::Status wrong_nonce = Upload(d, "dataProviders/edp1", first, nonce + 1, upload);
  CHECK(wrong_nonce.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(wrong_nonce.error_message(), Catch::Contains("nonce"));
  const grpc::Status tampered = Upload(d, "dataProviders/edp1", first, nonce, upload, crypto::Sha256("other bytes"));
  CHECK(tampered.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(tampered.error_message(), Catch::Contains("SHA-256"));
  const grpc::Status stranger = Upload(d, "dataProviders/edp2", first, nonce, upload);
  CHECK(stranger.error_code() == grpc::StatusCode::PERMISSION_DENIED);

  REQUIRE(Upload(d, "dataProviders/edp1", first, nonce, upload).ok());
  // A resend of the same bytes is acknowledged; other bytes under the same
  // nonce are refused and the first upload stands.
  CHECK(Upload(d, "dataProviders/edp1", first, nonce, upload).ok());
  const grpc::Status replay = Upload(d, "dataProviders/edp1", first, nonce, HmssUpload(first, Audience{6000}, 1));
  CHECK(replay.error_code() == grpc::StatusCode::ALREADY_EXISTS);

  FinishWithEdp2(d, asked, audience);
}

TEST_CASE("An upload a duchy kept without telling the Kingdom is completed by the EDP's retry, though its bytes "
          "differ") {
  Deployment d(/*hmss=*/true);
  const Audience audience{12000};
  const Asked asked = Ask(d, /*frequency=*/false);
  const Requisition first = AwaitRequisition(d, "dataProviders/edp1");
  const uint64_t nonce = asked.nonces.at("dataProviders/edp1");
  // The duchy knows edp1's certificate from a refused upload (it asks the
  // Kingdom once a minute)...
  CHECK(Upload(d, "dataProviders/edp1", first, nonce + 1, HmssUpload(first, audience, 1)).error_code() ==
        grpc::StatusCode::INVALID_ARGUMENT);
  // ...so when the Kingdom is down as the upload arrives, the duchy keeps
  // it, cannot tell the Kingdom, and the EDP hears of the failure.
  d.deployment().StopKingdom();
  const grpc::Status lost = Upload(d, "dataProviders/edp1", first, nonce, HmssUpload(first, audience, 1));
  CHECK_FALSE(lost.ok());
  REQUIRE(d.deployment().StartKingdom().ok());
  // The EDP's retry splits its vector afresh, so its bytes differ: the duchy
  // keeps the first upload and tells the Kingdom of it.
  // It retries, as an EDP agent does, until the duchy answers for good.
  grpc::Status retried;
  for (int i = 0; i < 60; ++i) {
    retried = Upload(d, "dataProviders/edp1", first, nonce, HmssUpload(first, audience, 1));
    if (retried.error_code() != grpc::StatusCode::UNAVAILABLE) break;
    absl::SleepFor(absl::Milliseconds(500));
  }
  INFO(retried.error_message());
  CHECK((retried.ok() || retried.error_code() == grpc::StatusCode::ALREADY_EXISTS));
  auto requisitions = Requisitions::NewStub(d.PublicChannel("dataProviders/edp1"));
  GetRequisitionRequest get;
  get.set_name(first.name());
  Requisition now;
  REQUIRE(Call(*requisitions, &Requisitions::Stub::GetRequisition, get, &now).ok());
  CHECK(now.state() == Requisition::FULFILLED);

  FinishWithEdp2(d, asked, audience);
}

// Sends `bytes` to `duchy` as `sender`, as the input of `stage`.
grpc::Status SendInput(Deployment& d, const std::string& sender, const std::string& duchy,
                       const std::string& computation, v1::ComputationStage stage, const std::string& bytes,
                       int32_t protocol_version = api::kProtocolVersion) {
  auto stub = v1::ComputationControl::NewStub(
      net::OpenChannel(absl::StrCat("localhost:", d.ControlPort(duchy)), d[sender].tls, net::DuchySubject(duchy)));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::AdvanceComputationResponse response;
  auto stream = stub->AdvanceComputation(&context, &response);
  v1::AdvanceComputationRequest header;
  header.mutable_header()->set_computation(computation);
  header.mutable_header()->set_stage(stage);
  header.mutable_header()->set_total_bytes(static_cast<int64_t>(bytes.size()));
  header.mutable_header()->set_sha256(crypto::Sha256(bytes));
  header.mutable_header()->set_protocol_version(protocol_version);
  stream->Write(header);
  v1::AdvanceComputationRequest chunk;
  chunk.set_chunk(bytes);
  stream->Write(chunk);
  stream->WritesDone();
  return stream->Finish();
}

TEST_CASE("A register vector that is not whole registers, stage inputs from a party whose plan does not send "
          "them, and of another protocol version, are refused") {
  Deployment d(/*hmss=*/false);
  const Asked asked = Ask(d, /*frequency=*/false);
  const Requisition requisition = AwaitRequisition(d, "dataProviders/edp1");
  std::string upload = Llv2Upload(requisition, Audience{100}, 1);
  upload.pop_back();
  const grpc::Status short_vector =
      Upload(d, "dataProviders/edp1", requisition, asked.nonces.at("dataProviders/edp1"), upload);
  CHECK(short_vector.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(short_vector.error_message(), Catch::Contains("whole number"));

  const std::string computation = api::ComputationOf(asked.measurement.name());
  // worker2 sends its setup to the aggregator, never to worker1.
  const grpc::Status wrong_sender =
      SendInput(d, "duchies/worker2", "worker1", computation, v1::WAIT_SETUP_PHASE_INPUTS, "registers");
  CHECK(wrong_sender.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(wrong_sender.error_message(), Catch::Contains("sends no input of WAIT_SETUP_PHASE_INPUTS"));
  const grpc::Status not_a_duchy =
      SendInput(d, "dataProviders/edp1", "aggregator", computation, v1::WAIT_SETUP_PHASE_INPUTS, "registers");
  CHECK(not_a_duchy.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  // A duchy on another build, whose stages would give a wrong result.
  CHECK(computation == api::ComputationOf(asked.measurement.name()));
  CHECK(asked.measurement.protocol_config().protocol_version() == api::kProtocolVersion);
  const grpc::Status other_version = SendInput(d, "duchies/worker1", "worker2", computation,
                                               v1::WAIT_SETUP_PHASE_INPUTS, "registers", api::kProtocolVersion + 1);
  CHECK(other_version.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(other_version.error_message(),
             Catch::Contains(absl::StrCat("speaks protocol version ", api::kProtocolVersion + 1)) &&
                 Catch::Contains(absl::StrCat("speaks version ", api::kProtocolVersion)));
}

// A certificate for `subject` from the root of `issuer`'s organisation.
net::TlsMaterial Forge(Deployment& d, const std::string& issuer, const std::string& subject) {
  const crypto::SigningKey key = crypto::SigningKey::Generate();
  crypto::CertificateRequest request;
  request.subject_name = subject;
  const crypto::Certificate forged = *d.deployment().root(issuer).Issue(request, key.verifying_key());
  return {forged.ToPem(), key.ToPrivateKeyPem(), d[issuer].tls.trusted_ca_pem, subject};
}

TEST_CASE("A certificate from another organisation's root speaks for no one: not an administrator, a duchy nor an "
          "EDP, at the Kingdom or at a duchy") {
  Deployment d(/*hmss=*/false);
  const Asked asked = Ask(d, /*frequency=*/false);
  const Requisition requisition = AwaitRequisition(d, "dataProviders/edp1");
  const std::string computation = api::ComputationOf(asked.measurement.name());
  const std::string kingdom = absl::StrCat("localhost:", d.deployment().kingdom_public_port());

  // EDP 1's organisation writes the subjects of others with its own root,
  // which every party trusts (for EDP 1).
  const net::TlsMaterial admin = Forge(d, "dataProviders/edp1", "admins/operator");
  CreateMeasurementConsumerRequest create;
  create.set_measurement_consumer_id("intruder");
  create.mutable_measurement_consumer()->set_certificate_der(crypto::Certificate::FromPem(admin.certificate_pem)->ToDer());
  create.mutable_measurement_consumer()->set_root_certificate_der(
      d.deployment().root("dataProviders/edp1").certificate().ToDer());
  MeasurementConsumer created;
  const grpc::Status as_admin =
      Call(*Admin::NewStub(net::OpenChannel(kingdom, admin, net::kKingdomSubject)), &Admin::Stub::CreateMeasurementConsumer, create, &created);
  CHECK(as_admin.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  CHECK_THAT(as_admin.error_message(), Catch::Contains("not registered"));

  const net::TlsMaterial worker1 = Forge(d, "dataProviders/edp1", "duchies/worker1");
  GetComputationRequest get;
  get.set_name(computation);
  Computation seen;
  const grpc::Status at_kingdom =
      Call(*Computations::NewStub(
               net::OpenChannel(absl::StrCat("localhost:", d.deployment().kingdom_system_port()), worker1, net::kKingdomSubject)),
           &Computations::Stub::GetComputation, get, &seen);
  CHECK(at_kingdom.error_code() == grpc::StatusCode::UNAUTHENTICATED);
  d["duchies/worker1"].tls = worker1;  // the aggregator hears worker1's setup from worker1
  const grpc::Status at_duchy =
      SendInput(d, "duchies/worker1", "aggregator", computation, v1::WAIT_SETUP_PHASE_INPUTS, "registers");
  CHECK(at_duchy.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(at_duchy.error_message(), Catch::Contains("not registered with the Kingdom"));

  // Nor may the administrator register such a certificate for worker1: it
  // is not from worker1's root.
  CreateCertificateRequest add;
  add.set_parent("duchies/worker1");
  add.mutable_certificate()->set_x509_der(crypto::Certificate::FromPem(worker1.certificate_pem)->ToDer());
  Certificate added;
  const grpc::Status registered = Call(*Certificates::NewStub(net::OpenChannel(kingdom, d.deployment().tls("admins/operator"), net::kKingdomSubject)),
                                       &Certificates::Stub::CreateCertificate, add, &added);
  CHECK(registered.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK_THAT(registered.error_message(), Catch::Contains("not issued by the root of duchies/worker1"));

  // EDP 1's own root, but a certificate the Kingdom never registered, may
  // not upload for EDP 1.
  d["dataProviders/edp1"].tls = Forge(d, "dataProviders/edp1", "dataProviders/edp1");
  const grpc::Status upload = Upload(d, "dataProviders/edp1", requisition, asked.nonces.at("dataProviders/edp1"),
                                     Llv2Upload(requisition, Audience{100}, 1));
  CHECK(upload.error_code() == grpc::StatusCode::PERMISSION_DENIED);
  CHECK_THAT(upload.error_message(), Catch::Contains("not registered with the Kingdom"));
}

TEST_CASE("LLv2 and reach-only LLv2: duchies carry measurements to signed results within 3 standard errors, their "
          "blobs kept as files") {
  Deployment d(/*hmss=*/false, config::DuchyConfig::FILE_SYSTEM);
  Measure(d, /*frequency=*/false, {2000}, REACH_ONLY_LIQUID_LEGIONS_V2);
  Measure(d, /*frequency=*/true, {1600}, LIQUID_LEGIONS_V2);
}

TEST_CASE("Each duchy as a herald and two mills of its own over the mill service: LLv2 and HMSS results are right") {
  {
    Deployment d(/*hmss=*/false, config::DuchyConfig::ROCKSDB, /*remote_mills=*/2);
    Measure(d, /*frequency=*/true, {1600}, LIQUID_LEGIONS_V2);
  }
  Deployment d(/*hmss=*/true, config::DuchyConfig::ROCKSDB, /*remote_mills=*/2);
  Measure(d, /*frequency=*/true, {16000}, HONEST_MAJORITY_SHARE_SHUFFLE);
}

}  // namespace
}  // namespace halo::duchy
