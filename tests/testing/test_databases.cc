#include "testing/test_databases.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "halo/storage/local_postgres_server.h"
#include "halo/storage/postgres_database.h"
#include "halo/storage/sqlite_database.h"

namespace halo::testing {
namespace {

// Stopped by the static destructor at exit.
std::unique_ptr<storage::LocalPostgresServer>& Server() {
  static auto* server = new std::unique_ptr<storage::LocalPostgresServer>();
  return *server;
}

struct StopAtExit {
  ~StopAtExit() { Server().reset(); }
} stop_at_exit;

// The binary's server, started on first use; nullptr, with the test
// reported skipped, where PostgreSQL is not installed.
storage::LocalPostgresServer* TestServer();

std::string NewDatabaseName() {
  static std::atomic<int> next{0};
  return absl::StrCat("test_", getpid(), "_", next++);
}

// A new database on the test server, its conninfo in `file`; false if
// skipped.
bool NewTestDatabase(const std::string& file, config::DatabaseConfig* config);

bool Skip(const std::string& why) {
  const std::string test = Catch::getResultCapture().getCurrentTestName();
  const char* ci = std::getenv("CI");
  if (ci != nullptr && std::string(ci) == "true") {
    FAIL("PostgreSQL is required under CI=true: " << why);
  }
  std::cerr << "SKIPPED (PostgreSQL half): " << test << ": " << why << "\n";
  WARN("SKIPPED (PostgreSQL half) of \"" << test << "\": " << why);
  return false;
}

storage::LocalPostgresServer* TestServer() {
  static absl::Mutex mu;
  absl::MutexLock lock(&mu);
  if (Server() == nullptr) {
    auto started = storage::LocalPostgresServer::Start();
    if (!started.ok()) {
      Skip(std::string(started.status().message()));
      return nullptr;
    }
    Server() = std::move(*started);
  }
  return Server().get();
}

bool NewTestDatabase(const std::string& file, config::DatabaseConfig* config) {
  storage::LocalPostgresServer* server = TestServer();
  if (server == nullptr) return false;
  auto made = server->NewDatabase(NewDatabaseName(), file);
  if (!made.ok()) FAIL("creating a test database: " << made.status());
  *config = *std::move(made);
  return true;
}

}  // namespace

const char* BackendName(Backend backend) { return backend == Backend::kSqlite ? "SQLite" : "PostgreSQL"; }

Backend BackendUnderTest() {
  const char* database = std::getenv("HALO_TEST_DATABASE");
  return database != nullptr && std::string(database) == "postgresql" ? Backend::kPostgres : Backend::kSqlite;
}

void ConfigureDatabaseUnderTest(const TempDir& dir, config::DatabaseConfig* config) {
  if (!ConfigureTestDatabase(BackendUnderTest(), dir, config)) FAIL("no database to run on");
}

storage::DatabaseLocation DatabaseUnderTest(const TempDir& dir, const std::string& name) {
  storage::DatabaseLocation location{.sqlite_path = dir.Sub(name), .field = "database"};
  if (BackendUnderTest() == Backend::kSqlite) return location;
  const std::string file = dir.Sub(name + ".conninfo");
  if (std::filesystem::exists(file)) {
    location.config.mutable_postgresql()->set_conninfo_file(file);
  } else if (!NewTestDatabase(file, &location.config)) {
    FAIL("no PostgreSQL to run on");
  }
  return location;
}

std::string FreshPostgresDatabase() {
  storage::LocalPostgresServer* server = TestServer();
  if (server == nullptr) return "";
  const std::string name = NewDatabaseName();
  const absl::Status created = server->CreateDatabase(name);
  if (!created.ok()) FAIL("creating a test database: " << created);
  return server->Conninfo(name);
}

std::unique_ptr<storage::Database> OpenTestDatabase(Backend backend, const TempDir& dir, const std::string& name) {
  if (backend == Backend::kSqlite) {
    auto opened = storage::SqliteDatabase::Open(dir.Sub(name), {.readers = 2});
    if (!opened.ok()) FAIL(opened.status());
    return std::move(*opened);
  }
  const std::string conninfo = FreshPostgresDatabase();
  if (conninfo.empty()) return nullptr;
  auto opened = storage::PostgresDatabase::Open({.conninfo = conninfo, .connections = 4});
  if (!opened.ok()) FAIL(opened.status());
  return std::move(*opened);
}

bool ConfigureTestDatabase(Backend backend, const TempDir& dir, config::DatabaseConfig* config) {
  config->Clear();
  if (backend == Backend::kSqlite) {
    config->mutable_sqlite();
    return true;
  }
  static std::atomic<int> next{0};
  return NewTestDatabase(dir.Sub(absl::StrCat("postgres-", next++, ".conninfo")), config);
}

}  // namespace halo::testing
