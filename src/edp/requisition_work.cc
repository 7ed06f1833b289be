#include "requisition_work.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "direct_result.h"
#include "halo/api/envelopes.h"
#include "halo/api/nonce.h"
#include "halo/api/replay_seed.h"
#include "halo/common/large_buffer.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/elgamal.h"
#include "halo/crypto/random.h"
#include "halo/crypto/sha256.h"
#include "halo/duchy/v1/duchy.grpc.pb.h"
#include "halo/net/call.h"
#include "halo/net/chunks.h"
#include "halo/net/peer.h"
#include "halo/protocol/llv2.h"
#include "halo/protocol/reach_only_llv2.h"
#include "halo/dp/privacy_accounting.h"
#include "refusal.h"

namespace halo::edp {
namespace {

using api::v1::Requisition;
using Refusal = api::v1::Requisition::Refusal;

// "measurementConsumers/{mc}" of "measurementConsumers/{mc}/measurements/{m}".
std::string MeasurementConsumerOf(const std::string& measurement) {
  const size_t at = measurement.find("/measurements/");
  return at == std::string::npos ? "" : measurement.substr(0, at);
}

// A certificate a signature is checked with: a refusal if it is not
// trustworthy, an error to retry if the Kingdom could not be asked.
absl::StatusOr<crypto::Certificate> TrustedCertificate(const AgentContext& agent, const std::string& name,
                                                       const std::string& owner) {
  absl::StatusOr<crypto::Certificate> certificate = agent.certificates->ResolveOf(name, owner);
  if (absl::IsPermissionDenied(certificate.status()) || absl::IsNotFound(certificate.status())) {
    return RefuseWith(Refusal::CONSENT_SIGNAL_INVALID, certificate.status());
  }
  return certificate;
}

absl::Status CheckNonce(const VerifiedRequisition& v) {
  const std::string hash = api::NonceHash(v.requisition_spec.nonce());
  if (hash != v.requisition.nonce_hash()) {
    return Refuse(Refusal::SPEC_INVALID, "the requisition spec's nonce does not hash to the requisition's nonce hash");
  }
  const auto& hashes = v.measurement_spec.nonce_hashes();
  if (std::find(hashes.begin(), hashes.end(), hash) == hashes.end()) {
    return Refuse(Refusal::SPEC_INVALID, "the measurement spec does not list this requisition's nonce hash");
  }
  if (v.requisition_spec.measurement_public_key() != v.measurement_spec.measurement_public_key()) {
    return Refuse(Refusal::SPEC_INVALID,
                  "the requisition spec's measurement key differs from the measurement spec's: it belongs to "
                  "another measurement");
  }
  return absl::OkStatus();
}

// The measurement's sample: its VID sampling interval over the population
// the Kingdom names.
absl::StatusOr<sketch::VidSampler> SamplerOf(const VerifiedRequisition& v) {
  const auto& spec = v.measurement_spec;
  const sketch::VidSamplingInterval interval{
      spec.vid_sampling_interval().start(), spec.has_vid_sampling_interval() ? spec.vid_sampling_interval().width() : 1.0};
  const int64_t population = v.requisition.protocol_config().population_size();
  if (population <= 0) {
    return Refuse(Refusal::SPEC_INVALID, "the protocol config names no population_size to sample VIDs from");
  }
  absl::StatusOr<sketch::VidSampler> sampler = sketch::VidSampler::Create(static_cast<uint64_t>(population), interval);
  if (!sampler.ok()) return RefuseWith(Refusal::SPEC_INVALID, sampler.status());
  return sampler;
}

// Events of VIDs outside the population are left out of every measurement;
// the operator should know how many, since they point at a VID model that
// does not match the Kingdom's population.
void LogLeftOut(const AgentContext& agent, const VerifiedRequisition& v, const SampleCounts& counts) {
  if (counts.outside_population == 0) return;
  spdlog::warn("{}: {} left out {} selected events whose VIDs are outside the population of {}", agent.data_provider,
               v.requisition.name(), counts.outside_population, v.requisition.protocol_config().population_size());
}

absl::StatusOr<std::vector<EventGroupSelection>> Selections(const AgentContext& agent, const VerifiedRequisition& v,
                                                            const std::string& measurement_consumer) {
  if (v.requisition_spec.event_groups().empty()) {
    return Refuse(Refusal::SPEC_INVALID, "the requisition spec names no event group");
  }
  std::vector<EventGroupSelection> selections;
  for (const auto& entry : v.requisition_spec.event_groups()) {
    auto group = agent.event_groups.find(entry.event_group());
    if (group == agent.event_groups.end()) {
      return Refuse(Refusal::SPEC_INVALID, absl::StrCat("event group ", entry.event_group(), " is not one of ",
                                                        agent.data_provider, "'s"));
    }
    if (group->second.measurement_consumer != measurement_consumer) {
      return Refuse(Refusal::SPEC_INVALID, absl::StrCat("event group ", entry.event_group(), " is not shared with ",
                                                        measurement_consumer));
    }
    const auto& interval = entry.collection_interval();
    if (interval.end_micros() <= interval.start_micros()) {
      return Refuse(Refusal::SPEC_INVALID, absl::StrCat("event group ", entry.event_group(),
                                                        ": the collection interval ends before it starts"));
    }
    auto filter = EventFilter::Parse(entry.filter());
    if (!filter.ok()) return RefuseWith(Refusal::SPEC_INVALID, filter.status());
    selections.push_back({group->second.reference_id, interval.start_micros(), interval.end_micros(), *filter});
  }
  return selections;
}

// The duchies' keys for the computation, each checked against its
// certificate: the key of `duchy_id`, or of every duchy in ring order.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> DuchyKeys(const AgentContext& agent,
                                                                           const Requisition& requisition) {
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& entry : requisition.duchies()) {
    const std::string owner = absl::StrCat("duchies/", entry.duchy_id());
    ASSIGN_OR_RETURN(crypto::Certificate certificate,
                     TrustedCertificate(agent, entry.public_key().certificate(), owner));
    api::v1::EncryptionPublicKey key;
    absl::Status verified =
        api::VerifyAndParse(entry.public_key(), certificate, absl::StrCat(owner, "'s computation key"), key);
    if (!verified.ok()) return RefuseWith(Refusal::CONSENT_SIGNAL_INVALID, verified);
    keys.emplace_back(entry.duchy_id(), entry.public_key().data());
  }
  return keys;
}

