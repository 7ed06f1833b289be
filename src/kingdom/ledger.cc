#include "ledger.h"

#include <algorithm>
#include <optional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/p256.h"
#include "halo/api/certificate_name.h"
#include "halo/api/envelopes.h"
#include "halo/api/nonce.h"
#include "halo/api/pagination.h"
#include "halo/api/resource_names.h"
#include "halo/crypto/sha256.h"
#include "halo/storage/open_database.h"
#include "exchange_ledger.h"
#include "measurement_planner.h"
#include "state_machines.h"

namespace halo::kingdom {

using api::IsValidId;
using api::MatchName;
using api::NewId;
using api::ParseName;
using api::v1::Computation;
using api::v1::Measurement;
using api::v1::MeasurementSpec;
using api::v1::Requisition;
using ComputationState = Computation::State;

namespace {

constexpr absl::Duration kMaxLongPoll = absl::Seconds(60);
// Reads run beside the one writer on this many connections: enough for both
// cores, each read being short.
constexpr int kReaders = 4;
// What the ledger publishes (storage::Database::Publish) to every replica.
constexpr absl::string_view kChangesChannel = "halo_kingdom_changes";
constexpr absl::string_view kRevocationsChannel = "halo_kingdom_revocations";
// Held by the replica running housekeeping (TryExclusive).
constexpr int64_t kHousekeepingLock = 0x68616c6f5f686b70;  // "halo_hkp"

// Each kind of entity: its collection in resource names, how it is stored,
// and who it is when it calls.
struct EntityCollection {
  absl::string_view collection;
  EntityKind kind;
  Principal::Kind principal;
};
constexpr EntityCollection kEntityCollections[] = {
    {"dataProviders", kDataProvider, Principal::Kind::kDataProvider},
    {"measurementConsumers", kMeasurementConsumer, Principal::Kind::kMeasurementConsumer},
    {"duchies", kDuchy, Principal::Kind::kDuchy},
    {"modelProviders", kModelProvider, Principal::Kind::kModelProvider},
};

// The entity collection `name` ("dataProviders/x") or `collection` is in;
// nullptr for none.
const EntityCollection* CollectionOf(absl::string_view name) {
  const absl::string_view collection = name.substr(0, name.find('/'));
  for (const EntityCollection& c : kEntityCollections) {
    if (c.collection == collection) return &c;
  }
  return nullptr;
}

// The Kingdom's schema, one list for both backends (storage/database.h).
// Migration 2, the exchanges' tables, lives with ExchangeRepository.
const storage::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE entities (
  name TEXT PRIMARY KEY,
  kind INTEGER NOT NULL,
  data BLOB NOT NULL,
  create_time INTEGER NOT NULL);
CREATE INDEX entities_by_kind ON entities(kind, name);
CREATE TABLE certificates (
  name TEXT PRIMARY KEY,
  parent TEXT NOT NULL REFERENCES entities(name),
  fingerprint BLOB NOT NULL UNIQUE,
  revoked INTEGER NOT NULL DEFAULT 0,
  data BLOB NOT NULL);
CREATE TABLE event_groups (
  name TEXT PRIMARY KEY,
  data_provider TEXT NOT NULL REFERENCES entities(name),
  measurement_consumer TEXT NOT NULL REFERENCES entities(name),
  request_id TEXT,
  data BLOB NOT NULL,
  UNIQUE (data_provider, request_id));
CREATE INDEX event_groups_by_consumer ON event_groups(measurement_consumer, name);
CREATE TABLE measurements (
  name TEXT PRIMARY KEY,
  consumer TEXT NOT NULL REFERENCES entities(name),
  computation TEXT UNIQUE,
  state INTEGER NOT NULL,
  terminal INTEGER NOT NULL,
  request_id TEXT,
  create_time INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  data BLOB NOT NULL,
  UNIQUE (consumer, request_id));
CREATE INDEX measurements_by_update ON measurements(update_time, name);
CREATE INDEX measurements_by_terminal ON measurements(terminal, create_time);
CREATE TABLE requisitions (
  name TEXT PRIMARY KEY,
  data_provider TEXT NOT NULL,
  measurement TEXT NOT NULL REFERENCES measurements(name) ON DELETE CASCADE,
  computation_requisition TEXT UNIQUE,
  state INTEGER NOT NULL,
  visible INTEGER NOT NULL,
  data BLOB NOT NULL);
CREATE INDEX requisitions_by_provider ON requisitions(data_provider, visible, name);
CREATE INDEX requisitions_by_measurement ON requisitions(measurement);
CREATE TABLE participants (
  measurement TEXT NOT NULL REFERENCES measurements(name) ON DELETE CASCADE,
  duchy TEXT NOT NULL,
  PRIMARY KEY (measurement, duchy));
CREATE INDEX participants_by_duchy ON participants(duchy);
CREATE TABLE computation_log (
  id INTEGER PRIMARY KEY,
  measurement TEXT NOT NULL REFERENCES measurements(name) ON DELETE CASCADE,
  data BLOB NOT NULL);
)sql",
     R"sql(
CREATE TABLE entities (
  name TEXT COLLATE "C" PRIMARY KEY,
  kind BIGINT NOT NULL,
  data BYTEA NOT NULL,
  create_time BIGINT NOT NULL);
CREATE INDEX entities_by_kind ON entities(kind, name);
CREATE TABLE certificates (
  name TEXT COLLATE "C" PRIMARY KEY,
  parent TEXT COLLATE "C" NOT NULL REFERENCES entities(name),
  fingerprint BYTEA NOT NULL UNIQUE,
  revoked BIGINT NOT NULL DEFAULT 0,
  data BYTEA NOT NULL);
CREATE TABLE event_groups (
  name TEXT COLLATE "C" PRIMARY KEY,
  data_provider TEXT COLLATE "C" NOT NULL REFERENCES entities(name),
  measurement_consumer TEXT COLLATE "C" NOT NULL REFERENCES entities(name),
  request_id TEXT COLLATE "C",
  data BYTEA NOT NULL,
  UNIQUE (data_provider, request_id));
CREATE INDEX event_groups_by_consumer ON event_groups(measurement_consumer, name);
CREATE TABLE measurements (
  name TEXT COLLATE "C" PRIMARY KEY,
  consumer TEXT COLLATE "C" NOT NULL REFERENCES entities(name),
  computation TEXT COLLATE "C" UNIQUE,
  state BIGINT NOT NULL,
  terminal BIGINT NOT NULL,
  request_id TEXT COLLATE "C",
  create_time BIGINT NOT NULL,
  update_time BIGINT NOT NULL,
  data BYTEA NOT NULL,
  UNIQUE (consumer, request_id));
CREATE INDEX measurements_by_update ON measurements(update_time, name);
CREATE INDEX measurements_by_terminal ON measurements(terminal, create_time);
CREATE TABLE requisitions (
  name TEXT COLLATE "C" PRIMARY KEY,
  data_provider TEXT COLLATE "C" NOT NULL,
  measurement TEXT COLLATE "C" NOT NULL REFERENCES measurements(name) ON DELETE CASCADE,
  computation_requisition TEXT COLLATE "C" UNIQUE,
  state BIGINT NOT NULL,
  visible BIGINT NOT NULL,
  data BYTEA NOT NULL);
CREATE INDEX requisitions_by_provider ON requisitions(data_provider, visible, name);
CREATE INDEX requisitions_by_measurement ON requisitions(measurement);
CREATE TABLE participants (
  measurement TEXT COLLATE "C" NOT NULL REFERENCES measurements(name) ON DELETE CASCADE,
  duchy TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (measurement, duchy));
CREATE INDEX participants_by_duchy ON participants(duchy);
CREATE TABLE computation_log (
  id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
  measurement TEXT COLLATE "C" NOT NULL REFERENCES measurements(name) ON DELETE CASCADE,
  data BYTEA NOT NULL);
)sql"},
    ExchangeTablesMigration(),
    // Each entity's organisation root. Entities registered before have none
    // and cannot authenticate until registered again.
    {3, "ALTER TABLE entities ADD COLUMN root_der BLOB;", "ALTER TABLE entities ADD COLUMN root_der BYTEA;"},
    // Every write takes its turn on this one row: on PostgreSQL that orders
    // writers across replicas as SQLite's one writer does, so update times
    // (etags, and where a stream resumes) follow commit order.
    {4, R"sql(
CREATE TABLE write_clock (id INTEGER PRIMARY KEY CHECK (id = 1), last_update_time INTEGER NOT NULL);
INSERT INTO write_clock SELECT 1, COALESCE(MAX(update_time), 0) FROM measurements;
)sql",
     R"sql(
CREATE TABLE write_clock (id BIGINT PRIMARY KEY CHECK (id = 1), last_update_time BIGINT NOT NULL);
INSERT INTO write_clock SELECT 1, COALESCE(MAX(update_time), 0) FROM measurements;
)sql"},
    // A measurement's progress is read from its computation log.
    {5, "CREATE INDEX computation_log_by_measurement ON computation_log(measurement, id);",
     "CREATE INDEX computation_log_by_measurement ON computation_log(measurement, id);"}};

absl::Status Invalid(absl::string_view field, absl::string_view problem) { return InvalidField(field, problem); }

// A computation's log entries the Kingdom keeps, from all its duchies.
constexpr int kMaxLogEntries = 1000;

std::string Etag(int64_t update_time) { return absl::StrCat("\"", update_time, "\""); }

// Calls `visit` on the rows of `sql` in name order after `after` until it
// returns false. `sql` selects the name first and ends "name > ? ORDER BY
// name LIMIT ?", the two parameters after the `bound` ones `bind` sets. Rows
// come `first_chunk` first (what a page needs when nothing is filtered out
// after the query), then kScanChunk at a time, since libpq holds a result
// whole in memory and a listing may pass over many rows its filter drops.
constexpr int kScanChunk = 64;
absl::Status ScanByName(storage::Database& db, absl::string_view sql, int bound,
                        const std::function<void(storage::Statement&)>& bind, std::string after, int first_chunk,
                        const std::function<absl::StatusOr<bool>(const storage::Statement&)>& visit) {
  ASSIGN_OR_RETURN(storage::Statement q, db.Prepare(sql));
  for (int chunk = std::min(first_chunk, kScanChunk);; chunk = kScanChunk) {
    q.Reset();
    bind(q);
    q.Bind(bound + 1, after).Bind(bound + 2, int64_t{chunk});
    int rows = 0;
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      ++rows;
      after = q.ColumnText(0);
      ASSIGN_OR_RETURN(bool more, visit(q));
      if (!more) return absl::OkStatus();
    }
    if (rows < chunk) return absl::OkStatus();
  }
}

