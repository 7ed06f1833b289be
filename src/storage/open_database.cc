#include "halo/storage/open_database.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "halo/common/files.h"
#include "halo/common/status_macros.h"
#include "halo/storage/postgres_database.h"
#include "halo/storage/sqlite_database.h"

namespace halo::storage {

absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(const DatabaseLocation& location) {
  if (!location.config.has_postgresql()) {
    ASSIGN_OR_RETURN(std::unique_ptr<SqliteDatabase> sqlite,
                     SqliteDatabase::Open(location.sqlite_path, {.readers = location.sqlite_readers}));
    return std::unique_ptr<Database>(std::move(sqlite));
  }
  const config::DatabaseConfig::Postgresql& postgresql = location.config.postgresql();
  const std::string field = absl::StrCat(location.field, ".postgresql.conninfo_file");
  if (postgresql.conninfo_file().empty()) return absl::InvalidArgumentError(absl::StrCat(field, ": required"));
  auto conninfo = ReadFile(postgresql.conninfo_file());
  if (!conninfo.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": ", conninfo.status().message()));
  }
  const std::string trimmed(absl::StripAsciiWhitespace(*conninfo));
  if (trimmed.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": ", postgresql.conninfo_file(), " is empty; it holds a libpq connection string"));
  }
  if (postgresql.connections() < 0 || postgresql.connections() > 1000) {
    return absl::InvalidArgumentError(
        absl::StrCat(location.field, ".postgresql.connections: 0 (meaning 8) to 1000, not ", postgresql.connections()));
  }
  auto opened = PostgresDatabase::Open(
      {.conninfo = trimmed, .connections = postgresql.connections() > 0 ? postgresql.connections() : 8});
  if (!opened.ok()) {
    return absl::Status(opened.status().code(),
                        absl::StrCat(field, " (", postgresql.conninfo_file(), "): ", opened.status().message()));
  }
  return std::unique_ptr<Database>(std::move(*opened));
}

}  // namespace halo::storage
