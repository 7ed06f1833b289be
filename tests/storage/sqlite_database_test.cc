#include "halo/storage/sqlite_database.h"

#include <catch2/catch.hpp>

#include <thread>

#include "absl/synchronization/notification.h"
#include "halo/common/status_macros.h"

#include "testing/temp_dir.h"

namespace halo::storage {
namespace {

const std::vector<Migration> kMigrations = {
    {1, "CREATE TABLE requisitions (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, state TEXT)"},
    {2, "ALTER TABLE requisitions ADD COLUMN nonce BLOB"},
};

TEST_CASE("Migrations apply once, in order, and survive reopening") {
  testing::TempDir dir;
  {
    auto db = SqliteDatabase::Open(dir.Sub("state.db"));
    REQUIRE(db.ok());
    REQUIRE((*db)->Migrate(absl::MakeConstSpan(kMigrations).subspan(0, 1)).ok());
    CHECK(*(*db)->SchemaVersion() == 1);
    REQUIRE((*db)->Migrate(kMigrations).ok());
    CHECK(*(*db)->SchemaVersion() == 2);
    REQUIRE((*db)->Migrate(kMigrations).ok());
    auto insert = (*db)->Prepare("INSERT INTO requisitions (name, state, nonce) VALUES (?, ?, ?)");
    REQUIRE(insert.ok());
    REQUIRE(insert->Bind(1, "dataProviders/a/requisitions/1").Bind(2, "UNFULFILLED")
                .BindBlob(3, std::string("\0\1\2", 3)).Run().ok());
  }
  auto db = SqliteDatabase::Open(dir.Sub("state.db"));
  REQUIRE(db.ok());
  CHECK(*(*db)->SchemaVersion() == 2);
  auto select = (*db)->Prepare("SELECT name, state, nonce FROM requisitions");
  REQUIRE(select.ok());
  REQUIRE(*select->Step());
  CHECK(select->ColumnText(0) == "dataProviders/a/requisitions/1");
  CHECK(select->ColumnText(1) == "UNFULFILLED");
  CHECK(select->ColumnBlob(2) == std::string("\0\1\2", 3));
  CHECK_FALSE(*select->Step());
}

TEST_CASE("A database newer than the binary's migrations is refused") {
  testing::TempDir dir;
  auto db = SqliteDatabase::Open(dir.Sub("state.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Migrate(kMigrations).ok());
  auto refused = (*db)->Migrate(absl::MakeConstSpan(kMigrations).subspan(0, 1));
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(refused.message()), Catch::Contains("newer"));
  const std::vector<Migration> gap = {{1, "SELECT 1"}, {3, "SELECT 1"}};
  CHECK_FALSE((*db)->Migrate(gap).ok());
}

TEST_CASE("A failed migration leaves the previous version in place") {
  testing::TempDir dir;
  auto db = SqliteDatabase::Open(dir.Sub("state.db"));
  REQUIRE(db.ok());
  const std::vector<Migration> broken = {kMigrations[0], {2, "ALTER TABLE nowhere ADD COLUMN x"}};
  CHECK_FALSE((*db)->Migrate(broken).ok());
  CHECK(*(*db)->SchemaVersion() == 1);
}

TEST_CASE("A transaction whose body fails writes nothing") {
  testing::TempDir dir;
  auto db = SqliteDatabase::Open(dir.Sub("state.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Migrate(kMigrations).ok());
  absl::Status status = (*db)->Transaction([&]() -> absl::Status {
    auto insert = (*db)->Prepare("INSERT INTO requisitions (name) VALUES ('r1')");
    if (!insert.ok()) return insert.status();
    if (absl::Status s = insert->Run(); !s.ok()) return s;
    return absl::AbortedError("etag mismatch");
  });
  CHECK(status.code() == absl::StatusCode::kAborted);
  auto count = (*db)->Prepare("SELECT COUNT(*) FROM requisitions");
  REQUIRE(*count->Step());
  CHECK(count->ColumnInt64(0) == 0);
}

TEST_CASE("Constraint violations and bad SQL come back as errors naming the SQL") {
  testing::TempDir dir;
  auto db = SqliteDatabase::Open(dir.Sub("state.db"));
  REQUIRE(db.ok());
  REQUIRE((*db)->Migrate(kMigrations).ok());
  REQUIRE((*db)->Execute("INSERT INTO requisitions (name) VALUES ('r1')").ok());
  auto dup = (*db)->Execute("INSERT INTO requisitions (name) VALUES ('r1')");
  CHECK(dup.code() == absl::StatusCode::kAlreadyExists);
  auto bad = (*db)->Prepare("SELEKT 1");
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(std::string(bad.status().message()), Catch::Contains("SELEKT"));
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

namespace halo::storage {
namespace {

absl::StatusOr<int64_t> CountRequisitions(SqliteDatabase& db) {
  ASSIGN_OR_RETURN(SqliteStatement count, db.Prepare("SELECT COUNT(*) FROM requisitions"));
  ASSIGN_OR_RETURN(bool row, count.Step());
  if (!row) return absl::InternalError("no row");
  return count.ColumnInt64(0);
}

absl::Status InsertRequisition(SqliteDatabase& db, const std::string& name) {
  ASSIGN_OR_RETURN(SqliteStatement insert, db.Prepare("INSERT INTO requisitions (name) VALUES (?)"));
  return insert.Bind(1, name).Run();
}

TEST_CASE("Read transactions run beside a writer on their own snapshot, and cannot write") {
  testing::TempDir dir;
  auto opened = SqliteDatabase::Open(dir.Sub("state.db"), {.readers = 2});
  REQUIRE(opened.ok());
  SqliteDatabase& db = **opened;
  REQUIRE(db.Migrate(kMigrations).ok());
  REQUIRE(db.Transaction([&] { return InsertRequisition(db, "r1"); }).ok());

  // A writer holds its transaction open while a reader runs: the reader
  // neither waits for it nor sees its uncommitted row.
  absl::Notification written, read;
  std::thread writer([&] {
    CHECK(db.Transaction([&]() -> absl::Status {
              RETURN_IF_ERROR(InsertRequisition(db, "r2"));
              written.Notify();
              read.WaitForNotification();
              return absl::OkStatus();
            }).ok());
  });
  written.WaitForNotification();
  int64_t during = -1;
  CHECK(db.ReadTransaction([&]() -> absl::Status {
            ASSIGN_OR_RETURN(during, CountRequisitions(db));
            return absl::OkStatus();
          }).ok());
  read.Notify();
  writer.join();
  CHECK(during == 1);
  int64_t after = -1;
  CHECK(db.ReadTransaction([&]() -> absl::Status {
            ASSIGN_OR_RETURN(after, CountRequisitions(db));
            return absl::OkStatus();
          }).ok());
  CHECK(after == 2);

  const absl::Status write_in_read = db.ReadTransaction([&] { return InsertRequisition(db, "r3"); });
  CHECK_FALSE(write_in_read.ok());
  CHECK_THAT(std::string(write_in_read.message()), Catch::Contains("readonly"));
  // The reader went back to the pool clean, and the writer is unaffected.
  CHECK(db.Transaction([&] { return InsertRequisition(db, "r3"); }).ok());
  CHECK(*CountRequisitions(db) == 3);
}

}  // namespace
}  // namespace halo::storage