absl::Status CheckEtag(const std::string& given, int64_t update_time, absl::string_view what) {
  if (!given.empty() && given != Etag(update_time)) {
    return absl::AbortedError(absl::StrCat(what, " has changed: etag ", given, " is not the current ",
                                           Etag(update_time)));
  }
  return absl::OkStatus();
}

template <typename Message>
absl::StatusOr<Message> Parse(const std::string& bytes, absl::string_view what) {
  Message message;
  if (!message.ParseFromString(bytes)) return absl::DataLossError(absl::StrCat("stored ", what, " does not parse"));
  return message;
}

// The states a list is filtered to: each a known state, not UNSPECIFIED (0).
absl::StatusOr<std::set<int>> StateFilter(const google::protobuf::RepeatedField<int>& states, bool (*is_valid)(int),
                                          absl::string_view what) {
  std::set<int> out;
  for (int i = 0; i < states.size(); ++i) {
    if (!is_valid(states[i]) || states[i] == 0) {
      return Invalid(absl::StrCat("states[", i, "]"), absl::StrCat("unknown ", what, " state ", states[i]));
    }
    out.insert(states[i]);
  }
  return out;
}

absl::Status CheckMediaTypes(const api::v1::EventGroup& group) {
  for (int i = 0; i < group.media_types_size(); ++i) {
    if (!api::v1::MediaType_IsValid(group.media_types(i)) || group.media_types(i) == api::v1::MEDIA_TYPE_UNSPECIFIED) {
      return Invalid(absl::StrCat("event_group.media_types[", i, "]"),
                     absl::StrCat("unknown media type ", group.media_types(i)));
    }
  }
  return absl::OkStatus();
}

}  // namespace

// ChangeNotifier

int64_t ChangeNotifier::version() const {
  absl::MutexLock lock(&mu_);
  return version_;
}

void ChangeNotifier::Notify() {
  absl::MutexLock lock(&mu_);
  ++version_;
}

int64_t ChangeNotifier::WaitForChange(int64_t seen, absl::Duration timeout) const {
  absl::MutexLock lock(&mu_);
  auto changed = [this, seen]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return version_ != seen; };
  mu_.AwaitWithTimeout(absl::Condition(&changed), timeout);
  return version_;
}

// Rows

Ledger::Ledger(Options options, std::unique_ptr<storage::Database> db)
    : options_(std::move(options)),
      db_(std::move(db)),
      write_turns_(*db_, options_.clock),
      entities_(*db_),
      certificates_(*db_),
      event_groups_(*db_),
      measurements_(*db_),
      requisitions_(*db_) {}

absl::StatusOr<std::unique_ptr<Ledger>> Ledger::Open(Options options) {
  const auto& protocols = options.config.protocols();
  std::set<std::string> duchies(protocols.duchies().begin(), protocols.duchies().end());
  if (duchies.size() != static_cast<size_t>(protocols.duchies_size())) {
    return absl::InvalidArgumentError("kingdom.protocols.duchies: a duchy is listed twice");
  }
  if (duchies.size() < 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("kingdom.protocols.duchies: at least 3 duchies compute, got ", duchies.size()));
  }
  for (const std::string& d : duchies) {
    if (!IsValidId(d)) return absl::InvalidArgumentError(absl::StrCat("kingdom.protocols.duchies: bad id \"", d, "\""));
  }
  if (!duchies.count(protocols.aggregator())) {
    return absl::InvalidArgumentError(absl::StrCat("kingdom.protocols.aggregator: \"", protocols.aggregator(),
                                                   "\" is not one of kingdom.protocols.duchies"));
  }
  if (protocols.population_size() < 0 || protocols.population_size() > (int64_t{1} << 62)) {
    return absl::InvalidArgumentError("kingdom.protocols.population_size: must be 0 (the default) to 2^62");
  }
  for (const auto& [field, noise] : {std::pair{"llv2_blinded_histogram_noise", &protocols.llv2_blinded_histogram_noise()},
                                     std::pair{"llv2_publisher_noise", &protocols.llv2_publisher_noise()}}) {
    if (noise->epsilon() < 0 || noise->delta() < 0 || noise->delta() >= 1 || (noise->epsilon() == 0 && noise->delta() != 0)) {
      return absl::InvalidArgumentError(absl::StrCat("kingdom.protocols.", field,
                                                     ": epsilon must be > 0 and delta in [0, 1)"));
    }
  }
  for (int i = 0; i < options.config.administrator_certificates_size(); ++i) {
    const std::string& fingerprint = options.config.administrator_certificates(i);
    if (fingerprint.size() != 64 ||
        !std::all_of(fingerprint.begin(), fingerprint.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
      return absl::InvalidArgumentError(absl::StrCat("kingdom.administrator_certificates[", i, "]: \"",
                                                     fingerprint.substr(0, 80),
                                                     "\" is not a SHA-256 fingerprint (64 hex digits; "
                                                     "`halo certs fingerprint --cert FILE` prints one)"));
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Database> db,
                   storage::OpenDatabase({.config = options.config.database(),
                                          .sqlite_path = options.database_path,
                                          .field = "kingdom.database",
                                          .sqlite_readers = kReaders}));
  RETURN_IF_ERROR(db->Migrate(kMigrations));
  std::unique_ptr<Ledger> ledger(new Ledger(std::move(options), std::move(db)));
  Ledger* raw = ledger.get();
  RETURN_IF_ERROR(ledger->db_->Subscribe(std::string(kChangesChannel), [raw](const std::string&) {
    raw->changes_.Notify();
  }));
  RETURN_IF_ERROR(ledger->db_->Subscribe(std::string(kRevocationsChannel), [raw](const std::string&) {
    raw->ForgetPeers();
  }));
  return ledger;
}

absl::Status WriteTurns::Run(const std::function<absl::Status(int64_t now)>& body,
                             const std::function<absl::StatusOr<bool>()>& unless_skipped) {
  absl::MutexLock queued(&queue_);
  return db_.Transaction([&]() -> absl::Status {
    if (unless_skipped) {
      ASSIGN_OR_RETURN(bool go_on, unless_skipped());
      if (!go_on) return absl::OkStatus();
    }
    const int64_t micros = absl::ToUnixMicros(clock_());
    ASSIGN_OR_RETURN(storage::Statement turn,
                     db_.Prepare("UPDATE write_clock SET last_update_time = CASE WHEN last_update_time + 1 > ? "
                                 "THEN last_update_time + 1 ELSE ? END WHERE id = 1 RETURNING last_update_time"));
    ASSIGN_OR_RETURN(bool row, turn.Bind(1, micros).Bind(2, micros).Step());
    if (!row) return absl::DataLossError("the Kingdom's write_clock row is missing");
    return body(turn.ColumnInt64(0));
  });
}

absl::Status Ledger::WriteTransaction(const std::function<absl::Status(int64_t now)>& body) {
  return write_turns_.Run([&](int64_t now) -> absl::Status {
    RETURN_IF_ERROR(body(now));
    return db_->Publish(kChangesChannel, "");
  });
}

void Ledger::ForgetPeers() {
  absl::MutexLock lock(&peers_mu_);
  ++revocations_;
  peers_.clear();
}

// Authentication and certificates

absl::StatusOr<Principal> Ledger::Authenticate(absl::string_view certificate_pem) {
  int64_t revocations;
  {
    absl::MutexLock lock(&peers_mu_);
    if (auto it = peers_.find(certificate_pem); it != peers_.end()) return it->second;
    revocations = revocations_;
  }
  ASSIGN_OR_RETURN(Principal principal, AuthenticateUncached(certificate_pem));
  absl::MutexLock lock(&peers_mu_);
  // Registered certificates bound the map; the cap only guards memory.
  if (revocations == revocations_ && peers_.size() < 100000) peers_.emplace(certificate_pem, principal);
  return principal;
}

absl::StatusOr<Principal> Ledger::AuthenticateUncached(absl::string_view certificate_pem) {
  auto certificate = crypto::Certificate::FromPem(certificate_pem);
  if (!certificate.ok()) return absl::UnauthenticatedError("the client certificate does not parse");
  const std::string certificate_der = certificate->ToDer();
  const std::string subject = certificate->SubjectName();
  const std::string fingerprint = certificate->FingerprintHex();
  if (!certificate->AllowsUse(crypto::CertificateUse::kTls)) {
    return absl::UnauthenticatedError(absl::StrCat("the client certificate of \"", subject,
                                                   "\" is not a TLS certificate (a content-signing key opens no "
                                                   "connection)"));
  }
  for (const std::string& administrator : options_.config.administrator_certificates()) {
    if (absl::AsciiStrToLower(administrator) == fingerprint) {
      return Principal{Principal::Kind::kAdministrator, absl::StrCat(subject, " (", fingerprint.substr(0, 16), ")")};
    }
  }
  std::string name, parent;
  bool revoked = false;
  std::optional<crypto::Certificate> root;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<CertificateRepository::Owner> owner,
                     certificates_.FindByFingerprint(crypto::Sha256(certificate_der)));
    if (owner) {
      name = owner->name;
      parent = owner->parent;
      revoked = owner->revoked;
      auto entity_root = RootOf(parent);
      if (entity_root.ok()) root = *std::move(entity_root);
    }
    return absl::OkStatus();
  }));
  if (name.empty()) {
    return absl::UnauthenticatedError(
        absl::StrCat("the client certificate of \"", subject, "\" is not registered with the Kingdom"));
  }
  if (revoked) return absl::UnauthenticatedError(absl::StrCat("certificate ", name, " is revoked"));
  if (parent != subject) {
    return absl::UnauthenticatedError(absl::StrCat("certificate ", name, " names \"", subject, "\", not ", parent));
  }
  const EntityCollection* collection = CollectionOf(parent);
  if (collection == nullptr) {
    return absl::UnauthenticatedError(absl::StrCat("certificate ", name, " belongs to no entity (", parent, ")"));
  }
  // Registration checked this; checked again so that no path into the
  // certificates table can let one organisation's root speak for another.
  if (!root.has_value()) {
    return absl::UnauthenticatedError(absl::StrCat(parent, " has no registered root; register it again with its root"));
  }
  if (absl::Status issued = certificate->VerifyIssuedBy(*root, options_.clock()); !issued.ok()) {
    return absl::UnauthenticatedError(
        absl::StrCat("certificate ", name, " is not valid under the root of ", parent, ": ", issued.message()));
  }
  return Principal{collection->principal, parent};
}

