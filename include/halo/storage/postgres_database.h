// Database on a PostgreSQL server, through libpq: a pool of connections, each
// preparing a statement once and keeping it, binary parameters and results,
// transactions that run again after a deadlock or serialization failure, and
// LISTEN/NOTIFY for Publish and Subscribe across processes.
//
// Thread safety: any number of threads; each transaction holds one pooled
// connection for its length. A statement prepared outside a transaction runs
// on whichever connection is free when it steps.
#ifndef HALO_STORAGE_POSTGRES_DATABASE_H_
#define HALO_STORAGE_POSTGRES_DATABASE_H_

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "halo/storage/database.h"

namespace halo::storage {

class PostgresDatabase final : public Database {
 public:
  struct Options {
    // A libpq connection string or URI (host=... dbname=... user=...).
    std::string conninfo;
    // Pooled connections; a transaction waits for a free one.
    int connections = 8;
    absl::Duration connect_timeout = absl::Seconds(10);
  };

  // Connects every pooled connection now, so that a wrong conninfo or an
  // unreachable server is an error at start, not at the first request.
  static absl::StatusOr<std::unique_ptr<PostgresDatabase>> Open(Options options);
  ~PostgresDatabase() override;

  absl::string_view Backend() const override { return "PostgreSQL"; }
  absl::Status Execute(absl::string_view sql) override;
  absl::StatusOr<Statement> Prepare(absl::string_view sql) override;
  absl::Status Transaction(const std::function<absl::Status()>& body) override;
  absl::Status ReadTransaction(const std::function<absl::Status()>& body) override;
  absl::Status ReadEach(const std::function<absl::Status()>& body) override;
  absl::Status Migrate(absl::Span<const Migration> migrations) override;
  absl::StatusOr<int> SchemaVersion() override;
  absl::Status Publish(absl::string_view channel, absl::string_view payload) override;
  absl::Status Subscribe(const std::string& channel, std::function<void(const std::string&)> callback) override;
  absl::string_view ForUpdate() const override { return " FOR UPDATE"; }
  absl::string_view ForUpdateSkipLocked() const override { return " FOR UPDATE SKIP LOCKED"; }
  absl::StatusOr<bool> TryExclusive(int64_t key) override;

  struct Pool;

 private:
  explicit PostgresDatabase(std::unique_ptr<Pool> pool);
  absl::Status RunTransaction(absl::string_view begin, const std::function<absl::Status()>& body);

  std::unique_ptr<Pool> pool_;
};

// SQL written with `?` parameters as PostgreSQL's $1, $2, ...; a `?` inside a
// quoted string or identifier stays as it is.
std::string NumberParameters(absl::string_view sql);

}  // namespace halo::storage

#endif  // HALO_STORAGE_POSTGRES_DATABASE_H_
