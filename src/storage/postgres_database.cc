#include "halo/storage/postgres_database.h"

#include <libpq-fe.h>
#include <poll.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/internal/endian.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "halo/common/status_macros.h"
#include "halo/crypto/random.h"

namespace halo::storage {
namespace {

// PostgreSQL's type OIDs (pg_type.dat): what a binary column holds.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kTextOid = 25;
constexpr Oid kFloat8Oid = 701;

// Where a transaction the server aborted should simply run again.
constexpr absl::string_view kRetryPayload = "halo.storage/retry";
constexpr int kMaxTransactionAttempts = 10;
// Taken by Migrate, so that replicas starting together migrate one at a time.
constexpr int64_t kMigrationLock = 0x68616c6f5f6d6967;  // "halo_mig"

absl::Status PostgresError(PGconn* connection, const PGresult* result, absl::string_view what) {
  const char* sqlstate = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string state = sqlstate != nullptr ? sqlstate : "";
  std::string detail = result != nullptr ? PQresultErrorMessage(result) : "";
  if (detail.empty()) detail = PQerrorMessage(connection);
  absl::StripTrailingAsciiWhitespace(&detail);
  const std::string message = absl::StrCat("PostgreSQL ", what, ": ", detail, state.empty() ? "" : " (SQLSTATE ",
                                           state, state.empty() ? "" : ")");
  if (state == "40001" || state == "40P01") {
    absl::Status status = absl::AbortedError(message);
    status.SetPayload(kRetryPayload, absl::Cord("1"));
    return status;
  }
  if (state.rfind("23", 0) == 0) return absl::AlreadyExistsError(message);
  if (state.empty() || state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 ||
      PQstatus(connection) == CONNECTION_BAD) {
    return absl::UnavailableError(message);
  }
  if (state == "25006") return absl::FailedPreconditionError(message);  // a write in a read-only transaction
  return absl::InternalError(message);
}

bool Succeeded(const PGresult* result) {
  const ExecStatusType status = PQresultStatus(result);
  return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

struct Connection {
  PGconn* conn = nullptr;
  // Statements prepared on this connection: SQL and parameter types to name.
  absl::flat_hash_map<std::string, std::string> prepared;
};

absl::Status Exec(Connection& connection, absl::string_view sql) {
  const std::string owned(sql);
  PGresult* result = PQexec(connection.conn, owned.c_str());
  absl::Status status = Succeeded(result)
                            ? absl::OkStatus()
                            : PostgresError(connection.conn, result,
                                            absl::StrCat("executing \"", sql.substr(0, 200), "\""));
  PQclear(result);
  return status;
}

absl::StatusOr<PGconn*> Connect(const PostgresDatabase::Options& options) {
  // A typo is the operator's to fix, not a server to wait for.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.conninfo.c_str(), &parse_error);
  if (parsed == nullptr) {
    std::string message = parse_error != nullptr ? parse_error : "out of memory";
    PQfreemem(parse_error);
    absl::StripTrailingAsciiWhitespace(&message);
    return absl::InvalidArgumentError(absl::StrCat("malformed PostgreSQL connection string: ", message));
  }
  PQconninfoFree(parsed);
  const std::string timeout = absl::StrCat(std::max<int64_t>(1, absl::ToInt64Seconds(options.connect_timeout)));
  // The operator's conninfo comes last, so it overrides these defaults.
  // libpq is linked without GSSAPI (libpq_without_gssapi_ldap.cc).
  // NOTICEs ("relation already exists, skipping") would go to stderr.
  const char* keywords[] = {"gssencmode", "connect_timeout", "application_name", "options", "dbname", nullptr};
  const char* values[] = {"disable",       timeout.c_str(), "halo", "-c client_min_messages=warning",
                          options.conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return absl::ResourceExhaustedError("PostgreSQL: out of memory opening a connection");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = PQerrorMessage(conn);
    absl::StripTrailingAsciiWhitespace(&message);
    PQfinish(conn);
    return absl::UnavailableError(absl::StrCat("cannot connect to PostgreSQL: ", message));
  }
  // What the server says outside a result (a shutdown's FATAL before the
  // connection drops) reaches the caller as the next call's error; libpq
  // would also print it to stderr.
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  return conn;
}

// Which pooled connection this thread's transaction holds.
struct CurrentTransaction {
  const PostgresDatabase::Pool* pool = nullptr;
  Connection* connection = nullptr;
};
thread_local CurrentTransaction current;

}  // namespace

struct PostgresDatabase::Pool {
  Options options;
  std::vector<std::unique_ptr<Connection>> connections;
  absl::Mutex mu;
  std::vector<Connection*> idle ABSL_GUARDED_BY(mu);