// Streams `bytes` to the fulfilling duchy; an HMSS upload's bytes are the
// data share, and its header carries the other worker's encrypted seed.
absl::Status Upload(const AgentContext& agent, const VerifiedRequisition& v, absl::string_view bytes,
                    absl::string_view encrypted_peer_seed) {
  const Requisition& r = v.requisition;
  auto target = agent.duchy_targets.find(r.fulfilling_duchy());
  if (target == agent.duchy_targets.end()) {
    return absl::FailedPreconditionError(absl::StrCat("the config names no requisition_fulfillment_target for duchy ",
                                                      r.fulfilling_duchy()));
  }
  RETURN_IF_ERROR(agent.budget->MarkReleased(MeasurementConsumerOf(r.measurement()), r.name()));
  auto stub = duchy::v1::RequisitionFulfillment::NewStub(net::OpenChannel(target->second, agent.tls, net::DuchySubject(r.fulfilling_duchy()), agent.metrics));
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(10));
  duchy::v1::FulfillRequisitionResponse response;
  auto stream = stub->FulfillRequisition(&context, &response);
  duchy::v1::FulfillRequisitionRequest header;
  auto& h = *header.mutable_header();
  h.set_requisition(api::ComputationRequisitionOf(r.measurement(), r.name()));
  h.set_nonce(v.requisition_spec.nonce());
  h.set_requisition_fingerprint(
      api::RequisitionFingerprint(r.measurement_spec().data(), r.encrypted_requisition_spec()));
  h.set_total_bytes(static_cast<int64_t>(bytes.size()));
  h.set_sha256(crypto::Sha256(bytes));
  h.set_encrypted_peer_seed(std::string(encrypted_peer_seed));
  if (stream->Write(header)) {
    net::SendChunks(bytes, [&](absl::string_view chunk) {
      duchy::v1::FulfillRequisitionRequest message;
      message.set_chunk(std::string(chunk));
      return stream->Write(message);
    });
  }
  stream->WritesDone();
  const grpc::Status status = stream->Finish();
  // A resend after a lost answer finds its upload held: with fresh
  // randomness the bytes differ, and the duchy keeps the first.
  if (status.error_code() == grpc::StatusCode::ALREADY_EXISTS) return absl::OkStatus();
  return net::FromGrpc(status, absl::StrCat("duchy ", r.fulfilling_duchy(), "'s FulfillRequisition"));
}

