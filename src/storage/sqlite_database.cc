#include "halo/storage/sqlite_database.h"

#include <sqlite3.h>

#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "halo/common/status_macros.h"

namespace halo::storage {
namespace {

absl::Status SqliteError(sqlite3* db, int rc, absl::string_view what) {
  const std::string message =
      absl::StrCat("SQLite ", what, ": ", db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
      return absl::AlreadyExistsError(message);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    default:
      return absl::InternalError(message);
  }
}

// ---- statements ----

class SqliteStatement final : public StatementBackend {
 public:
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~SqliteStatement() override { sqlite3_finalize(stmt_); }

  void Bind(int index, int64_t value) override { Check(index, sqlite3_bind_int64(stmt_, index, value)); }
  void Bind(int index, absl::string_view text) override {
    Check(index, sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  void BindBlob(int index, absl::string_view bytes) override {
    Check(index, sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_TRANSIENT));
  }
  void BindDouble(int index, double value) override { Check(index, sqlite3_bind_double(stmt_, index, value)); }
  void BindNull(int index) override { Check(index, sqlite3_bind_null(stmt_, index)); }

  absl::StatusOr<bool> Step() override {
    RETURN_IF_ERROR(bind_error_);
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) {
      changed_rows_ = sqlite3_changes(db_);
      return false;
    }
    return SqliteError(db_, rc, absl::StrCat("executing \"", sqlite3_sql(stmt_), "\""));
  }