absl::StatusOr<crypto::Certificate> Ledger::CheckEntityRoot(const std::string& der, const std::string& field) {
  if (der.empty()) return Invalid(field, "is missing: every organisation registers its own root");
  auto root = crypto::Certificate::FromDer(der);
  if (!root.ok()) return Invalid(field, root.status().message());
  if (!root->IsCertificateAuthority()) return Invalid(field, "is not a CA certificate");
  if (absl::Status self = root->VerifyIssuedBy(*root, options_.clock()); !self.ok()) {
    return Invalid(field, absl::StrCat("is not a valid self-signed root: ", self.message()));
  }
  const auto& trusted = options_.trusted_roots.roots();
  if (std::none_of(trusted.begin(), trusted.end(), [&](const crypto::Certificate& t) { return t.ToDer() == der; })) {
    return Invalid(field, absl::StrCat("root \"", root->SubjectName(),
                                       "\" is not among the Kingdom's trusted roots (tls.trusted_ca_file), so "
                                       "certificates it issues could not connect; add it there first"));
  }
  return root;
}

// Inside a transaction.
absl::StatusOr<crypto::Certificate> Ledger::RootOf(const std::string& entity) {
  ASSIGN_OR_RETURN(std::string root_der, entities_.RootOf(entity));
  if (root_der.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(entity, " has no registered root; register it again with its root"));
  }
  return crypto::Certificate::FromDer(root_der);
}

absl::StatusOr<crypto::Certificate> Ledger::CheckEntityCertificate(const std::string& der, const std::string& owner,
                                                                   const crypto::Certificate& root,
                                                                   const std::string& field,
                                                                   std::optional<crypto::CertificateUse> use) {
  if (der.empty()) return Invalid(field, "is missing");
  auto certificate = crypto::Certificate::FromDer(der);
  if (!certificate.ok()) return Invalid(field, certificate.status().message());
  const bool tls = certificate->AllowsUse(crypto::CertificateUse::kTls);
  const bool signing = certificate->AllowsUse(crypto::CertificateUse::kContentSigning);
  if (use == crypto::CertificateUse::kTls && !tls) {
    return Invalid(field, "is not a TLS certificate (extended key usage serverAuth, clientAuth)");
  }
  if (use == crypto::CertificateUse::kContentSigning && !signing) {
    return Invalid(field, "is not a content-signing certificate (extended key usage documentSigning alone)");
  }
  if (!tls && !signing) {
    return Invalid(field, "is neither a TLS certificate nor a content-signing one (see its extended key usage)");
  }
  if (certificate->SubjectName() != owner) {
    return Invalid(field, absl::StrCat("subject \"", certificate->SubjectName(), "\" is not ", owner));
  }
  if (certificate->IsCertificateAuthority()) return Invalid(field, "is a CA certificate");
  if (auto issued = certificate->VerifyIssuedBy(root, options_.clock()); !issued.ok()) {
    return Invalid(field, absl::StrCat("not issued by the root of ", owner, ": ", issued.message()));
  }
  return certificate;
}

absl::StatusOr<api::v1::Certificate> Ledger::InsertCertificate(const std::string& name, const std::string& parent,
                                                               const crypto::Certificate& certificate) {
  api::v1::Certificate c;
  c.set_name(name);
  c.set_x509_der(certificate.ToDer());
  c.set_subject(certificate.SubjectName());
  c.set_not_valid_after_micros(absl::ToUnixMicros(certificate.NotAfter()));
  if (absl::Status inserted = certificates_.Insert(c, parent); !inserted.ok()) {
    // Both backends report a taken key as ALREADY_EXISTS.
    if (absl::IsAlreadyExists(inserted)) return absl::AlreadyExistsError("that certificate is already registered");
    return inserted;
  }
  return c;
}

// Every entity is registered the same way: a valid id, a certificate naming
// it and issued by the trusted CA, then the entity and that certificate (its
// first) in one transaction. `check` adds what one kind of entity needs.
template <typename Entity>
absl::StatusOr<Entity> Ledger::RegisterEntity(const std::string& id, absl::string_view id_field,
                                              absl::string_view collection, int kind, Entity entity,
                                              absl::string_view entity_field,
                                              const std::function<absl::Status(const crypto::Certificate&, Entity&)>& check) {
  if (!IsValidId(id)) return Invalid(id_field, "must match [a-z][a-z0-9-]{0,62}");
  entity.set_name(absl::StrCat(collection, "/", id));
  ASSIGN_OR_RETURN(crypto::Certificate root, CheckEntityRoot(entity.root_certificate_der(),
                                                             absl::StrCat(entity_field, ".root_certificate_der")));
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   CheckEntityCertificate(entity.certificate_der(), entity.name(), root,
                                          absl::StrCat(entity_field, ".certificate_der"), crypto::CertificateUse::kTls));
  entity.set_certificate(api::CertificateName(entity.name(), certificate));
  ASSIGN_OR_RETURN(crypto::Certificate signing,
                   CheckEntityCertificate(entity.signing_certificate_der(), entity.name(), root,
                                          absl::StrCat(entity_field, ".signing_certificate_der"),
                                          crypto::CertificateUse::kContentSigning));
  entity.set_signing_certificate(api::CertificateName(entity.name(), signing));
  if (check) RETURN_IF_ERROR(check(signing, entity));
  RETURN_IF_ERROR(WriteTransaction([&](int64_t) -> absl::Status {
    RETURN_IF_ERROR(entities_.Insert(entity.name(), static_cast<EntityKind>(kind), entity.SerializeAsString(),
                                     absl::ToUnixMicros(options_.clock()), entity.root_certificate_der()));
    RETURN_IF_ERROR(InsertCertificate(entity.certificate(), entity.name(), certificate).status());
    return InsertCertificate(entity.signing_certificate(), entity.name(), signing).status();
  }));
  return entity;
}

absl::StatusOr<api::v1::DataProvider> Ledger::CreateDataProvider(const api::v1::CreateDataProviderRequest& request) {
  return RegisterEntity<api::v1::DataProvider>(
      request.data_provider_id(), "data_provider_id", "dataProviders", kDataProvider, request.data_provider(),
      "data_provider", [](const crypto::Certificate& signing, api::v1::DataProvider& provider) -> absl::Status {
        RETURN_IF_ERROR(CheckEncryptionKey(provider.public_key().data(), "data_provider.public_key.data"));
        if (!api::VerifySignature(provider.public_key(), signing, api::v1::EncryptionPublicKey().GetTypeName())
                 .ok()) {
          return Invalid("data_provider.public_key.signature",
                         "does not verify with data_provider.signing_certificate_der");
        }
        provider.mutable_public_key()->set_certificate(provider.signing_certificate());
        return absl::OkStatus();
      });
}

absl::StatusOr<api::v1::MeasurementConsumer> Ledger::CreateMeasurementConsumer(
    const api::v1::CreateMeasurementConsumerRequest& request) {
  return RegisterEntity<api::v1::MeasurementConsumer>(request.measurement_consumer_id(), "measurement_consumer_id",
                                                      "measurementConsumers", kMeasurementConsumer,
                                                      request.measurement_consumer(), "measurement_consumer", {});
}

absl::StatusOr<api::v1::Duchy> Ledger::CreateDuchy(const api::v1::CreateDuchyRequest& request) {
  return RegisterEntity<api::v1::Duchy>(request.duchy_id(), "duchy_id", "duchies", kDuchy, request.duchy(), "duchy",
                                        {});
}

absl::StatusOr<api::v1::ModelProvider> Ledger::CreateModelProvider(
    const api::v1::CreateModelProviderRequest& request) {
  return RegisterEntity<api::v1::ModelProvider>(request.model_provider_id(), "model_provider_id", "modelProviders",
                                                kModelProvider, request.model_provider(), "model_provider", {});
}

absl::StatusOr<std::vector<std::string>> Ledger::ListEntities(const std::string& collection, const Page& page,
                                                              std::string* next_page_token) {
  const EntityCollection* entities = CollectionOf(collection);
  if (entities == nullptr) return absl::InvalidArgumentError(absl::StrCat("no entity collection ", collection));
  const EntityKind kind = entities->kind;
  ASSIGN_OR_RETURN(const api::PageRequest request, api::ParsePageRequest(page.size, page.token, collection + "/"));
  const int size = request.size;
  std::vector<std::string> out;
  std::string last;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    out.clear();
    ASSIGN_OR_RETURN(std::vector<EntityRepository::Listed> listed, entities_.List(kind, page.token, size + 1));
    for (EntityRepository::Listed& entity : listed) {
      if (static_cast<int>(out.size()) == size) {
        *next_page_token = last;
        break;
      }
      last = entity.name;
      out.push_back(std::move(entity.data));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<api::v1::DataProvider> Ledger::GetDataProvider(const std::string& name) {
  std::string data;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<std::string> found, entities_.Find(name, kDataProvider));
    if (!found) return absl::NotFoundError(absl::StrCat("data provider ", name, " not found"));
    data = *std::move(found);
    return absl::OkStatus();
  }));
  return Parse<api::v1::DataProvider>(data, "data provider");
}

absl::StatusOr<api::v1::Certificate> Ledger::LoadCertificate(const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<api::v1::Certificate> certificate, certificates_.Find(name));
  if (!certificate) return absl::NotFoundError(absl::StrCat("certificate ", name, " not found"));
  return *std::move(certificate);
}