absl::StatusOr<std::string> Llv2Upload(const AgentContext& agent, const VerifiedRequisition& v,
                                       const sketch::VidSampler& sampler, absl::Span<const std::string> files) {
  const auto& config = v.requisition.protocol_config();
  ASSIGN_OR_RETURN(auto keys, DuchyKeys(agent, v.requisition));
  std::vector<crypto::ElGamalPublicKey> points;
  for (const auto& [duchy, serialized] : keys) {
    absl::StatusOr<crypto::EcPoint> point =
        api::ParseProvenElGamalKey(serialized, api::ComputationOf(v.requisition.measurement()), duchy);
    absl::StatusOr<crypto::ElGamalPublicKey> key =
        point.ok() ? crypto::ElGamalPublicKey::Decode(point->Encode()) : absl::StatusOr<crypto::ElGamalPublicKey>(point.status());
    if (!key.ok()) {
      return Refuse(Refusal::SPEC_INVALID, absl::StrCat("duchy ", duchy, "'s key: ", key.status().message()));
    }
    points.push_back(*key);
  }
  auto combined = crypto::ElGamalPublicKey::Combine(points);
  if (!combined.ok()) return RefuseWith(Refusal::SPEC_INVALID, combined.status());
  auto params = sketch::LiquidLegionsParams::Create(config.decay_rate(), static_cast<uint64_t>(config.sketch_size()),
                                                    config.sketch_fingerprint_seed());
  if (!params.ok()) return RefuseWith(Refusal::SPEC_INVALID, params.status());
  SampleCounts counts;
  ASSIGN_OR_RETURN(sketch::LiquidLegionsSketch sketch, BuildSketch(files, v.selections, *params, sampler, counts));
  LogLeftOut(agent, v, counts);
  if (config.protocol() == api::v1::REACH_ONLY_LIQUID_LEGIONS_V2) {
    return protocol::llv2::EncryptReachOnlySketch(sketch, *combined, agent.parallelism);
  }
  return protocol::llv2::EncryptSketch(sketch, *combined, agent.parallelism);
}

// What an HMSS requisition uploads: the data share of the EDP's frequency
// vector, and the seed of the other share encrypted to the other worker.
struct HmssUpload {
  LargeBuffer share;
  std::string encrypted_peer_seed;
};

absl::StatusOr<HmssUpload> HmssUploadOf(const AgentContext& agent, const VerifiedRequisition& v,
                                        const sketch::VidSampler& sampler, absl::Span<const std::string> files) {
  const auto& config = v.requisition.protocol_config();
  const auto& spec = v.measurement_spec;
  ASSIGN_OR_RETURN(auto keys, DuchyKeys(agent, v.requisition));
  // The seed goes to the worker that does not take the upload.
  std::string other_key;
  for (int i = 0; i + 1 < config.duchies_size(); ++i) {
    if (config.duchies(i) == v.requisition.fulfilling_duchy()) continue;
    for (const auto& [duchy, serialized] : keys) {
      if (duchy == config.duchies(i)) other_key = serialized;
    }
  }
  auto other = api::ParseEncryptionPublicKey(other_key);
  if (!other.ok()) {
    return Refuse(Refusal::SPEC_INVALID,
                  absl::StrCat("the other HMSS worker's key is missing or bad: ", other.status().message()));
  }
  const uint32_t max_frequency =
      spec.has_reach_and_frequency() ? static_cast<uint32_t>(spec.reach_and_frequency().maximum_frequency()) : 1;
  auto vector_spec = sketch::FrequencyVectorSpec::Create(sampler.order().population_size(), sampler.interval(),
                                                         max_frequency, static_cast<uint32_t>(config.ring_modulus()));
  if (!vector_spec.ok()) return RefuseWith(Refusal::SPEC_INVALID, vector_spec.status());
  SampleCounts counts;
  ASSIGN_OR_RETURN(sketch::FrequencyVector vector, BuildFrequencyVector(files, v.selections, *vector_spec, counts));
  LogLeftOut(agent, v, counts);
  sketch::FrequencyVectorShares shares = std::move(vector).Split();
  HmssUpload upload;
  ASSIGN_OR_RETURN(upload.encrypted_peer_seed,
                   crypto::HybridEncrypt(*other, shares.seed,
                                         api::ComputationRequisitionOf(v.requisition.measurement(), v.requisition.name())));
  upload.share = std::move(shares.data);
  return upload;
}

