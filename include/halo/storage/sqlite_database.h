// Database on SQLite: one file per role's data directory, in WAL mode with a
// busy timeout, synchronous=FULL, foreign keys on and secure_delete.
//
// Thread safety: one writing connection and, if asked for, a pool of reading
// ones. Transaction() serializes writers; ReadTransaction() runs on a free
// reader, beside the writer and other readers. Statements used outside a
// transaction must stay on one thread. Publish and Subscribe reach only this
// process, which is the only one that may write the file.
#ifndef HALO_STORAGE_SQLITE_DATABASE_H_
#define HALO_STORAGE_SQLITE_DATABASE_H_

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "halo/storage/database.h"

struct sqlite3;

namespace halo::storage {

class SqliteDatabase final : public Database {
 public:
  struct Options {
    absl::Duration busy_timeout = absl::Seconds(5);
    // Read-only connections for ReadTransaction; 0 runs reads as writes.
    int readers = 0;
  };

  // Creates the file if needed.
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(const std::string& path, Options options);
  static absl::StatusOr<std::unique_ptr<SqliteDatabase>> Open(const std::string& path) {
    return Open(path, Options{});
  }
  ~SqliteDatabase() override;

  absl::string_view Backend() const override { return "SQLite"; }
  absl::Status Execute(absl::string_view sql) override;
  absl::StatusOr<Statement> Prepare(absl::string_view sql) override;
  absl::Status Transaction(const std::function<absl::Status()>& body) override;
  absl::Status ReadTransaction(const std::function<absl::Status()>& body) override;
  // A snapshot costs nothing here, so each body gets one.
  absl::Status ReadEach(const std::function<absl::Status()>& body) override { return ReadTransaction(body); }
  absl::Status Migrate(absl::Span<const Migration> migrations) override;
  absl::StatusOr<int> SchemaVersion() override;
  absl::Status Publish(absl::string_view channel, absl::string_view payload) override;
  absl::Status Subscribe(const std::string& channel, std::function<void(const std::string&)> callback) override;
  absl::string_view ForUpdate() const override { return ""; }
  absl::string_view ForUpdateSkipLocked() const override { return ""; }
  // The one writer already excludes every other transaction.
  absl::StatusOr<bool> TryExclusive(int64_t key) override { return true; }

 private:
  explicit SqliteDatabase(sqlite3* db) : db_(db) {}
  // The reader this thread is in a ReadTransaction on, else the writer.
  sqlite3* Connection() const;
  absl::Status Execute(sqlite3* connection, absl::string_view sql);

  sqlite3* db_;
  absl::Mutex transaction_mutex_;
  // Published by the transaction in progress, delivered after its commit.
  std::vector<std::pair<std::string, std::string>> pending_;  // under transaction_mutex_
  std::vector<sqlite3*> readers_;
  absl::Mutex readers_mu_;
  std::vector<sqlite3*> idle_readers_ ABSL_GUARDED_BY(readers_mu_);
  absl::Mutex subscribers_mu_;
  std::vector<std::pair<std::string, std::function<void(const std::string&)>>> subscribers_
      ABSL_GUARDED_BY(subscribers_mu_);
};

}  // namespace halo::storage

#endif  // HALO_STORAGE_SQLITE_DATABASE_H_
