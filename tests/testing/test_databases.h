// Both database backends for tests: SQLite in a temporary directory, and a
// fresh database on the test binary's private PostgreSQL server (started on
// first use, stopped at exit). Where PostgreSQL is not installed, the
// PostgreSQL half of a test is reported skipped by name; under CI=true that
// is a failure, since scripts/setup installs it.
#ifndef HALO_TESTS_TESTING_TEST_DATABASES_H_
#define HALO_TESTS_TESTING_TEST_DATABASES_H_

#include <memory>
#include <string>

#include "halo/config/config.pb.h"
#include "halo/storage/database.h"
#include "halo/storage/open_database.h"
#include "testing/temp_dir.h"

namespace halo::testing {

enum class Backend { kSqlite, kPostgres };
const char* BackendName(Backend backend);

// The backend a whole suite runs on: PostgreSQL under
// HALO_TEST_DATABASE=postgresql (a suite's second ctest entry), else SQLite.
Backend BackendUnderTest();
// What a suite exits with when it cannot run on PostgreSQL.
constexpr int kSkippedExitCode = 77;

// A conninfo for a new, empty PostgreSQL database; empty when skipped.
std::string FreshPostgresDatabase();

// A new, empty database of `backend`, its SQLite file under `dir`; nullptr
// when skipped.
std::unique_ptr<storage::Database> OpenTestDatabase(Backend backend, const TempDir& dir,
                                                    const std::string& name = "test.db");

// Points `config` at a new, empty database of `backend` (for PostgreSQL, a
// conninfo file under `dir`); false when skipped.
bool ConfigureTestDatabase(Backend backend, const TempDir& dir, config::DatabaseConfig* config);
// The same on BackendUnderTest(), which test_main made sure is available.
void ConfigureDatabaseUnderTest(const TempDir& dir, config::DatabaseConfig* config);
// Where a store named `name` under `dir` lives on BackendUnderTest(): the
// same database each time for the same dir and name, as a reopened SQLite
// file is the same file.
storage::DatabaseLocation DatabaseUnderTest(const TempDir& dir, const std::string& name);

}  // namespace halo::testing

#endif  // HALO_TESTS_TESTING_TEST_DATABASES_H_