absl::Status FulfilDirect(const AgentContext& agent, const VerifiedRequisition& v, const sketch::VidSampler& sampler,
                          absl::Span<const std::string> files) {
  const auto& spec = v.measurement_spec;
  VidTally tally(sampler);
  absl::Status added = tally.Add(files, v.selections);
  LogLeftOut(agent, v, tally.counts());
  if (absl::IsFailedPrecondition(added)) return RefuseWith(Refusal::UNFULFILLABLE, added);
  RETURN_IF_ERROR(added);
  ASSIGN_OR_RETURN(const std::unique_ptr<crypto::RandomSource> random,
                   crypto::NewRandomSource(
                       api::ReplaySeed(agent.replay_seed, agent.data_provider, "direct noise", spec, api::v1::DIRECT)));
  absl::StatusOr<api::v1::MeasurementResult> result =
      ComputeDirectResult(spec, v.requisition.protocol_config().noise_mechanism(), tally, *random);
  if (absl::IsFailedPrecondition(result.status())) return RefuseWith(Refusal::UNFULFILLABLE, result.status());
  if (!result.ok()) return RefuseWith(Refusal::SPEC_INVALID, result.status());
  const api::v1::SignedMessage signed_result = api::Sign(*result, agent.signing_key, agent.certificate);
  ASSIGN_OR_RETURN(std::string encrypted,
                   api::EncryptResult(signed_result, spec.measurement_public_key(), v.requisition.measurement()));
  RETURN_IF_ERROR(agent.budget->MarkReleased(MeasurementConsumerOf(v.requisition.measurement()), v.requisition.name()));
  api::v1::FulfillDirectRequisitionRequest request;
  request.set_name(v.requisition.name());
  request.set_nonce(v.requisition_spec.nonce());
  request.set_certificate(agent.certificate);
  request.set_encrypted_result(encrypted);
  auto requisitions = api::v1::Requisitions::NewStub(agent.kingdom);
  absl::StatusOr<Requisition> done =
      net::Call(*requisitions, &api::v1::Requisitions::Stub::FulfillDirectRequisition, request,
                "the Kingdom's FulfillDirectRequisition");
  if (!absl::IsFailedPrecondition(done.status())) return done.status();
  // A retry after a lost answer finds it fulfilled already; any other state
  // (refused, withdrawn) is the Kingdom's refusal to pass on.
  api::v1::GetRequisitionRequest get;
  get.set_name(v.requisition.name());
  absl::StatusOr<Requisition> now =
      net::Call(*requisitions, &api::v1::Requisitions::Stub::GetRequisition, get, "the Kingdom's GetRequisition");
  if (now.ok() && now->state() == Requisition::FULFILLED) return absl::OkStatus();
  return done.status();
}

}  // namespace

absl::StatusOr<VerifiedRequisition> VerifyRequisition(const AgentContext& agent, const Requisition& requisition) {
  VerifiedRequisition v;
  v.requisition = requisition;
  const std::string measurement_consumer = MeasurementConsumerOf(requisition.measurement());
  ASSIGN_OR_RETURN(crypto::Certificate mc_certificate,
                   TrustedCertificate(agent, requisition.measurement_consumer_certificate(), measurement_consumer));
  absl::Status spec_ok =
      api::VerifyAndParse(requisition.measurement_spec(), mc_certificate, "the measurement spec", v.measurement_spec);
  if (!spec_ok.ok()) return RefuseWith(Refusal::CONSENT_SIGNAL_INVALID, spec_ok);
  absl::StatusOr<api::v1::SignedMessage> signed_spec =
      api::DecryptRequisitionSpec(agent.encryption_key, requisition.encrypted_requisition_spec());
  if (!signed_spec.ok()) {
    return Refuse(Refusal::CONSENT_SIGNAL_INVALID,
                  absl::StrCat("the requisition spec does not decrypt with this EDP's key: ",
                               signed_spec.status().message()));
  }
  if (signed_spec->certificate() != requisition.measurement_consumer_certificate()) {
    return Refuse(Refusal::CONSENT_SIGNAL_INVALID,
                  absl::StrCat("the requisition spec is signed by ", signed_spec->certificate(),
                               ", not by the measurement's ", requisition.measurement_consumer_certificate()));
  }
  absl::Status requisition_ok =
      api::VerifyAndParse(*signed_spec, mc_certificate, "the requisition spec", v.requisition_spec);
  if (!requisition_ok.ok()) return RefuseWith(Refusal::CONSENT_SIGNAL_INVALID, requisition_ok);
  RETURN_IF_ERROR(CheckNonce(v));
  ASSIGN_OR_RETURN(v.selections, Selections(agent, v, measurement_consumer));
  if (v.measurement_spec.has_population()) {
    return Refuse(Refusal::UNFULFILLABLE, "population measurements need a population model this agent does not have");
  }
  return v;
}