  // LISTEN runs on a connection of its own, outside the pool.
  absl::Mutex listener_mu;
  PGconn* listener ABSL_GUARDED_BY(listener_mu) = nullptr;
  std::vector<std::pair<std::string, std::function<void(const std::string&)>>> subscribers
      ABSL_GUARDED_BY(listener_mu);
  std::thread listener_thread;
  std::atomic<bool> stopping{false};

  Connection* Acquire() {
    Connection* connection;
    {
      absl::MutexLock lock(&mu);
      mu.Await(absl::Condition(+[](std::vector<Connection*>* idle) { return !idle->empty(); }, &idle));
      connection = idle.back();
      idle.pop_back();
    }
    if (PQstatus(connection->conn) == CONNECTION_BAD) {
      // The server restarted or the network dropped: prepared statements
      // went with the session.
      PQreset(connection->conn);
      connection->prepared.clear();
    }
    return connection;
  }

  // Runs `run` on the connection of this thread's transaction on this pool,
  // or else on one borrowed for the call.
  absl::Status OnConnection(const std::function<absl::Status(Connection&)>& run) {
    if (current.pool == this) return run(*current.connection);
    Connection* borrowed = Acquire();
    absl::Status status = run(*borrowed);
    Release(borrowed);
    return status;
  }

  void Release(Connection* connection) {
    if (PQstatus(connection->conn) == CONNECTION_OK && PQtransactionStatus(connection->conn) != PQTRANS_IDLE) {
      Exec(*connection, "ROLLBACK").IgnoreError();
    }
    absl::MutexLock lock(&mu);
    idle.push_back(connection);
  }

  absl::Status Listen(const std::string& channel) ABSL_EXCLUSIVE_LOCKS_REQUIRED(listener_mu) {
    char* quoted = PQescapeIdentifier(listener, channel.data(), channel.size());
    if (quoted == nullptr) return absl::InvalidArgumentError(absl::StrCat("bad channel name \"", channel, "\""));
    const std::string sql = absl::StrCat("LISTEN ", quoted);
    PQfreemem(quoted);
    PGresult* result = PQexec(listener, sql.c_str());
    absl::Status status = Succeeded(result) ? absl::OkStatus() : PostgresError(listener, result, sql);
    PQclear(result);
    return status;
  }

  // Waits for notifications and hands them out; after a lost connection,
  // reconnects, listens again and tells every subscriber to look again.
  void RunListener() {
    while (!stopping.load()) {
      int socket;
      {
        absl::MutexLock lock(&listener_mu);
        socket = PQsocket(listener);
      }
      if (socket >= 0) {
        pollfd waiting{.fd = socket, .events = POLLIN, .revents = 0};
        poll(&waiting, 1, 100);
      } else {
        absl::SleepFor(absl::Milliseconds(100));
      }
      std::vector<std::pair<std::string, std::string>> received;
      bool lost = false;
      {
        absl::MutexLock lock(&listener_mu);
        if (PQconsumeInput(listener) == 0 || PQstatus(listener) == CONNECTION_BAD) {
          PQreset(listener);
          if (PQstatus(listener) != CONNECTION_OK) continue;
          for (const auto& [channel, callback] : subscribers) Listen(channel).IgnoreError();
          lost = true;
        }
        while (PGnotify* notify = PQnotifies(listener)) {
          received.emplace_back(notify->relname, notify->extra);
          PQfreemem(notify);
        }
        for (const auto& [channel, payload] : received) {
          for (const auto& [subscribed, callback] : subscribers) {
            if (subscribed == channel) callback(payload);
          }
        }
        if (lost) {
          for (const auto& [subscribed, callback] : subscribers) callback("");
        }
      }
    }
  }
};

namespace {

class PostgresStatement final : public StatementBackend {
 public:
  PostgresStatement(PostgresDatabase::Pool* pool, std::string sql) : pool_(pool), sql_(std::move(sql)) {}
  ~PostgresStatement() override { PQclear(result_); }

