// Relational state behind one interface, on SQLite (a file in the role's data
// directory, the default) or PostgreSQL (a server shared by replicas and by a
// duchy's herald and mills). Code that keeps records is written once against
// Database; only schemas differ per backend (Migration).
//
// The SQL both backends accept: `?` parameters (PostgreSQL sees $1, $2, ...),
// INSERT ... ON CONFLICT, RETURNING, CASE, COALESCE, LIMIT. Integers are
// 64-bit, blobs are BLOB / BYTEA, text compares bytewise (PostgreSQL columns
// are COLLATE "C"), so page tokens order the same on both.
#ifndef HALO_STORAGE_DATABASE_H_
#define HALO_STORAGE_DATABASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace halo::storage {

// What a backend implements for Statement.
class StatementBackend {
 public:
  virtual ~StatementBackend() = default;
  virtual void Bind(int index, int64_t value) = 0;
  virtual void Bind(int index, absl::string_view text) = 0;
  virtual void BindBlob(int index, absl::string_view bytes) = 0;
  virtual void BindDouble(int index, double value) = 0;
  virtual void BindNull(int index) = 0;
  virtual absl::StatusOr<bool> Step() = 0;
  virtual int64_t ColumnInt64(int column) const = 0;
  virtual double ColumnDouble(int column) const = 0;
  virtual std::string ColumnText(int column) const = 0;
  virtual std::string ColumnBlob(int column) const = 0;
  virtual bool ColumnIsNull(int column) const = 0;
  virtual int64_t ChangedRows() const = 0;
  virtual void Reset() = 0;
};

// A prepared statement. Parameters are 1-based, columns 0-based.
class Statement {
 public:
  explicit Statement(std::unique_ptr<StatementBackend> backend) : backend_(std::move(backend)) {}

  Statement& Bind(int index, int64_t value) {
    backend_->Bind(index, value);
    return *this;
  }
  Statement& Bind(int index, absl::string_view text) {
    backend_->Bind(index, text);
    return *this;
  }
  Statement& Bind(int index, const std::string& text) { return Bind(index, absl::string_view(text)); }
  Statement& Bind(int index, const char* text) { return Bind(index, absl::string_view(text)); }
  Statement& BindBlob(int index, absl::string_view bytes) {
    backend_->BindBlob(index, bytes);
    return *this;
  }
  Statement& BindDouble(int index, double value) {
    backend_->BindDouble(index, value);
    return *this;
  }
  Statement& BindNull(int index) {
    backend_->BindNull(index);
    return *this;
  }

  // True while a row is available; false when done. An error names the SQL.
  absl::StatusOr<bool> Step() { return backend_->Step(); }
  // Steps to completion, for statements that return no rows.
  absl::Status Run();

  int64_t ColumnInt64(int column) const { return backend_->ColumnInt64(column); }
  double ColumnDouble(int column) const { return backend_->ColumnDouble(column); }
  std::string ColumnText(int column) const { return backend_->ColumnText(column); }
  std::string ColumnBlob(int column) const { return backend_->ColumnBlob(column); }
  bool ColumnIsNull(int column) const { return backend_->ColumnIsNull(column); }
  // Rows the last INSERT, UPDATE or DELETE run by this statement changed.
  int64_t ChangedRows() const { return backend_->ChangedRows(); }

  // Makes the statement runnable again with new bindings.
  void Reset() { backend_->Reset(); }

 private:
  std::unique_ptr<StatementBackend> backend_;
};

// One step of a schema, with the same version number on every backend.
struct Migration {
  int version;  // 1, 2, 3, ... with no gaps
  std::string sqlite;
  // Empty for a schema that lives only in SQLite (an EDP's privacy budget).
  std::string postgresql;
};

class Database {
 public:
  virtual ~Database() = default;

  // "SQLite" or "PostgreSQL", for messages.
  virtual absl::string_view Backend() const = 0;

  // Runs statements that return no rows.
  virtual absl::Status Execute(absl::string_view sql) = 0;
  virtual absl::StatusOr<Statement> Prepare(absl::string_view sql) = 0;

  // Runs `body` in a transaction that writes; if `body` returns an error (or
  // the commit fails) everything it wrote is rolled back and the error
  // returned. On SQLite writers take turns; on PostgreSQL the transaction is
  // READ COMMITTED and code that could race another writer locks the rows it
  // depends on (each caller says how). A transaction the server aborts as a
  // deadlock or serialization failure runs again, so `body` must assign,
  // not accumulate, what it hands out. Not reentrant.
  virtual absl::Status Transaction(const std::function<absl::Status()>& body) = 0;

  // Runs `body` in one consistent snapshot that neither waits for writers
  // nor holds them up. Anything that writes fails. Not reentrant.
  virtual absl::Status ReadTransaction(const std::function<absl::Status()>& body) = 0;

  // Runs `body`'s statements each on a snapshot of its own, for reads that
  // need not agree with each other (the chunks of one listing page): on
  // PostgreSQL that saves a transaction's two extra round trips. Only reads
  // belong in it (SQLite refuses a write there; PostgreSQL would commit it).
  // Not reentrant.
  virtual absl::Status ReadEach(const std::function<absl::Status()>& body) = 0;

  // Applies, in order and each in its own transaction, every migration whose
  // version is above the recorded one. Refuses gaps, and a database whose
  // version is newer than the newest migration given (a downgrade). Safe to
  // run from several processes at once.
  virtual absl::Status Migrate(absl::Span<const Migration> migrations) = 0;
  // 0 for a database no migration has touched.
  virtual absl::StatusOr<int> SchemaVersion() = 0;

  // Inside a Transaction: once it commits, every Subscribe callback for
  // `channel` runs with `payload`, in this process and in every other one
  // on the same database. Nothing is published if it rolls back.
  virtual absl::Status Publish(absl::string_view channel, absl::string_view payload) = 0;
  // Calls `callback` on a thread of the database's for each Publish to
  // `channel` (a lowercase identifier), and with an empty payload whenever
  // notifications may have been lost (a reconnection), so the subscriber
  // looks again.
  virtual absl::Status Subscribe(const std::string& channel, std::function<void(const std::string&)> callback) = 0;

  // Appended to a SELECT in a Transaction: locks the rows it returns until
  // the transaction ends, so that what it read stays true while it writes;
  // with "SKIP LOCKED", rows another transaction holds are passed over (a
  // claim that must not wait for another claimer). SQLite has one writer and
  // needs neither: both are empty there.
  virtual absl::string_view ForUpdate() const = 0;
  virtual absl::string_view ForUpdateSkipLocked() const = 0;

  // Inside a Transaction: true if no other transaction, in any process on
  // this database, holds `key`; this one then holds it until it ends.
  virtual absl::StatusOr<bool> TryExclusive(int64_t key) = 0;
};

}  // namespace halo::storage

#endif  // HALO_STORAGE_DATABASE_H_