absl::StatusOr<crypto::Certificate> Ledger::UsableCertificateOf(const std::string& owner, const std::string& name,
                                                                const std::string& field) {
  if (name.empty()) return Invalid(field, "is missing");
  if (!absl::StartsWith(name, owner + "/certificates/")) {
    return Invalid(field, absl::StrCat("\"", name, "\" is not a certificate of ", owner));
  }
  auto certificate = LoadCertificate(name);
  if (absl::IsNotFound(certificate.status())) return Invalid(field, absl::StrCat(name, " not found"));
  RETURN_IF_ERROR(certificate.status());
  if (certificate->revocation_state() == api::v1::Certificate::REVOKED) {
    return absl::FailedPreconditionError(absl::StrCat(field, ": certificate ", name, " is revoked"));
  }
  ASSIGN_OR_RETURN(crypto::Certificate parsed, ParsedCertificate(*certificate));
  if (!parsed.AllowsUse(crypto::CertificateUse::kContentSigning)) {
    return Invalid(field, absl::StrCat(name, " is not a content-signing certificate: a TLS key signs nothing"));
  }
  return parsed;
}

absl::StatusOr<crypto::Certificate> Ledger::ParsedCertificate(const api::v1::Certificate& stored) {
  {
    absl::MutexLock lock(&parsed_mu_);
    if (auto it = parsed_.find(stored.name()); it != parsed_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(crypto::Certificate parsed, crypto::Certificate::FromDer(stored.x509_der()));
  absl::MutexLock lock(&parsed_mu_);
  if (parsed_.size() >= 100000) parsed_.clear();
  parsed_.emplace(stored.name(), parsed);
  return parsed;
}

absl::Status Ledger::VerifySigned(const api::v1::SignedMessage& message, const std::string& owner,
                                  const std::string& field, const google::protobuf::MessageLite& type) {
  ASSIGN_OR_RETURN(crypto::Certificate certificate,
                   UsableCertificateOf(owner, message.certificate(), absl::StrCat(field, ".certificate")));
  // UsableCertificateOf has refused a TLS certificate already.
  if (!api::VerifySignature(message, certificate, type.GetTypeName()).ok()) {
    return Invalid(absl::StrCat(field, ".signature"),
                   absl::StrCat("does not verify with certificate ", message.certificate()));
  }
  return absl::OkStatus();
}

absl::StatusOr<api::v1::Certificate> Ledger::CreateCertificate(const Principal& caller,
                                                               const api::v1::CreateCertificateRequest& request) {
  const std::string& parent = request.parent();
  if (!MatchName(parent, "dataProviders/*") && !MatchName(parent, "measurementConsumers/*") &&
      !MatchName(parent, "duchies/*") && !MatchName(parent, "modelProviders/*")) {
    return Invalid("parent", absl::StrCat("\"", parent.substr(0, 200), "\" is not an entity's resource name"));
  }
  if (caller.kind != Principal::Kind::kAdministrator && caller.name != parent) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not add certificates to ", parent));
  }
  api::v1::Certificate created;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t) -> absl::Status {
    ASSIGN_OR_RETURN(crypto::Certificate root, RootOf(parent));
    ASSIGN_OR_RETURN(crypto::Certificate certificate,
                     CheckEntityCertificate(request.certificate().x509_der(), parent, root, "certificate.x509_der"));
    ASSIGN_OR_RETURN(created, InsertCertificate(api::CertificateName(parent, certificate), parent, certificate));
    return absl::OkStatus();
  }));
  return created;
}

absl::StatusOr<api::v1::Certificate> Ledger::GetCertificate(const std::string& name) {
  if (!absl::StrContains(name, "/certificates/")) {
    return Invalid("name", absl::StrCat("\"", name.substr(0, 200), "\" is not a certificate name"));
  }
  absl::StatusOr<api::v1::Certificate> out;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    out = LoadCertificate(name);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<api::v1::Certificate> Ledger::RevokeCertificate(const Principal& caller, const std::string& name) {
  const size_t at = name.find("/certificates/");
  if (at == std::string::npos) {
    return Invalid("name", absl::StrCat("\"", name.substr(0, 200), "\" is not a certificate name"));
  }
  const std::string owner = name.substr(0, at);
  if (caller.kind != Principal::Kind::kAdministrator && caller.name != owner) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not revoke ", name));
  }
  api::v1::Certificate certificate;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(certificate, LoadCertificate(name));
    if (certificate.revocation_state() == api::v1::Certificate::REVOKED) {
      return absl::FailedPreconditionError(absl::StrCat("certificate ", name, " is already revoked"));
    }
    RETURN_IF_ERROR(certificates_.Revoke(name));
    certificate.set_revocation_state(api::v1::Certificate::REVOKED);
    // Measurements that depend on the certificate can no longer complete.
    ASSIGN_OR_RETURN(const std::vector<std::string> affected, measurements_.OpenNames());
    for (const std::string& m : affected) {
      ASSIGN_OR_RETURN(MeasurementRow row, LoadMeasurement(m));
      bool uses = row.record.measurement().measurement_consumer_certificate() == name;
      for (const auto& entry : row.record.measurement().data_providers()) {
        uses = uses || entry.data_provider_certificate() == name;
      }
      for (const auto& participant : row.record.participants()) {
        uses = uses || participant.public_key().certificate() == name;
      }
      if (uses) {
        RETURN_IF_ERROR(EndMeasurement(row, Computation::FAILED, Measurement::Failure::CERTIFICATE_REVOKED,
                                       absl::StrCat("certificate ", name, " was revoked"), now));
      }
    }
    return db_->Publish(kRevocationsChannel, name);
  }));
  // Here at once; other replicas when the publication reaches them.
  ForgetPeers();
  return certificate;
}

// Event groups

absl::StatusOr<api::v1::EventGroup> Ledger::CreateEventGroup(const Principal& caller,
                                                             const api::v1::CreateEventGroupRequest& request) {
  RETURN_IF_ERROR(ParseName(request.parent(), "dataProviders/*", "parent").status());
  if (caller.name != request.parent()) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not create event groups for ", request.parent()));
  }
  api::v1::EventGroup group = request.event_group();
  RETURN_IF_ERROR(ParseName(group.measurement_consumer(), "measurementConsumers/*", "event_group.measurement_consumer")
                      .status());
  RETURN_IF_ERROR(CheckMediaTypes(group));
  if (group.data_availability_interval().end_micros() != 0 &&
      group.data_availability_interval().end_micros() <= group.data_availability_interval().start_micros()) {
    return Invalid("event_group.data_availability_interval", "ends before it starts");
  }
  if (group.event_group_reference_id().size() > 256) return Invalid("event_group.event_group_reference_id", "is too long");
  group.set_name(absl::StrCat(request.parent(), "/eventGroups/", NewId()));
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(std::optional<api::v1::EventGroup> existing,
                     event_groups_.FindByRequest(request.parent(), request.request_id()));
    if (existing) {
      group = *std::move(existing);
      return absl::OkStatus();
    }
    ASSIGN_OR_RETURN(std::optional<std::string> consumer,
                     entities_.Find(group.measurement_consumer(), kMeasurementConsumer));
    if (!consumer) {
      return Invalid("event_group.measurement_consumer", absl::StrCat(group.measurement_consumer(), " not found"));
    }
    group.set_etag(Etag(now));
    return event_groups_.Insert(group, request.parent(), request.request_id());
  }));
  return group;
}

namespace {

// The event group `name` if `caller` may see it: its data provider, or the
// consumer allowed to measure it.
absl::StatusOr<api::v1::EventGroup> LoadEventGroup(EventGroupRepository& event_groups, const Principal& caller,
                                                   const std::string& name, bool owner_only) {
  RETURN_IF_ERROR(ParseName(name, "dataProviders/*/eventGroups/*", "name").status());
  ASSIGN_OR_RETURN(std::optional<api::v1::EventGroup> found, event_groups.Find(name));
  if (!found) return absl::NotFoundError(absl::StrCat("event group ", name, " not found"));
  api::v1::EventGroup group = *std::move(found);
  const bool owner = absl::StartsWith(name, caller.name + "/");
  const bool consumer = !owner_only && caller.name == group.measurement_consumer();
  if (!owner && !consumer) return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not see ", name));
  return group;
}

}  // namespace

absl::StatusOr<api::v1::EventGroup> Ledger::GetEventGroup(const Principal& caller, const std::string& name) {
  absl::StatusOr<api::v1::EventGroup> out;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    out = LoadEventGroup(event_groups_, caller, name, false);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<api::v1::ListEventGroupsResponse> Ledger::ListEventGroups(
    const Principal& caller, const api::v1::ListEventGroupsRequest& request) {
  const bool by_provider = MatchName(request.parent(), "dataProviders/*").has_value();
  if (!by_provider && !MatchName(request.parent(), "measurementConsumers/*")) {
    return Invalid("parent", "must be dataProviders/{id} or measurementConsumers/{id}");
  }
  if (caller.name != request.parent()) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not list the event groups of ", request.parent()));
  }
  ASSIGN_OR_RETURN(const api::PageRequest page, api::ParsePageRequest(request.page_size(), request.page_token(),
                                                                     by_provider ? request.parent() + "/" : ""));
  const int size = page.size;
  api::v1::ListEventGroupsResponse response;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    response.Clear();
    ASSIGN_OR_RETURN(std::vector<api::v1::EventGroup> groups,
                     event_groups_.List(by_provider, request.parent(), request.page_token(), size + 1));
    for (api::v1::EventGroup& group : groups) {
      if (response.event_groups_size() == size) {
        response.set_next_page_token(response.event_groups(size - 1).name());
        break;
      }
      *response.add_event_groups() = std::move(group);
    }
    return absl::OkStatus();
  }));
  return response;
}

absl::StatusOr<api::v1::EventGroup> Ledger::UpdateEventGroup(const Principal& caller,
                                                             const api::v1::UpdateEventGroupRequest& request) {
  api::v1::EventGroup group = request.event_group();
  RETURN_IF_ERROR(CheckMediaTypes(group));
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(api::v1::EventGroup stored, LoadEventGroup(event_groups_, caller, group.name(), true));
    if (!group.etag().empty() && group.etag() != stored.etag()) {
      return absl::AbortedError(absl::StrCat("event group ", group.name(), " has changed: etag ", group.etag(),
                                             " is not the current ", stored.etag()));
    }
    if (group.measurement_consumer() != stored.measurement_consumer()) {
      return Invalid("event_group.measurement_consumer", "cannot change");
    }
    group.set_etag(Etag(now));
    return event_groups_.Update(group);
  }));
  return group;
}

