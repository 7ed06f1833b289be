#include "testing/test_databases.h"

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
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
  if (!std::filesystem::exists(file)) {
    const std::string conninfo = FreshPostgresDatabase();
    if (conninfo.empty()) FAIL("no PostgreSQL to run on");
    std::ofstream(file) << conninfo << "\n";
  }
  location.config.mutable_postgresql()->set_conninfo_file(file);
  return location;
}

std::string FreshPostgresDatabase() {
  static absl::Mutex mu;
  absl::MutexLock lock(&mu);
  if (Server() == nullptr) {
    auto started = storage::LocalPostgresServer::Start();
    if (!started.ok()) {
      Skip(std::string(started.status().message()));
      return "";
    }
    Server() = std::move(*started);
  }
  static std::atomic<int> next{0};
  const std::string name = absl::StrCat("test_", getpid(), "_", next++);
  const absl::Status created = Server()->CreateDatabase(name);
  if (!created.ok()) FAIL("creating a test database: " << created);
  return Server()->Conninfo(name);
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
  const std::string conninfo = FreshPostgresDatabase();
  if (conninfo.empty()) return false;
  static std::atomic<int> next{0};
  const std::string file = dir.Sub(absl::StrCat("postgres-", next++, ".conninfo"));
  std::ofstream(file) << conninfo << "\n";
  config->mutable_postgresql()->set_conninfo_file(file);
  return true;
}

}  // namespace halo::testing