  int64_t ColumnInt64(int column) const override { return sqlite3_column_int64(stmt_, column); }
  double ColumnDouble(int column) const override { return sqlite3_column_double(stmt_, column); }
  std::string ColumnText(int column) const override {
    const auto* text = sqlite3_column_text(stmt_, column);
    return text == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(text), sqlite3_column_bytes(stmt_, column));
  }
  std::string ColumnBlob(int column) const override {
    const void* blob = sqlite3_column_blob(stmt_, column);
    return blob == nullptr ? std::string()
                           : std::string(static_cast<const char*>(blob), sqlite3_column_bytes(stmt_, column));
  }
  bool ColumnIsNull(int column) const override { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  int64_t ChangedRows() const override { return changed_rows_; }

  void Reset() override {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    bind_error_ = absl::OkStatus();
    changed_rows_ = 0;
  }

 private:
  void Check(int index, int rc) {
    if (rc != SQLITE_OK && bind_error_.ok()) {
      bind_error_ = SqliteError(db_, rc, absl::StrCat("bind parameter ", index));
    }
  }

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  absl::Status bind_error_;
  int64_t changed_rows_ = 0;
};

}  // namespace

absl::Status Statement::Run() {
  while (true) {
    ASSIGN_OR_RETURN(bool row, Step());
    if (!row) return absl::OkStatus();
  }
}

// ---- SqliteDatabase ----

absl::StatusOr<std::unique_ptr<SqliteDatabase>> SqliteDatabase::Open(const std::string& path,
                                                                     Options options) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteError(db, rc, absl::StrCat("opening ", path));
    sqlite3_close(db);
    return status;
  }
  std::unique_ptr<SqliteDatabase> database(new SqliteDatabase(db));
  sqlite3_busy_timeout(db, static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
  // journal_mode returns a row, so it goes through Prepare to check the mode.
  ASSIGN_OR_RETURN(Statement wal, database->Prepare("PRAGMA journal_mode=WAL"));
  ASSIGN_OR_RETURN(bool row, wal.Step());
  if (!row || wal.ColumnText(0) != "wal") {
    return absl::FailedPreconditionError(
        absl::StrCat("SQLite database ", path, " could not switch to WAL mode"));
  }
  // secure_delete: deleted rows are overwritten, so a secret key a duchy
  // forgets when its computation ends is not left in a free page.
  RETURN_IF_ERROR(database->Execute("PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON;"));
  for (int i = 0; i < options.readers; ++i) {
    // Each reader serves one transaction at a time, so it needs no mutex.
    sqlite3* reader = nullptr;
    const int reader_rc =
        sqlite3_open_v2(path.c_str(), &reader, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (reader_rc != SQLITE_OK) {
      absl::Status status = SqliteError(reader, reader_rc, absl::StrCat("opening a reader of ", path));
      sqlite3_close(reader);
      return status;
    }
    sqlite3_busy_timeout(reader, static_cast<int>(absl::ToInt64Milliseconds(options.busy_timeout)));
    database->readers_.push_back(reader);
  }
  database->idle_readers_ = database->readers_;
  return database;
}

SqliteDatabase::~SqliteDatabase() {
  for (sqlite3* reader : readers_) sqlite3_close_v2(reader);
  sqlite3_close_v2(db_);
}

namespace {

struct CurrentReader {
  const SqliteDatabase* database = nullptr;
  sqlite3* connection = nullptr;
};
thread_local CurrentReader current_reader;
// The database whose write transaction this thread is in, if any.
thread_local const SqliteDatabase* current_writer = nullptr;

}  // namespace

sqlite3* SqliteDatabase::Connection() const {
  return current_reader.database == this ? current_reader.connection : db_;
}

absl::Status SqliteDatabase::Execute(absl::string_view sql) { return Execute(Connection(), sql); }

absl::Status SqliteDatabase::Execute(sqlite3* connection, absl::string_view sql) {
  std::string owned(sql);
  char* error = nullptr;
  const int rc = sqlite3_exec(connection, owned.c_str(), nullptr, nullptr, &error);
  if (rc != SQLITE_OK) {
    absl::Status status = SqliteError(connection, rc, absl::StrCat("executing \"", sql.substr(0, 200), "\""));
    sqlite3_free(error);
    return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<Statement> SqliteDatabase::Prepare(absl::string_view sql) {
  sqlite3* connection = Connection();
  sqlite3_stmt* stmt = nullptr;
  const int rc = sqlite3_prepare_v2(connection, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return SqliteError(connection, rc, absl::StrCat("preparing \"", sql.substr(0, 200), "\""));
  }
  return Statement(std::make_unique<SqliteStatement>(connection, stmt));
}

absl::Status SqliteDatabase::ReadTransaction(const std::function<absl::Status()>& body) {
  if (readers_.empty()) return Transaction(body);
  sqlite3* reader;
  {
    absl::MutexLock lock(&readers_mu_);
    readers_mu_.Await(absl::Condition(
        +[](std::vector<sqlite3*>* idle) { return !idle->empty(); }, &idle_readers_));
    reader = idle_readers_.back();
    idle_readers_.pop_back();
  }
  current_reader = {this, reader};
  absl::Status status = Execute(reader, "BEGIN");
  if (status.ok()) status = body();
  // Ends the snapshot, so the writer can checkpoint past it.
  if (!sqlite3_get_autocommit(reader)) {
    absl::Status end = Execute(reader, "COMMIT");
    if (status.ok()) status = end;
  }
  current_reader = {};
  absl::MutexLock lock(&readers_mu_);
  idle_readers_.push_back(reader);
  return status;
}

absl::Status SqliteDatabase::Transaction(const std::function<absl::Status()>& body) {
  std::vector<std::pair<std::string, std::string>> published;
  absl::Status status;
  {
    absl::MutexLock lock(&transaction_mutex_);
    pending_.clear();
    RETURN_IF_ERROR(Execute("BEGIN IMMEDIATE"));
    current_writer = this;
    status = body();
    current_writer = nullptr;
    if (status.ok()) status = Execute("COMMIT");
    if (!status.ok()) {
      // Harmless when COMMIT already ended the transaction.
      if (!sqlite3_get_autocommit(db_)) Execute("ROLLBACK").IgnoreError();
    } else {
      published.swap(pending_);
    }
  }
  if (!published.empty()) {
    absl::MutexLock lock(&subscribers_mu_);
    for (const auto& [channel, payload] : published) {
      for (const auto& [subscribed, callback] : subscribers_) {
        if (subscribed == channel) callback(payload);
      }
    }
  }
  return status;
}

absl::StatusOr<int> SqliteDatabase::SchemaVersion() {
  RETURN_IF_ERROR(Execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
  ASSIGN_OR_RETURN(Statement select,
                   Prepare("SELECT COALESCE(MAX(version), 0) FROM schema_version"));
  ASSIGN_OR_RETURN(bool row, select.Step());
  return row ? static_cast<int>(select.ColumnInt64(0)) : 0;
}

absl::Status SqliteDatabase::Migrate(absl::Span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return absl::InvalidArgumentError(absl::StrCat(
          "migration at position ", i, " has version ", migrations[i].version, "; expected ", i + 1));
    }
  }
  ASSIGN_OR_RETURN(int current, SchemaVersion());
  if (current > static_cast<int>(migrations.size())) {
    return absl::FailedPreconditionError(
        absl::StrCat("database schema version ", current,
                     " is newer than this halo binary knows (", migrations.size(), ")"));
  }
  for (size_t i = current; i < migrations.size(); ++i) {
    RETURN_IF_ERROR(Transaction([&]() -> absl::Status {
      RETURN_IF_ERROR(Execute(migrations[i].sqlite));
      ASSIGN_OR_RETURN(Statement record,
                       Prepare("INSERT INTO schema_version (version) VALUES (?)"));
      return record.Bind(1, int64_t{migrations[i].version}).Run();
    }));
  }
  return absl::OkStatus();
}

absl::Status SqliteDatabase::Publish(absl::string_view channel, absl::string_view payload) {
  // Only the transaction's own thread, which holds transaction_mutex_,
  // touches pending_.
  if (current_writer != this) {
    return absl::FailedPreconditionError("Publish needs a transaction, to publish at its commit");
  }
  pending_.emplace_back(std::string(channel), std::string(payload));
  return absl::OkStatus();
}

absl::Status SqliteDatabase::Subscribe(const std::string& channel,
                                       std::function<void(const std::string&)> callback) {
  absl::MutexLock lock(&subscribers_mu_);
  subscribers_.emplace_back(channel, std::move(callback));
  return absl::OkStatus();
}

}  // namespace halo::storage