namespace {

// Refuses DP parameters, frequencies and caps above this EDP's limits,
// naming the parameter and the limit.
absl::Status CheckLimits(const PrivacyLimits& limits, const api::v1::MeasurementSpec& spec) {
  const auto params = [&](const api::v1::DifferentialPrivacyParams& p, absl::string_view field) -> absl::Status {
    if (!(p.epsilon() <= limits.maximum_epsilon)) {
      return Refuse(Refusal::INSUFFICIENT_PRIVACY_BUDGET,
                    absl::StrCat(field, ".epsilon ", p.epsilon(), " is above this EDP's limit of ",
                                 limits.maximum_epsilon, " a requisition (privacy.maximum_epsilon)"));
    }
    if (!(p.delta() <= limits.maximum_delta)) {
      return Refuse(Refusal::INSUFFICIENT_PRIVACY_BUDGET,
                    absl::StrCat(field, ".delta ", p.delta(), " is above this EDP's limit of ", limits.maximum_delta,
                                 " a requisition (privacy.maximum_delta)"));
    }
    return absl::OkStatus();
  };
  const auto at_most = [](int64_t value, int64_t limit, absl::string_view field, absl::string_view setting) {
    if (value <= limit) return absl::OkStatus();
    return Refuse(Refusal::DECLINED, absl::StrCat(field, " ", value, " is above this EDP's limit of ", limit,
                                                  " (privacy.", setting, ")"));
  };
  if (spec.has_reach()) RETURN_IF_ERROR(params(spec.reach().privacy_params(), "reach.privacy_params"));
  if (spec.has_reach_and_frequency()) {
    const auto& rf = spec.reach_and_frequency();
    RETURN_IF_ERROR(params(rf.reach_privacy_params(), "reach_and_frequency.reach_privacy_params"));
    RETURN_IF_ERROR(params(rf.frequency_privacy_params(), "reach_and_frequency.frequency_privacy_params"));
    RETURN_IF_ERROR(at_most(rf.maximum_frequency(), limits.maximum_frequency, "reach_and_frequency.maximum_frequency",
                            "maximum_frequency"));
  }
  if (spec.has_impression()) {
    RETURN_IF_ERROR(params(spec.impression().privacy_params(), "impression.privacy_params"));
    RETURN_IF_ERROR(at_most(spec.impression().maximum_frequency_per_user(), limits.maximum_impressions_per_user,
                            "impression.maximum_frequency_per_user", "maximum_impressions_per_user"));
  }
  if (spec.has_duration()) {
    RETURN_IF_ERROR(params(spec.duration().privacy_params(), "duration.privacy_params"));
    RETURN_IF_ERROR(at_most(spec.duration().maximum_watch_duration_per_user_seconds(),
                            limits.maximum_watch_seconds_per_user,
                            "duration.maximum_watch_duration_per_user_seconds", "maximum_watch_seconds_per_user"));
  }
  return absl::OkStatus();
}

// What the requisition's noise spends: each DP parameter set it asks for,
// noised by one party (direct) or by the duchies that add noise.
absl::StatusOr<dp::AcdpCharge> ChargeOf(const api::v1::MeasurementSpec& spec, const api::v1::ProtocolConfig& config) {
  const dp::NoiseMechanism mechanism = config.noise_mechanism() == api::v1::GEOMETRIC
                                           ? dp::NoiseMechanism::kGeometric
                                           : dp::NoiseMechanism::kDiscreteGaussian;
  int contributors = 1;
  if (config.protocol() == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE) contributors = config.duchies_size() - 1;
  if (config.protocol() == api::v1::LIQUID_LEGIONS_V2 || config.protocol() == api::v1::REACH_ONLY_LIQUID_LEGIONS_V2) {
    contributors = config.duchies_size();
  }
  std::vector<const api::v1::DifferentialPrivacyParams*> params;
  if (spec.has_reach()) params.push_back(&spec.reach().privacy_params());
  if (spec.has_reach_and_frequency()) {
    params.push_back(&spec.reach_and_frequency().reach_privacy_params());
    params.push_back(&spec.reach_and_frequency().frequency_privacy_params());
  }
  if (spec.has_impression()) params.push_back(&spec.impression().privacy_params());
  if (spec.has_duration()) params.push_back(&spec.duration().privacy_params());
  dp::AcdpCharge total;
  for (const auto* p : params) {
    absl::StatusOr<dp::AcdpCharge> one =
        dp::NoiseCharge(mechanism, {p->epsilon(), p->delta()}, std::max(1, contributors));
    if (!one.ok()) return RefuseWith(Refusal::SPEC_INVALID, one.status());
    total += *one;
  }
  return total;
}

absl::Status Fulfil(const AgentContext& agent, const VerifiedRequisition& v, const sketch::VidSampler& sampler) {
  ASSIGN_OR_RETURN(std::vector<std::string> files, ListEventFiles(agent.events_dir));
  // A precondition the data cannot meet refuses the requisition; what is
  // built is then uploaded.
  const auto built = [](const auto& upload) -> absl::Status {
    if (absl::IsFailedPrecondition(upload.status()) && !RefusalOf(upload.status()).has_value()) {
      return RefuseWith(Refusal::UNFULFILLABLE, upload.status());
    }
    return upload.status();
  };
  const absl::Time began = absl::Now();
  const auto send = [&](absl::string_view bytes, absl::string_view encrypted_peer_seed) -> absl::Status {
    const absl::Time sending = absl::Now();
    RETURN_IF_ERROR(Upload(agent, v, bytes, encrypted_peer_seed));
    spdlog::info("{}: {}: built its upload of {} bytes in {:.3f} s, sent it to duchy {} in {:.3f} s",
                 agent.data_provider, v.requisition.name(), bytes.size(), absl::ToDoubleSeconds(sending - began),
                 v.requisition.fulfilling_duchy(), absl::ToDoubleSeconds(absl::Now() - sending));
    return absl::OkStatus();
  };
  switch (v.requisition.protocol_config().protocol()) {
    case api::v1::DIRECT:
      return FulfilDirect(agent, v, sampler, files);
    case api::v1::LIQUID_LEGIONS_V2:
    case api::v1::REACH_ONLY_LIQUID_LEGIONS_V2: {
      absl::StatusOr<std::string> upload = Llv2Upload(agent, v, sampler, files);
      RETURN_IF_ERROR(built(upload));
      return send(*upload, "");
    }
    case api::v1::HONEST_MAJORITY_SHARE_SHUFFLE: {
      absl::StatusOr<HmssUpload> upload = HmssUploadOf(agent, v, sampler, files);
      RETURN_IF_ERROR(built(upload));
      return send(upload->share.view(), upload->encrypted_peer_seed);
    }
    default:
      return Refuse(Refusal::UNFULFILLABLE, "the requisition's protocol is not one this agent knows");
  }
}

}  // namespace