absl::Status Ledger::DeleteEventGroup(const Principal& caller, const api::v1::DeleteEventGroupRequest& request) {
  return WriteTransaction([&](int64_t) -> absl::Status {
    ASSIGN_OR_RETURN(api::v1::EventGroup stored, LoadEventGroup(event_groups_, caller, request.name(), true));
    if (!request.etag().empty() && request.etag() != stored.etag()) {
      return absl::AbortedError(absl::StrCat("event group ", request.name(), " has changed: etag ", request.etag(),
                                             " is not the current ", stored.etag()));
    }
    return event_groups_.Delete(request.name());
  });
}

// Measurements

absl::StatusOr<Ledger::MeasurementRow> Ledger::LoadMeasurement(const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<MeasurementRow> row, measurements_.Find(name));
  if (!row) return absl::NotFoundError(absl::StrCat("measurement ", name, " not found"));
  return *std::move(row);
}

absl::StatusOr<Ledger::MeasurementRow> Ledger::LoadComputation(const std::string& computation_name) {
  ASSIGN_OR_RETURN(std::optional<std::string> name, measurements_.NameOfComputation(computation_name));
  if (!name) return absl::NotFoundError(absl::StrCat("computation ", computation_name, " not found"));
  return LoadMeasurement(*name);
}

absl::Status Ledger::SaveMeasurement(MeasurementRow& row, int64_t now) {
  row.update_time = now;
  return measurements_.Update(row.name, row.record, IsTerminal(row.record.state()), now);
}

absl::StatusOr<std::vector<RequisitionRecord>> Ledger::LoadRequisitions(const std::string& measurement) {
  return requisitions_.OfMeasurement(measurement);
}

absl::StatusOr<RequisitionRecord> Ledger::LoadRequisition(const std::string& column, const std::string& name) {
  ASSIGN_OR_RETURN(std::optional<RequisitionRecord> found, column == "computation_requisition"
                                                               ? requisitions_.FindByComputationName(name)
                                                               : requisitions_.Find(name));
  if (!found) return absl::NotFoundError(absl::StrCat("requisition ", name, " not found"));
  return *std::move(found);
}

absl::Status Ledger::SaveRequisition(const RequisitionRecord& record, int64_t now) {
  RequisitionRecord saved = record;
  saved.mutable_requisition()->set_update_time_micros(now);
  saved.mutable_requisition()->set_etag(Etag(now));
  // An MPC requisition is visible once every duchy has set its key.
  const bool visible = saved.requisition().protocol_config().protocol() == api::v1::DIRECT ||
                       saved.requisition().duchies_size() > 0;
  return requisitions_.Update(saved, visible);
}

absl::Status Ledger::EndMeasurement(MeasurementRow& row, ComputationState state,
                                    Measurement::Failure::Reason reason, const std::string& message, int64_t now) {
  RETURN_IF_ERROR(CheckMeasurementTransition(row.record.state(), state));
  row.record.set_state(state);
  if (state == Computation::FAILED) {
    row.record.mutable_measurement()->mutable_failure()->set_reason(reason);
    row.record.mutable_measurement()->mutable_failure()->set_message(message);
  }
  ASSIGN_OR_RETURN(std::vector<RequisitionRecord> requisitions, LoadRequisitions(row.name));
  for (RequisitionRecord& r : requisitions) {
    if (r.requisition().state() == Requisition::UNFULFILLED) {
      r.mutable_requisition()->set_state(Requisition::WITHDRAWN);
      RETURN_IF_ERROR(SaveRequisition(r, now));
    }
  }
  return SaveMeasurement(row, now);
}

Measurement Ledger::PublicView(const MeasurementRow& row) const {
  Measurement m = row.record.measurement();
  m.set_name(row.name);
  m.set_state(PublicState(row.record.state()));
  m.set_create_time_micros(row.create_time);
  m.set_update_time_micros(row.update_time);
  m.set_etag(Etag(row.update_time));
  return m;
}

absl::StatusOr<Measurement> Ledger::CreateMeasurement(const Principal& caller,
                                                      const api::v1::CreateMeasurementRequest& request) {
  RETURN_IF_ERROR(ParseName(request.parent(), "measurementConsumers/*", "parent").status());
  if (caller.name != request.parent()) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not create measurements for ", request.parent()));
  }
  ASSIGN_OR_RETURN(const MeasurementSpec spec, CheckMeasurementRequest(request));
  const Measurement& given = request.measurement();
  Measurement measurement = given;
  measurement.clear_results();
  measurement.clear_failure();
  measurement.clear_protocol_config();

  // What the plan and the signatures need, read outside the write turn:
  // checking a signature costs more than the write. The reads need not
  // agree (ReadEach): the write checks again what could have changed.
  std::optional<Measurement> existing;
  std::optional<crypto::Certificate> consumer_certificate;
  std::vector<PlannedDataProvider> providers;
  std::vector<std::string> provider_certificates;
  RETURN_IF_ERROR(db_->ReadEach([&]() -> absl::Status {
    ASSIGN_OR_RETURN(existing, MeasurementOfRequest(request.parent(), request.request_id()));
    if (existing) return absl::OkStatus();
    ASSIGN_OR_RETURN(consumer_certificate, UsableCertificateOf(request.parent(), given.measurement_consumer_certificate(),
                                                               "measurement.measurement_consumer_certificate"));
    providers.clear();
    provider_certificates.clear();
    // Every data provider must exist; its certificate defaults to its
    // signing certificate, which its results are signed with.
    for (int i = 0; i < measurement.data_providers_size(); ++i) {
      auto& entry = *measurement.mutable_data_providers(i);
      const std::string field = absl::StrCat("measurement.data_providers[", i, "]");
      ASSIGN_OR_RETURN(std::optional<std::string> found, entities_.Find(entry.data_provider(), kDataProvider));
      if (!found) return Invalid(field + ".data_provider", absl::StrCat(entry.data_provider(), " not found"));
      ASSIGN_OR_RETURN(api::v1::DataProvider provider, Parse<api::v1::DataProvider>(*found, "data provider"));
      providers.push_back({.supports_hmss = provider.supports_hmss()});
      if (entry.data_provider_certificate().empty()) entry.set_data_provider_certificate(provider.signing_certificate());
      ASSIGN_OR_RETURN(crypto::Certificate c, UsableCertificateOf(entry.data_provider(), entry.data_provider_certificate(),
                                                                  field + ".data_provider_certificate"));
      provider_certificates.push_back(c.ToDer());
    }
    return absl::OkStatus();
  }));
  if (existing) return *existing;
  if (!api::VerifySignature(given.measurement_spec(), *consumer_certificate, api::v1::MeasurementSpec().GetTypeName())
           .ok()) {
    return Invalid("measurement.measurement_spec.signature",
                   absl::StrCat("does not verify with certificate ", given.measurement_consumer_certificate()));
  }
  measurement.mutable_measurement_spec()->set_certificate(given.measurement_consumer_certificate());
  ASSIGN_OR_RETURN(const MeasurementPlan plan,
                   PlanMeasurement(spec, providers, options_.config.protocols(), options_.replay_seed));
  *measurement.mutable_protocol_config() = plan.config;
  const api::v1::Protocol protocol = plan.config.protocol();
  const std::string name = absl::StrCat(request.parent(), "/measurements/", NewId());
  measurement.set_name(name);
  std::vector<std::string> requisition_ids;
  for (int i = 0; i < measurement.data_providers_size(); ++i) requisition_ids.push_back(NewId());

  absl::StatusOr<Measurement> out;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    // Read again under the write turn: a retry may have won the race, and a
    // certificate may have been revoked since (revocation fails what uses
    // it, so nothing may start using it after).
    ASSIGN_OR_RETURN(std::optional<Measurement> raced, MeasurementOfRequest(request.parent(), request.request_id()));
    if (raced) {
      out = *raced;
      return absl::OkStatus();
    }
    RETURN_IF_ERROR(UsableCertificateOf(request.parent(), given.measurement_consumer_certificate(),
                                        "measurement.measurement_consumer_certificate")
                        .status());
    for (int i = 0; i < measurement.data_providers_size(); ++i) {
      const auto& entry = measurement.data_providers(i);
      RETURN_IF_ERROR(UsableCertificateOf(entry.data_provider(), entry.data_provider_certificate(),
                                          absl::StrCat("measurement.data_providers[", i, "].data_provider_certificate"))
                          .status());
    }
    MeasurementRow row;
    row.name = name;
    row.consumer = request.parent();
    row.computation = protocol == api::v1::DIRECT ? "" : api::ComputationOf(name);
    row.create_time = now;
    row.update_time = now;
    *row.record.mutable_measurement() = measurement;
    row.record.set_measurement_consumer_certificate_der(consumer_certificate->ToDer());
    row.record.set_state(protocol == api::v1::DIRECT ? Computation::PENDING_REQUISITION_FULFILLMENT
                                                     : Computation::PENDING_REQUISITION_PARAMS);
    for (const std::string& d : plan.ring) {
      ASSIGN_OR_RETURN(std::optional<std::string> duchy, entities_.Find("duchies/" + d, kDuchy));
      if (!duchy) return absl::FailedPreconditionError(absl::StrCat("duchy ", d, " is not registered with the Kingdom"));
      Computation::Participant& participant = *row.record.add_participants();
      participant.set_duchy_id(d);
      participant.set_state(Computation::Participant::CREATED);
    }
    RETURN_IF_ERROR(measurements_.Insert(row, request.request_id()));
    for (const std::string& d : plan.ring) RETURN_IF_ERROR(measurements_.AddParticipant(name, d));
    for (int i = 0; i < measurement.data_providers_size(); ++i) {
      const auto& entry = measurement.data_providers(i);
      RequisitionRecord r;
      Requisition& requisition = *r.mutable_requisition();
      const std::string& id = requisition_ids[i];
      requisition.set_name(absl::StrCat(entry.data_provider(), "/requisitions/", id));
      requisition.set_measurement(name);
      requisition.set_measurement_consumer_certificate(measurement.measurement_consumer_certificate());
      *requisition.mutable_measurement_spec() = measurement.measurement_spec();
      requisition.set_encrypted_requisition_spec(entry.encrypted_requisition_spec());
      *requisition.mutable_protocol_config() = plan.config;
      requisition.set_data_provider_certificate(entry.data_provider_certificate());
      requisition.set_nonce_hash(entry.nonce_hash());
      requisition.set_state(Requisition::UNFULFILLED);
      if (protocol != api::v1::DIRECT) {
        requisition.set_fulfilling_duchy(plan.fulfilling_duchies[i]);
        r.set_computation_requisition(absl::StrCat(row.computation, "/requisitions/", id));
      }
      r.set_fingerprint(api::RequisitionFingerprint(measurement.measurement_spec().data(), entry.encrypted_requisition_spec()));
      r.set_data_provider_certificate_der(provider_certificates[i]);
      requisition.set_update_time_micros(now);
      requisition.set_etag(Etag(now));
      // An MPC requisition is listed once every duchy has set its key.
      RETURN_IF_ERROR(requisitions_.Insert(r, entry.data_provider(), name, protocol == api::v1::DIRECT));
    }
    out = PublicView(row);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::optional<Measurement>> Ledger::MeasurementOfRequest(const std::string& consumer,
                                                                        const std::string& request_id) {
  ASSIGN_OR_RETURN(std::optional<std::string> name, measurements_.NameOfRequest(consumer, request_id));
  if (!name) return std::nullopt;
  ASSIGN_OR_RETURN(MeasurementRow existing, LoadMeasurement(*name));
  return PublicView(existing);
}

