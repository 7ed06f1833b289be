// The database a role's config names (config.DatabaseConfig).
#ifndef HALO_STORAGE_OPEN_DATABASE_H_
#define HALO_STORAGE_OPEN_DATABASE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "halo/config/config.pb.h"
#include "halo/storage/database.h"

namespace halo::storage {

struct DatabaseLocation {
  config::DatabaseConfig config;
  // Where SQLite keeps the file when the config names no other backend.
  std::string sqlite_path;
  // The config field, for errors: "kingdom.database".
  std::string field;
  // SQLite's read-only connections (SqliteDatabase::Options::readers).
  int sqlite_readers = 0;
};

// Opens and connects; an unreadable conninfo file or an unreachable server
// is an error naming the setting.
absl::StatusOr<std::unique_ptr<Database>> OpenDatabase(const DatabaseLocation& location);

}  // namespace halo::storage

#endif  // HALO_STORAGE_OPEN_DATABASE_H_