absl::Status FulfilRequisition(const AgentContext& agent, const VerifiedRequisition& v) {
  const std::string consumer = MeasurementConsumerOf(v.requisition.measurement());
  RETURN_IF_ERROR(CheckLimits(agent.limits, v.measurement_spec));
  // The budget is charged before any of the data is read.
  ASSIGN_OR_RETURN(const sketch::VidSampler sampler, SamplerOf(v));
  absl::StatusOr<PrivacyBuckets> buckets = BucketsOf(consumer, v.selections, sampler, agent.demographics);
  if (!buckets.ok()) return RefuseWith(Refusal::SPEC_INVALID, buckets.status());
  ASSIGN_OR_RETURN(const dp::AcdpCharge charge, ChargeOf(v.measurement_spec, v.requisition.protocol_config()));
  const absl::Status charged = agent.budget->Charge(v.requisition.name(), *buckets, charge);
  if (absl::IsResourceExhausted(charged)) return RefuseWith(Refusal::INSUFFICIENT_PRIVACY_BUDGET, charged);
  RETURN_IF_ERROR(charged);
  absl::Status done = Fulfil(agent, v, sampler);
  if (RefusalOf(done).has_value()) {
    // Refused before anything left the agent: the charge bought nothing.
    absl::StatusOr<bool> refunded = agent.budget->Refund(consumer, v.requisition.name());
    if (!refunded.ok()) return refunded.status();
  }
  return done;
}

}  // namespace halo::edp