absl::StatusOr<Measurement> Ledger::GetMeasurement(const Principal& caller, const std::string& name) {
  RETURN_IF_ERROR(ParseName(name, "measurementConsumers/*/measurements/*", "name").status());
  if (!absl::StartsWith(name, caller.name + "/")) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not see ", name));
  }
  absl::StatusOr<Measurement> out;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(MeasurementRow row, LoadMeasurement(name));
    out = PublicView(row);
    if (row.computation.empty()) return absl::OkStatus();
    // Each duchy's latest report of its stage.
    ASSIGN_OR_RETURN(std::vector<api::v1::ComputationLogEntry> log, measurements_.LogEntries(row.name, kMaxLogEntries));
    std::map<std::string, const api::v1::ComputationLogEntry*> latest;
    for (const auto& entry : log) latest[entry.duchy_id()] = &entry;
    for (const auto& [duchy, entry] : latest) {
      Measurement::DuchyProgress& progress = *out->add_progress();
      progress.set_duchy_id(duchy);
      progress.set_stage(entry->stage());
      progress.set_attempt(entry->attempt());
      progress.set_time_micros(entry->time_micros());
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<api::v1::ListMeasurementsResponse> Ledger::ListMeasurements(
    const Principal& caller, const api::v1::ListMeasurementsRequest& request) {
  RETURN_IF_ERROR(ParseName(request.parent(), "measurementConsumers/*", "parent").status());
  if (caller.name != request.parent()) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not list the measurements of ", request.parent()));
  }
  ASSIGN_OR_RETURN(const api::PageRequest page,
                   api::ParsePageRequest(request.page_size(), request.page_token(), request.parent() + "/"));
  const int size = page.size;
  ASSIGN_OR_RETURN(const std::set<int> states, StateFilter(request.states(), &Measurement::State_IsValid, "measurement"));
  api::v1::ListMeasurementsResponse response;
  size_t page_bytes = 0;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    response.Clear();
    page_bytes = 0;
    return ScanByName(
        *db_, MeasurementRepository::kConsumerScan,
        2, [&](storage::Statement& q) { q.Bind(1, request.parent()).Bind(2, request.updated_after_micros()); },
        request.page_token(), states.empty() ? size + 1 : kScanChunk,
        [&](const storage::Statement& q) -> absl::StatusOr<bool> {
          ASSIGN_OR_RETURN(MeasurementRow m, LoadMeasurement(q.ColumnText(0)));
          Measurement view = PublicView(m);
          if (!states.empty() && !states.count(view.state())) return true;
          const size_t bytes = view.ByteSizeLong();
          if (response.measurements_size() == size ||
              (response.measurements_size() > 0 && page_bytes + bytes > api::kMaxPageBytes)) {
            response.set_next_page_token(response.measurements(response.measurements_size() - 1).name());
            return false;
          }
          page_bytes += bytes;
          *response.add_measurements() = std::move(view);
          return true;
        });
  }));
  return response;
}

absl::StatusOr<Measurement> Ledger::CancelMeasurement(const Principal& caller,
                                                      const api::v1::CancelMeasurementRequest& request) {
  RETURN_IF_ERROR(ParseName(request.name(), "measurementConsumers/*/measurements/*", "name").status());
  if (!absl::StartsWith(request.name(), caller.name + "/")) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not cancel ", request.name()));
  }
  Measurement out;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(MeasurementRow row, LoadMeasurement(request.name()));
    RETURN_IF_ERROR(CheckEtag(request.etag(), row.update_time, request.name()));
    RETURN_IF_ERROR(EndMeasurement(row, Computation::CANCELLED, Measurement::Failure::REASON_UNSPECIFIED, "", now));
    out = PublicView(row);
    return absl::OkStatus();
  }));
  return out;
}

// Requisitions

absl::StatusOr<api::v1::ListRequisitionsResponse> Ledger::ListRequisitions(
    const Principal& caller, const api::v1::ListRequisitionsRequest& request) {
  RETURN_IF_ERROR(ParseName(request.parent(), "dataProviders/*", "parent").status());
  if (caller.name != request.parent()) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not list the requisitions of ", request.parent()));
  }
  ASSIGN_OR_RETURN(const api::PageRequest page,
                   api::ParsePageRequest(request.page_size(), request.page_token(), request.parent() + "/"));
  const int size = page.size;
  if (request.wait_milliseconds() < 0) return Invalid("wait_milliseconds", "must be >= 0");
  ASSIGN_OR_RETURN(const std::set<int> states, StateFilter(request.states(), &Requisition::State_IsValid, "requisition"));
  const absl::Time deadline =
      absl::Now() + std::min(absl::Milliseconds(request.wait_milliseconds()), kMaxLongPoll);
  while (true) {
    const int64_t seen = changes_.version();
    api::v1::ListRequisitionsResponse response;
    size_t page_bytes = 0;
    // A page's chunks need not agree: a requisition that changes between
    // them is listed as it was or as it is, either of which is true.
    RETURN_IF_ERROR(db_->ReadEach([&]() -> absl::Status {
      response.Clear();
      page_bytes = 0;
      return ScanByName(
          *db_, RequisitionRepository::ProviderScan(std::vector<int>(states.begin(), states.end())),
          1, [&](storage::Statement& q) { q.Bind(1, request.parent()); }, request.page_token(), size + 1,
          [&](const storage::Statement& q) -> absl::StatusOr<bool> {
            if (response.requisitions_size() == size) {
              response.set_next_page_token(response.requisitions(size - 1).name());
              return false;
            }
            ASSIGN_OR_RETURN(RequisitionRecord r, Parse<RequisitionRecord>(q.ColumnBlob(1), "requisition"));
            const size_t bytes = r.requisition().ByteSizeLong();
            if (response.requisitions_size() > 0 && page_bytes + bytes > api::kMaxPageBytes) {
              response.set_next_page_token(response.requisitions(response.requisitions_size() - 1).name());
              return false;
            }
            page_bytes += bytes;
            *response.add_requisitions() = std::move(*r.mutable_requisition());
            return true;
          });
    }));
    if (response.requisitions_size() > 0 || absl::Now() >= deadline) return response;
    changes_.WaitForChange(seen, deadline - absl::Now());
  }
}

namespace {

// The requisition `name` if it is `caller`'s: PERMISSION_DENIED for another
// EDP's, NOT_FOUND for an unknown or (when `hide_withdrawn`) withdrawn one.
absl::Status CheckRequisitionOwner(const Principal& caller, const std::string& name) {
  RETURN_IF_ERROR(ParseName(name, "dataProviders/*/requisitions/*", "name").status());
  if (!absl::StartsWith(name, caller.name + "/")) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " may not see ", name));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Requisition> Ledger::GetRequisition(const Principal& caller, const std::string& name) {
  RETURN_IF_ERROR(CheckRequisitionOwner(caller, name));
  absl::StatusOr<Requisition> out;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(RequisitionRecord r, LoadRequisition("name", name));
    if (r.requisition().protocol_config().protocol() != api::v1::DIRECT && r.requisition().duchies_size() == 0) {
      return absl::NotFoundError(absl::StrCat("requisition ", name, " not found"));
    }
    out = r.requisition();
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Requisition> Ledger::RefuseRequisition(const Principal& caller,
                                                      const api::v1::RefuseRequisitionRequest& request) {
  RETURN_IF_ERROR(CheckRequisitionOwner(caller, request.name()));
  const auto justification = request.refusal().justification();
  if (!Requisition::Refusal::Justification_IsValid(justification) ||
      justification == Requisition::Refusal::JUSTIFICATION_UNSPECIFIED) {
    return Invalid("refusal.justification", absl::StrCat("unknown justification ", justification));
  }
  if (request.refusal().message().size() > 4096) return Invalid("refusal.message", "is longer than 4096 bytes");
  Requisition out;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(RequisitionRecord r, LoadRequisition("name", request.name()));
    if (r.requisition().state() == Requisition::WITHDRAWN) {
      return absl::NotFoundError(absl::StrCat("requisition ", request.name(), " was withdrawn"));
    }
    RETURN_IF_ERROR(CheckEtag(request.etag(), r.requisition().update_time_micros(), request.name()));
    RETURN_IF_ERROR(CheckRequisitionTransition(r.requisition().state(), Requisition::REFUSED));
    r.mutable_requisition()->set_state(Requisition::REFUSED);
    *r.mutable_requisition()->mutable_refusal() = request.refusal();
    RETURN_IF_ERROR(SaveRequisition(r, now));
    ASSIGN_OR_RETURN(MeasurementRow row, LoadMeasurement(r.requisition().measurement()));
    const std::string why = api::v1::Requisition::Refusal::Justification_Name(request.refusal().justification());
    RETURN_IF_ERROR(EndMeasurement(row, Computation::FAILED, Measurement::Failure::REQUISITION_REFUSED,
                                   absl::StrCat(request.name(), " was refused (", why, "): ", request.refusal().message()),
                                   now));
    ASSIGN_OR_RETURN(r, LoadRequisition("name", request.name()));
    out = r.requisition();
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Requisition> Ledger::FulfillDirectRequisition(
    const Principal& caller, const api::v1::FulfillDirectRequisitionRequest& request) {
  RETURN_IF_ERROR(CheckRequisitionOwner(caller, request.name()));
  if (request.encrypted_result().empty()) return Invalid("encrypted_result", "is missing");
  RETURN_IF_ERROR(CheckSpecSize(request.encrypted_result().size(), "encrypted_result"));
  Requisition out;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(RequisitionRecord r, LoadRequisition("name", request.name()));
    if (r.requisition().state() == Requisition::WITHDRAWN) {
      return absl::NotFoundError(absl::StrCat("requisition ", request.name(), " was withdrawn"));
    }
    if (r.requisition().protocol_config().protocol() != api::v1::DIRECT) {
      return absl::FailedPreconditionError(
          absl::StrCat(request.name(), " is computed by the duchies; send its data to duchy ",
                       r.requisition().fulfilling_duchy()));
    }
    RETURN_IF_ERROR(CheckEtag(request.etag(), r.requisition().update_time_micros(), request.name()));
    RETURN_IF_ERROR(CheckRequisitionTransition(r.requisition().state(), Requisition::FULFILLED));
    if (api::NonceHash(request.nonce()) != r.requisition().nonce_hash()) {
      return Invalid("nonce", absl::StrCat("does not match the nonce hash of ", request.name()));
    }
    RETURN_IF_ERROR(UsableCertificateOf(caller.name, request.certificate(), "certificate").status());
    r.mutable_requisition()->set_state(Requisition::FULFILLED);
    RETURN_IF_ERROR(SaveRequisition(r, now));
    ASSIGN_OR_RETURN(MeasurementRow row, LoadMeasurement(r.requisition().measurement()));
    auto& result = *row.record.mutable_measurement()->add_results();
    result.set_certificate(request.certificate());
    result.set_encrypted_result(request.encrypted_result());
    ASSIGN_OR_RETURN(std::vector<RequisitionRecord> all, LoadRequisitions(row.name));
    const bool done = std::all_of(all.begin(), all.end(), [](const RequisitionRecord& x) {
      return x.requisition().state() == Requisition::FULFILLED;
    });
    if (done) {
      RETURN_IF_ERROR(CheckMeasurementTransition(row.record.state(), Computation::SUCCEEDED));
      row.record.set_state(Computation::SUCCEEDED);
    }
    RETURN_IF_ERROR(SaveMeasurement(row, now));
    ASSIGN_OR_RETURN(r, LoadRequisition("name", request.name()));
    out = r.requisition();
    return absl::OkStatus();
  }));
  return out;
}

