// A private PostgreSQL server from Debian's packages (postgresql-15), for
// `halo demo --database=postgresql`, the local deployment and tests: initdb in
// a fresh directory, a server that listens only on a Unix socket there, and
// everything removed when it stops. Run as root, the server runs as the
// `postgres` user that Debian's package creates, since PostgreSQL refuses
// root. Not for production: operators run their own server.
#ifndef HALO_STORAGE_LOCAL_POSTGRES_SERVER_H_
#define HALO_STORAGE_LOCAL_POSTGRES_SERVER_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "halo/config/config.pb.h"

namespace halo::storage {

class LocalPostgresServer {
 public:
  struct Options {
    // fsync off makes tests fast; the benchmarks keep it on, as in production.
    bool durable = false;
    int max_connections = 200;
  };

  // The directory holding initdb and postgres: $HALO_POSTGRES_BIN, else the
  // newest /usr/lib/postgresql/*/bin. NOT_FOUND when PostgreSQL is not
  // installed (`scripts/setup` installs it).
  static absl::StatusOr<std::string> FindBinaries();

  static absl::StatusOr<std::unique_ptr<LocalPostgresServer>> Start(Options options);
  static absl::StatusOr<std::unique_ptr<LocalPostgresServer>> Start() { return Start(Options{}); }
  // Stops the server (a fast shutdown) and removes its directory.
  ~LocalPostgresServer();

  // Stops the server and starts it again on the same data, as an operator's
  // restart or a failover does to the clients connected to it.
  absl::Status Restart();

  // Creates an empty database.
  absl::Status CreateDatabase(const std::string& name);
  // Creates an empty database and writes its connection string to
  // `conninfo_file` (mode 0600): the config a role names it by.
  absl::StatusOr<config::DatabaseConfig> NewDatabase(const std::string& name, const std::string& conninfo_file);
  // A libpq connection string for `database` on this server.
  std::string Conninfo(const std::string& database) const;
  const std::string& directory() const { return directory_; }

 private:
  LocalPostgresServer(std::string directory, std::string user) : directory_(std::move(directory)), user_(user) {}
  // Starts postgres and waits until it answers.
  absl::Status Run();
  void Stop();

  std::string directory_;
  std::string user_;  // the database superuser
  std::vector<std::string> argv_;
  bool switch_user_ = false;  // to run as postgres, when started as root
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  pid_t pid_ = -1;
};

}  // namespace halo::storage

#endif  // HALO_STORAGE_LOCAL_POSTGRES_SERVER_H_