  void Bind(int index, int64_t value) override {
    char bytes[8];
    absl::big_endian::Store64(bytes, static_cast<uint64_t>(value));
    Set(index, kInt8Oid, std::string(bytes, 8));
  }
  void Bind(int index, absl::string_view text) override { Set(index, kTextOid, std::string(text)); }
  void BindBlob(int index, absl::string_view bytes) override { Set(index, kByteaOid, std::string(bytes)); }
  void BindDouble(int index, double value) override {
    uint64_t bits;
    std::memcpy(&bits, &value, 8);
    char bytes[8];
    absl::big_endian::Store64(bytes, bits);
    Set(index, kFloat8Oid, std::string(bytes, 8));
  }
  void BindNull(int index) override {
    if (Slot(index) != nullptr) *Slot(index) = Parameter{};
  }

  absl::StatusOr<bool> Step() override {
    RETURN_IF_ERROR(bind_error_);
    if (result_ == nullptr) RETURN_IF_ERROR(Execute());
    ++row_;
    return row_ < PQntuples(result_);
  }

  int64_t ColumnInt64(int column) const override {
    if (PQgetisnull(result_, row_, column)) return 0;
    const char* value = PQgetvalue(result_, row_, column);
    switch (PQftype(result_, column)) {
      case kInt8Oid:
        return static_cast<int64_t>(absl::big_endian::Load64(value));
      case kInt4Oid:
        return static_cast<int32_t>(absl::big_endian::Load32(value));
      case kInt2Oid:
        return static_cast<int16_t>(absl::big_endian::Load16(value));
      case kBoolOid:
        return value[0] != 0;
      default:
        // SQL that yields another type for an integer column is a bug in
        // halo (a SUM needs a cast to bigint), not a runtime condition.
        Unsupported(column, "an integer");
    }
  }
  double ColumnDouble(int column) const override {
    if (PQgetisnull(result_, row_, column)) return 0;
    if (PQftype(result_, column) != kFloat8Oid) return static_cast<double>(ColumnInt64(column));
    const uint64_t bits = absl::big_endian::Load64(PQgetvalue(result_, row_, column));
    double value;
    std::memcpy(&value, &bits, 8);
    return value;
  }
  std::string ColumnText(int column) const override { return ColumnBlob(column); }
  std::string ColumnBlob(int column) const override {
    if (PQgetisnull(result_, row_, column)) return std::string();
    return std::string(PQgetvalue(result_, row_, column), PQgetlength(result_, row_, column));
  }
  bool ColumnIsNull(int column) const override { return PQgetisnull(result_, row_, column) != 0; }
  int64_t ChangedRows() const override { return changed_rows_; }

  void Reset() override {
    PQclear(result_);
    result_ = nullptr;
    row_ = -1;
    changed_rows_ = 0;
    parameters_.clear();
    bind_error_ = absl::OkStatus();
  }

 private:
  struct Parameter {
    Oid type = 0;  // 0: NULL, its type inferred by the server
    std::string bytes;
  };

  Parameter* Slot(int index) {
    if (index < 1 || index > 65535) {
      if (bind_error_.ok()) bind_error_ = absl::InvalidArgumentError(absl::StrCat("no parameter ", index));
      return nullptr;
    }
    if (static_cast<size_t>(index) > parameters_.size()) parameters_.resize(index);
    return &parameters_[index - 1];
  }
  void Set(int index, Oid type, std::string bytes) {
    if (Parameter* slot = Slot(index)) *slot = Parameter{type, std::move(bytes)};
  }

  [[noreturn]] void Unsupported(int column, absl::string_view wanted) const {
    std::fprintf(stderr, "halo: column %d (type %u) of \"%s\" read as %s\n", column, PQftype(result_, column),
                 sql_.c_str(), std::string(wanted).c_str());
    std::abort();
  }

  absl::Status Execute() {
    return pool_->OnConnection([this](Connection& connection) { return ExecuteOn(connection); });
  }

  absl::Status ExecuteOn(Connection& connection) {
    std::vector<Oid> types;
    std::vector<const char*> values;
    std::vector<int> lengths;
    std::vector<int> formats(parameters_.size(), 1);
    std::string key = sql_;
    for (const Parameter& parameter : parameters_) {
      types.push_back(parameter.type);
      values.push_back(parameter.type == 0 ? nullptr : parameter.bytes.data());
      lengths.push_back(static_cast<int>(parameter.bytes.size()));
      absl::StrAppend(&key, ",", parameter.type);
    }
    auto [it, inserted] = connection.prepared.try_emplace(key, "");
    if (inserted) {
      it->second = absl::StrCat("halo_", connection.prepared.size());
      PGresult* prepared = PQprepare(connection.conn, it->second.c_str(), sql_.c_str(),
                                     static_cast<int>(types.size()), types.data());
      absl::Status status = Succeeded(prepared) ? absl::OkStatus()
                                                : PostgresError(connection.conn, prepared,
                                                                absl::StrCat("preparing \"", sql_, "\""));
      PQclear(prepared);
      if (!status.ok()) {
        connection.prepared.erase(it);
        return status;
      }
    }
    result_ = PQexecPrepared(connection.conn, it->second.c_str(), static_cast<int>(values.size()), values.data(),
                             lengths.data(), formats.data(), /*resultFormat=*/1);
    if (!Succeeded(result_)) {
      absl::Status status = PostgresError(connection.conn, result_, absl::StrCat("executing \"", sql_, "\""));
      PQclear(result_);
      result_ = nullptr;
      return status;
    }
    int64_t changed = 0;
    if (absl::SimpleAtoi(PQcmdTuples(result_), &changed)) changed_rows_ = changed;
    return absl::OkStatus();
  }