// Computations

absl::StatusOr<Computation> Ledger::ComputationView(const MeasurementRow& row) {
  Computation c;
  c.set_name(row.computation);
  c.set_measurement(row.name);
  c.set_measurement_consumer_certificate(row.record.measurement().measurement_consumer_certificate());
  c.set_measurement_consumer_certificate_der(row.record.measurement_consumer_certificate_der());
  *c.mutable_measurement_spec() = row.record.measurement().measurement_spec();
  *c.mutable_protocol_config() = row.record.measurement().protocol_config();
  c.set_state(row.record.state());
  ASSIGN_OR_RETURN(std::vector<RequisitionRecord> requisitions, LoadRequisitions(row.name));
  for (const RequisitionRecord& r : requisitions) {
    auto& out = *c.add_requisitions();
    out.set_name(r.computation_requisition());
    out.set_data_provider(api::ParentName(r.requisition().name()));
    out.set_data_provider_certificate_der(r.data_provider_certificate_der());
    out.set_fingerprint(r.fingerprint());
    out.set_nonce_hash(r.requisition().nonce_hash());
    out.set_fulfilling_duchy(r.requisition().fulfilling_duchy());
    out.set_state(r.requisition().state());
  }
  *c.mutable_participants() = row.record.participants();
  c.set_update_time_micros(row.update_time);
  c.set_etag(Etag(row.update_time));
  return c;
}

absl::StatusOr<std::vector<api::v1::StreamActiveComputationsResponse>> Ledger::ActiveComputations(
    const Principal& caller, const std::string& continuation_token, int limit) {
  if (caller.kind != Principal::Kind::kDuchy) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " is not a duchy"));
  }
  int64_t after_time = 0;
  std::string after_name;
  if (!continuation_token.empty()) {
    const size_t colon = continuation_token.find(':');
    if (colon == std::string::npos || !absl::SimpleAtoi(continuation_token.substr(0, colon), &after_time)) {
      return Invalid("continuation_token", "is malformed");
    }
    after_name = continuation_token.substr(colon + 1);
  }
  const std::string duchy_id = caller.name.substr(caller.name.find('/') + 1);
  std::vector<api::v1::StreamActiveComputationsResponse> out;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    out.clear();
    // A new stream starts with what is open; a resumed one also sees what
    // ended since.
    ASSIGN_OR_RETURN(const std::vector<std::string> names,
                     measurements_.NamesForDuchy(duchy_id, after_time, after_name, !continuation_token.empty(), limit));
    for (const std::string& name : names) {
      ASSIGN_OR_RETURN(MeasurementRow row, LoadMeasurement(name));
      auto& response = out.emplace_back();
      ASSIGN_OR_RETURN(*response.mutable_computation(), ComputationView(row));
      response.set_continuation_token(absl::StrCat(row.update_time, ":", row.name));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Ledger::MeasurementRow> Ledger::ComputationForParticipant(const Principal& caller,
                                                                         const std::string& name,
                                                                         const std::string& etag) {
  if (caller.kind != Principal::Kind::kDuchy) {
    return absl::PermissionDeniedError(absl::StrCat(caller.name, " is not a duchy"));
  }
  RETURN_IF_ERROR(ParseName(name, "computations/*", "name").status());
  ASSIGN_OR_RETURN(MeasurementRow row, LoadComputation(name));
  const std::string duchy_id = caller.name.substr(caller.name.find('/') + 1);
  const bool participates = std::any_of(row.record.participants().begin(), row.record.participants().end(),
                                        [&](const auto& p) { return p.duchy_id() == duchy_id; });
  if (!participates) return absl::PermissionDeniedError(absl::StrCat(caller.name, " does not take part in ", name));
  RETURN_IF_ERROR(CheckEtag(etag, row.update_time, name));
  return row;
}

absl::StatusOr<Computation> Ledger::GetComputation(const Principal& caller, const std::string& name) {
  absl::StatusOr<Computation> out;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(MeasurementRow row, ComputationForParticipant(caller, name, ""));
    out = ComputationView(row);
    return absl::OkStatus();
  }));
  return out;
}

