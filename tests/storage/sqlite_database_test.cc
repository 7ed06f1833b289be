#include "halo/storage/sqlite_database.h"

#include <catch2/catch.hpp>

#include <vector>

#include "testing/temp_dir.h"

namespace halo::storage {
namespace {

// What holds for SQLite alone; tests/storage/database_test.cc runs the rest
// on both backends.
TEST_CASE("SQLite state survives reopening") {
  testing::TempDir dir;
  {
    auto db = SqliteDatabase::Open(dir.Sub("state.db"));
    REQUIRE(db.ok());
    REQUIRE((*db)->Migrate(std::vector<Migration>{{1, "CREATE TABLE t (name TEXT)"}}).ok());
    REQUIRE((*db)->Execute("INSERT INTO t VALUES ('kept')").ok());
  }
  auto db = SqliteDatabase::Open(dir.Sub("state.db"));
  REQUIRE(db.ok());
  CHECK(*(*db)->SchemaVersion() == 1);
  auto select = (*db)->Prepare("SELECT name FROM t");
  REQUIRE(*select->Step());
  CHECK(select->ColumnText(0) == "kept");
}

TEST_CASE("The database runs in WAL mode") {
  testing::TempDir dir;
  auto db = SqliteDatabase::Open(dir.Sub("state.db"));
  REQUIRE(db.ok());
  auto mode = (*db)->Prepare("PRAGMA journal_mode");
  REQUIRE(*mode->Step());
  CHECK(mode->ColumnText(0) == "wal");
}

}  // namespace
}  // namespace halo::storage