  PostgresDatabase::Pool* pool_;
  std::string sql_;
  std::vector<Parameter> parameters_;
  PGresult* result_ = nullptr;
  int row_ = -1;
  int64_t changed_rows_ = 0;
  absl::Status bind_error_;
};

}  // namespace

std::string NumberParameters(absl::string_view sql) {
  std::string numbered;
  numbered.reserve(sql.size() + 16);
  int next = 0;
  char quote = 0;
  for (char c : sql) {
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '?') {
      absl::StrAppend(&numbered, "$", ++next);
      continue;
    }
    numbered.push_back(c);
  }
  return numbered;
}

PostgresDatabase::PostgresDatabase(std::unique_ptr<Pool> pool) : pool_(std::move(pool)) {}

PostgresDatabase::~PostgresDatabase() {
  pool_->stopping = true;
  if (pool_->listener_thread.joinable()) pool_->listener_thread.join();
  {
    absl::MutexLock lock(&pool_->listener_mu);
    if (pool_->listener != nullptr) PQfinish(pool_->listener);
  }
  for (auto& connection : pool_->connections) PQfinish(connection->conn);
}

absl::StatusOr<std::unique_ptr<PostgresDatabase>> PostgresDatabase::Open(Options options) {
  if (options.connections < 1 || options.connections > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat("a PostgreSQL pool needs 1 to 1000 connections, not ", options.connections));
  }
  auto pool = std::make_unique<Pool>();
  pool->options = options;
  // Owned by the pool from the first one on, so an error below closes them.
  std::unique_ptr<PostgresDatabase> database(new PostgresDatabase(std::move(pool)));
  Pool& owned = *database->pool_;
  for (int i = 0; i < options.connections; ++i) {
    ASSIGN_OR_RETURN(PGconn * conn, Connect(options));
    owned.connections.push_back(std::make_unique<Connection>(Connection{.conn = conn}));
    absl::MutexLock lock(&owned.mu);
    owned.idle.push_back(owned.connections.back().get());
  }
  return database;
}

absl::Status PostgresDatabase::Execute(absl::string_view sql) {
  return pool_->OnConnection([sql](Connection& connection) { return Exec(connection, sql); });
}

absl::StatusOr<Statement> PostgresDatabase::Prepare(absl::string_view sql) {
  return Statement(std::make_unique<PostgresStatement>(pool_.get(), NumberParameters(sql)));
}

absl::Status PostgresDatabase::RunTransaction(absl::string_view begin, const std::function<absl::Status()>& body) {
  if (current.pool == pool_.get()) {
    return absl::FailedPreconditionError("PostgreSQL transactions do not nest");
  }
  for (int attempt = 1;; ++attempt) {
    Connection* connection = pool_->Acquire();
    current = {pool_.get(), connection};
    absl::Status status = Exec(*connection, begin);
    // A connection that died idle in the pool (the server restarted) fails
    // at BEGIN, before anything was done: the next attempt reconnects.
    const bool lost_idle = !status.ok() && PQstatus(connection->conn) == CONNECTION_BAD;
    if (status.ok()) status = body();
    if (status.ok()) status = Exec(*connection, "COMMIT");
    current = {};
    pool_->Release(connection);  // rolls back what is left open
    if (lost_idle && attempt < kMaxTransactionAttempts) continue;
    if (status.ok() || !status.GetPayload(kRetryPayload).has_value() || attempt == kMaxTransactionAttempts) {
      return status;
    }
    // Two transactions that collided would collide again if both came back
    // at once.
    absl::SleepFor(absl::Microseconds(crypto::SecureRandomUint64() % (500 * attempt)));
  }
}