namespace {

Computation::Participant* FindParticipant(MeasurementRecord& record, const std::string& duchy_name) {
  const std::string id = duchy_name.substr(duchy_name.find('/') + 1);
  for (auto& p : *record.mutable_participants()) {
    if (p.duchy_id() == id) return &p;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<Computation> Ledger::SetParticipantRequisitionParams(
    const Principal& caller, const api::v1::SetParticipantRequisitionParamsRequest& request) {
  if (request.public_key().data().empty()) return Invalid("public_key.data", "is missing");
  if (request.public_key().data().size() > 1024) return Invalid("public_key.data", "is too large");
  absl::StatusOr<Computation> out;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(MeasurementRow row, ComputationForParticipant(caller, request.name(), request.etag()));
    if (row.record.state() != Computation::PENDING_REQUISITION_PARAMS) {
      return absl::FailedPreconditionError(absl::StrCat(request.name(), " is ", Computation::State_Name(row.record.state()),
                                                        ", not PENDING_REQUISITION_PARAMS"));
    }
    Computation::Participant* participant = FindParticipant(row.record, caller.name);
    RETURN_IF_ERROR(CheckParticipantTransition(participant->state(), Computation::Participant::REQUISITION_PARAMS_SET));
    RETURN_IF_ERROR(VerifySigned(request.public_key(), caller.name, "public_key", api::v1::EncryptionPublicKey()));
    ASSIGN_OR_RETURN(crypto::Certificate certificate,
                     UsableCertificateOf(caller.name, request.public_key().certificate(), "public_key.certificate"));
    const auto protocol = row.record.measurement().protocol_config().protocol();
    if (protocol == api::v1::LIQUID_LEGIONS_V2 || protocol == api::v1::REACH_ONLY_LIQUID_LEGIONS_V2) {
      // Keys that are combined must each come with proof that their duchy
      // knows the secret: otherwise the last to set its key could cancel
      // the others' and decrypt every sketch alone.
      absl::StatusOr<crypto::EcPoint> proven = api::ParseProvenElGamalKey(
          request.public_key().data(), request.name(), caller.name.substr(caller.name.find('/') + 1));
      if (!proven.ok()) return Invalid("public_key.data", proven.status().message());
    } else if (auto point = api::ParseEncryptionPublicKey(request.public_key().data()); !point.ok()) {
      return Invalid("public_key.data", point.status().message());
    }
    participant->set_state(Computation::Participant::REQUISITION_PARAMS_SET);
    *participant->mutable_public_key() = request.public_key();
    participant->set_certificate_der(certificate.ToDer());
    const bool all_set = std::all_of(row.record.participants().begin(), row.record.participants().end(), [](const auto& p) {
      return p.state() == Computation::Participant::REQUISITION_PARAMS_SET;
    });
    if (all_set) {
      RETURN_IF_ERROR(CheckMeasurementTransition(row.record.state(), Computation::PENDING_REQUISITION_FULFILLMENT));
      row.record.set_state(Computation::PENDING_REQUISITION_FULFILLMENT);
      // The requisitions become visible to their EDPs, with every duchy's key.
      ASSIGN_OR_RETURN(std::vector<RequisitionRecord> requisitions, LoadRequisitions(row.name));
      for (RequisitionRecord& r : requisitions) {
        for (const auto& p : row.record.participants()) {
          auto& entry = *r.mutable_requisition()->add_duchies();
          entry.set_duchy_id(p.duchy_id());
          *entry.mutable_public_key() = p.public_key();
        }
        RETURN_IF_ERROR(SaveRequisition(r, now));
      }
    }
    RETURN_IF_ERROR(SaveMeasurement(row, now));
    out = ComputationView(row);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Computation> Ledger::ConfirmComputationParticipant(
    const Principal& caller, const api::v1::ConfirmComputationParticipantRequest& request) {
  absl::StatusOr<Computation> out;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(MeasurementRow row, ComputationForParticipant(caller, request.name(), request.etag()));
    if (row.record.state() != Computation::PENDING_PARTICIPANT_CONFIRMATION) {
      return absl::FailedPreconditionError(absl::StrCat(request.name(), " is ", Computation::State_Name(row.record.state()),
                                                        ", not PENDING_PARTICIPANT_CONFIRMATION"));
    }
    Computation::Participant* participant = FindParticipant(row.record, caller.name);
    RETURN_IF_ERROR(CheckParticipantTransition(participant->state(), Computation::Participant::READY));
    participant->set_state(Computation::Participant::READY);
    const bool all_ready = std::all_of(row.record.participants().begin(), row.record.participants().end(),
                                       [](const auto& p) { return p.state() == Computation::Participant::READY; });
    if (all_ready) {
      RETURN_IF_ERROR(CheckMeasurementTransition(row.record.state(), Computation::PENDING_COMPUTATION));
      row.record.set_state(Computation::PENDING_COMPUTATION);
    }
    RETURN_IF_ERROR(SaveMeasurement(row, now));
    out = ComputationView(row);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Computation> Ledger::FulfillRequisition(const Principal& caller,
                                                       const api::v1::FulfillRequisitionRequest& request) {
  ASSIGN_OR_RETURN(std::vector<std::string> ids,
                   ParseName(request.name(), "computations/*/requisitions/*", "name"));
  absl::StatusOr<Computation> out;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(MeasurementRow row,
                     ComputationForParticipant(caller, absl::StrCat("computations/", ids[0]), request.etag()));
    ASSIGN_OR_RETURN(RequisitionRecord r, LoadRequisition("computation_requisition", request.name()));
    if (r.requisition().state() == Requisition::WITHDRAWN) {
      return absl::NotFoundError(absl::StrCat("requisition ", request.name(), " was withdrawn"));
    }
    if ("duchies/" + r.requisition().fulfilling_duchy() != caller.name) {
      return absl::PermissionDeniedError(absl::StrCat(request.name(), " is fulfilled at duchy ",
                                                      r.requisition().fulfilling_duchy(), ", not ", caller.name));
    }
    if (row.record.state() != Computation::PENDING_REQUISITION_FULFILLMENT) {
      return absl::FailedPreconditionError(absl::StrCat(row.computation, " is ",
                                                        Computation::State_Name(row.record.state()),
                                                        ", not PENDING_REQUISITION_FULFILLMENT"));
    }
    RETURN_IF_ERROR(CheckRequisitionTransition(r.requisition().state(), Requisition::FULFILLED));
    if (api::NonceHash(request.nonce()) != r.requisition().nonce_hash()) {
      return Invalid("nonce", absl::StrCat("does not match the nonce hash of ", request.name()));
    }
    r.mutable_requisition()->set_state(Requisition::FULFILLED);
    RETURN_IF_ERROR(SaveRequisition(r, now));
    ASSIGN_OR_RETURN(std::vector<RequisitionRecord> all, LoadRequisitions(row.name));
    const bool done = std::all_of(all.begin(), all.end(), [](const RequisitionRecord& x) {
      return x.requisition().state() == Requisition::FULFILLED;
    });
    if (done) {
      const auto next = row.record.measurement().protocol_config().protocol() == api::v1::HONEST_MAJORITY_SHARE_SHUFFLE
                            ? Computation::PENDING_COMPUTATION
                            : Computation::PENDING_PARTICIPANT_CONFIRMATION;
      RETURN_IF_ERROR(CheckMeasurementTransition(row.record.state(), next));
      row.record.set_state(next);
    }
    RETURN_IF_ERROR(SaveMeasurement(row, now));
    out = ComputationView(row);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Computation> Ledger::SetComputationResult(const Principal& caller,
                                                         const api::v1::SetComputationResultRequest& request) {
  if (request.encrypted_result().empty()) return Invalid("encrypted_result", "is missing");
  RETURN_IF_ERROR(CheckSpecSize(request.encrypted_result().size(), "encrypted_result"));
  absl::StatusOr<Computation> out;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(MeasurementRow row, ComputationForParticipant(caller, request.name(), request.etag()));
    const std::string& aggregator = row.record.measurement().protocol_config().aggregator();
    if (caller.name != "duchies/" + aggregator) {
      return absl::PermissionDeniedError(absl::StrCat("only the aggregator, duchies/", aggregator,
                                                      ", sets the result of ", request.name()));
    }
    RETURN_IF_ERROR(CheckMeasurementTransition(row.record.state(), Computation::SUCCEEDED));
    if (row.record.state() != Computation::PENDING_COMPUTATION) {
      return absl::FailedPreconditionError(absl::StrCat(request.name(), " is ",
                                                        Computation::State_Name(row.record.state())));
    }
    RETURN_IF_ERROR(UsableCertificateOf(caller.name, request.certificate(), "certificate").status());
    auto& result = *row.record.mutable_measurement()->add_results();
    result.set_certificate(request.certificate());
    result.set_encrypted_result(request.encrypted_result());
    row.record.set_state(Computation::SUCCEEDED);
    RETURN_IF_ERROR(SaveMeasurement(row, now));
    out = ComputationView(row);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<Computation> Ledger::FailComputationParticipant(
    const Principal& caller, const api::v1::FailComputationParticipantRequest& request) {
  if (request.message().size() > 4096) return Invalid("message", "is longer than 4096 bytes");
  absl::StatusOr<Computation> out;
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(MeasurementRow row, ComputationForParticipant(caller, request.name(), request.etag()));
    Computation::Participant* participant = FindParticipant(row.record, caller.name);
    RETURN_IF_ERROR(CheckParticipantTransition(participant->state(), Computation::Participant::FAILED));
    participant->set_state(Computation::Participant::FAILED);
    participant->set_failure_message(request.message());
    RETURN_IF_ERROR(EndMeasurement(row, Computation::FAILED, Measurement::Failure::COMPUTATION_PARTICIPANT_FAILED,
                                   absl::StrCat(caller.name, ": ", request.message()), now));
    out = ComputationView(row);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<api::v1::ComputationLogEntry> Ledger::CreateComputationLogEntry(
    const Principal& caller, const api::v1::CreateComputationLogEntryRequest& request) {
  api::v1::ComputationLogEntry entry = request.entry();
  if (entry.message().size() > 4096) return Invalid("entry.message", "is longer than 4096 bytes");
  if (entry.stage().size() > 64) return Invalid("entry.stage", "is longer than 64 bytes");
  RETURN_IF_ERROR(WriteTransaction([&](int64_t now) -> absl::Status {
    ASSIGN_OR_RETURN(MeasurementRow row, ComputationForParticipant(caller, entry.computation(), ""));
    // A participant may not grow the Kingdom's records without bound.
    ASSIGN_OR_RETURN(int64_t logged, measurements_.CountLogEntries(row.name));
    if (logged >= kMaxLogEntries) {
      return absl::ResourceExhaustedError(
          absl::StrCat(entry.computation(), " has ", kMaxLogEntries, " log entries already; no more are kept"));
    }
    entry.set_duchy_id(caller.name.substr(caller.name.find('/') + 1));
    entry.set_time_micros(now);
    return measurements_.AddLogEntry(row.name, entry.SerializeAsString());
  }));
  return entry;
}

// Monitoring

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> Ledger::MeasurementsByState(bool over) {
  const int64_t day_ago = absl::ToUnixMicros(options_.clock() - absl::Hours(24));
  std::vector<std::pair<int, int64_t>> counts;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(counts, measurements_.CountByState(over, over ? day_ago : 0));
    return absl::OkStatus();
  }));
  std::vector<std::pair<std::string, int64_t>> named;
  for (const auto& [state, count] : counts) {
    named.emplace_back(Computation::State_IsValid(state) ? Computation::State_Name(static_cast<ComputationState>(state))
                                                         : "UNKNOWN",
                       count);
  }
  return named;
}

absl::StatusOr<std::vector<StoredMeasurement>> Ledger::RecentFailures(int limit) {
  std::vector<StoredMeasurement> failed;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(failed, measurements_.LastInState(Computation::FAILED, limit));
    return absl::OkStatus();
  }));
  return failed;
}

absl::Status Ledger::CheckDatabase() {
  return db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q, db_->Prepare("SELECT 1"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) return absl::UnavailableError("the Kingdom's database returned nothing");
    return absl::OkStatus();
  });
}

// Housekeeping

absl::StatusOr<Ledger::HousekeepingResult> Ledger::RunHousekeeping() {
  const auto& config = options_.config;
  const absl::Duration pending = absl::Hours(config.pending_measurement_timeout_hours() > 0
                                                 ? config.pending_measurement_timeout_hours()
                                                 : 15 * 24);
  const absl::Duration retention = absl::Hours(24) * (config.measurement_retention_days() > 0
                                                          ? config.measurement_retention_days()
                                                          : 180);
  const int64_t now_micros = absl::ToUnixMicros(options_.clock());
  HousekeepingResult result;
  // Another replica is at it: nothing to do here.
  const auto alone = [&]() -> absl::StatusOr<bool> {
    result = {};
    return db_->TryExclusive(kHousekeepingLock);
  };
  RETURN_IF_ERROR(write_turns_.Run(
      [&](int64_t now) -> absl::Status {
        ASSIGN_OR_RETURN(const std::vector<std::string> stale,
                         measurements_.OpenNames(now_micros - absl::ToInt64Microseconds(pending)));
        for (const std::string& name : stale) {
          ASSIGN_OR_RETURN(MeasurementRow row, LoadMeasurement(name));
          RETURN_IF_ERROR(
              EndMeasurement(row, Computation::CANCELLED, Measurement::Failure::PENDING_TOO_LONG, "", now));
          ++result.cancelled;
        }
        ASSIGN_OR_RETURN(const int64_t deleted,
                         measurements_.DeleteFinished(now_micros - absl::ToInt64Microseconds(retention)));
        result.deleted = static_cast<int>(deleted);
        return db_->Publish(kChangesChannel, "");
      },
      alone));
  return result;
}

}  // namespace halo::kingdom
