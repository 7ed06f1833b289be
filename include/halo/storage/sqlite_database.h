// Relational state on SQLite: one file per role's data directory, in WAL mode
// with a busy timeout, transactions, and schema migrations recorded in a
// version table.
//
// Thread safety: a SqliteDatabase is one writing connection and, if asked
// for, a pool of reading ones. Transaction() serializes writers;
// ReadTransaction() runs on a free reader, beside the writer and other
// readers. Statements used outside a transaction must stay on one thread.
#ifndef HALO_STORAGE_SQLITE_DATABASE_H_
#define HALO_STORAGE_SQLITE_DATABASE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

struct sqlite3;
struct sqlite3_stmt;

namespace halo::storage {

// A prepared statement. Parameters are 1-based, as in SQLite.
class SqliteStatement {
 public:
  SqliteStatement(SqliteStatement&&) noexcept;
  SqliteStatement& operator=(SqliteStatement&&) noexcept;
  ~SqliteStatement();

  SqliteStatement& Bind(int index, int64_t value);
  SqliteStatement& Bind(int index, absl::string_view text);
  SqliteStatement& BindBlob(int index, absl::string_view bytes);
  // A REAL, stored as its 64 bits.
  SqliteStatement& BindDouble(int index, double value);
  SqliteStatement& BindNull(int index);

  // True while a row is available; false when done. An error names the SQL.
  absl::StatusOr<bool> Step();
  // Steps to completion, for statements that return no rows.
  absl::Status Run();

  int64_t ColumnInt64(int column) const;
  double ColumnDouble(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;
  bool ColumnIsNull(int column) const;

  // Makes the statement runnable again with new bindings.
  void Reset();

 private:
  friend class SqliteDatabase;
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  absl::Status bind_error_;
};

struct Migration {
  int version;      // 1, 2, 3, ... with no gaps
  std::string sql;  // one or more statements
};

class SqliteDatabase {
 public:
  struct Options {
    absl::Duration busy_timeout = absl::Seconds(5);
    // Read-only connections for ReadTransaction; 0 runs reads as writes.
    int readers = 0;
  };

  // Creates the file if needed; sets WAL, synchronous=FULL, foreign keys on.
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(const std::string& path,
                                                              Options options);
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(const std::string& path) {
    return Open(path, Options{});
  }
  ~SqliteDatabase();

  // Runs statements that return no rows.
  absl::Status Execute(absl::string_view sql);
  absl::StatusOr<SqliteStatement> Prepare(absl::string_view sql);

  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT. If `body` returns an error
  // (or commit fails) everything it wrote is rolled back and the error
  // returned. Not reentrant.
  absl::Status Transaction(const std::function<absl::Status()>& body);

  // Runs `body` in one consistent snapshot on a reading connection, so it
  // neither waits for a writer's commit (and its fsync) nor holds one up.
  // Statements that `body` prepares on this thread run on that connection;
  // anything that writes fails. Not reentrant.
  absl::Status ReadTransaction(const std::function<absl::Status()>& body);

  // Applies, in order and each in its own transaction, every migration whose
  // version is above the recorded one. Refuses gaps, and a database whose
  // version is newer than the newest migration given (a downgrade).
  absl::Status Migrate(absl::Span<const Migration> migrations);
  // 0 for a database no migration has touched.
  absl::StatusOr<int> SchemaVersion();

  int64_t LastInsertRowId() const;
  int ChangedRows() const;

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  // The reader this thread is in a ReadTransaction on, else the writer.
  sqlite3* Connection() const;
  absl::Status Execute(sqlite3* connection, absl::string_view sql);

  sqlite3* db_;
  absl::Mutex transaction_mutex_;
  std::vector<sqlite3*> readers_;
  absl::Mutex readers_mu_;
  std::vector<sqlite3*> idle_readers_ ABSL_GUARDED_BY(readers_mu_);
};

}  // namespace halo::storage

#endif  // HALO_STORAGE_SQLITE_DATABASE_H_