absl::Status PostgresDatabase::Transaction(const std::function<absl::Status()>& body) {
  return RunTransaction("BEGIN ISOLATION LEVEL READ COMMITTED", body);
}

absl::Status PostgresDatabase::ReadTransaction(const std::function<absl::Status()>& body) {
  return RunTransaction("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body);
}

absl::Status PostgresDatabase::ReadEach(const std::function<absl::Status()>& body) {
  if (current.pool == pool_.get()) return absl::FailedPreconditionError("PostgreSQL transactions do not nest");
  // No BEGIN: each statement is its own transaction, on this connection.
  // Only reads, so a body that failed on a connection that had died idle
  // in the pool runs again, once, on a new one.
  for (int attempt = 1;; ++attempt) {
    Connection* connection = pool_->Acquire();
    current = {pool_.get(), connection};
    absl::Status status = body();
    current = {};
    const bool lost = !status.ok() && PQstatus(connection->conn) == CONNECTION_BAD;
    pool_->Release(connection);
    if (!lost || attempt == 2) return status;
  }
}

absl::StatusOr<int> PostgresDatabase::SchemaVersion() {
  int version = 0;
  RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
    RETURN_IF_ERROR(Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    ASSIGN_OR_RETURN(Statement select, Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
    ASSIGN_OR_RETURN(bool row, select.Step());
    version = row ? static_cast<int>(select.ColumnInt64(0)) : 0;
    return absl::OkStatus();
  }));
  return version;
}

absl::Status PostgresDatabase::Migrate(absl::Span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::InvalidArgumentError(absl::StrCat("migration at position ", i, " has version ",
                                                     migrations[i].version, "; expected ", i + 1));
    }
  }
  for (bool done = false; !done;) {
    RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
      ASSIGN_OR_RETURN(Statement lock, Prepare("SELECT pg_advisory_xact_lock(?)"));
      RETURN_IF_ERROR(lock.Bind(1, kMigrationLock).Run());
      RETURN_IF_ERROR(Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
      ASSIGN_OR_RETURN(Statement select, Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
      ASSIGN_OR_RETURN(bool row, select.Step());
      const int version = row ? static_cast<int>(select.ColumnInt64(0)) : 0;
      if (version > static_cast<int>(migrations.size())) {
        return absl::FailedPreconditionError(absl::StrCat("database schema version ", version,
                                                          " is newer than this halo binary knows (",
                                                          migrations.size(), ")"));
      }
      done = version == static_cast<int>(migrations.size());
      if (done) return absl::OkStatus();
      const Migration& next = migrations[version];
      if (next.postgresql.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("schema migration ", next.version, " exists only for SQLite"));
      }
      RETURN_IF_ERROR(Execute(next.postgresql));
      ASSIGN_OR_RETURN(Statement record, Prepare("INSERT INTO schema_version (version) VALUES (?)"));
      return record.Bind(1, int64_t{next.version}).Run();
    }));
  }
  return absl::OkStatus();
}

absl::Status PostgresDatabase::Publish(absl::string_view channel, absl::string_view payload) {
  if (current.pool != pool_.get()) {
    return absl::FailedPreconditionError("Publish needs a transaction, to publish at its commit");
  }
  ASSIGN_OR_RETURN(Statement notify, Prepare("SELECT pg_notify(?, ?)"));
  return notify.Bind(1, channel).Bind(2, payload).Run();
}

absl::Status PostgresDatabase::Subscribe(const std::string& channel,
                                         std::function<void(const std::string&)> callback) {
  Pool& pool = *pool_;
  absl::MutexLock lock(&pool.listener_mu);
  if (pool.listener == nullptr) {
    ASSIGN_OR_RETURN(pool.listener, Connect(pool.options));
    pool.listener_thread = std::thread([&pool] { pool.RunListener(); });
  }
  RETURN_IF_ERROR(pool.Listen(channel));
  pool.subscribers.emplace_back(channel, std::move(callback));
  return absl::OkStatus();
}

absl::StatusOr<bool> PostgresDatabase::TryExclusive(int64_t key) {
  if (current.pool != pool_.get()) {
    return absl::FailedPreconditionError("TryExclusive needs a transaction, which holds what it takes");
  }
  ASSIGN_OR_RETURN(Statement lock, Prepare("SELECT pg_try_advisory_xact_lock(?)"));
  ASSIGN_OR_RETURN(bool row, lock.Bind(1, key).Step());
  return row && lock.ColumnInt64(0) != 0;
}

}  // namespace halo::storage
