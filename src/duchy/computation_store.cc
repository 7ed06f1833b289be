#include "halo/duchy/computation_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "halo/common/status_macros.h"
#include "halo/duchy/v1/records.pb.h"

namespace halo::duchy {
namespace {

// A finished computation's details without the keys and seeds that could
// decrypt or unmask what it handled: nothing needs them again, and a
// stolen disk should not yield them.
std::string WithoutSecrets(const std::string& serialized) {
  v1::ComputationDetails details;
  if (!details.ParseFromString(serialized)) return serialized;
  details.clear_elgamal_secret_key();
  details.clear_encryption_secret_key();
  details.clear_seed_half();
  return details.SerializeAsString();
}

const storage::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE computations (
  name TEXT PRIMARY KEY,
  stage INTEGER NOT NULL,
  details BLOB NOT NULL,
  runnable INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_micros INTEGER NOT NULL DEFAULT 0,
  lease_owner TEXT NOT NULL DEFAULT '',
  lease_expiry_micros INTEGER NOT NULL DEFAULT 0,
  failure TEXT NOT NULL DEFAULT '',
  update_micros INTEGER NOT NULL);
CREATE INDEX computations_runnable ON computations(runnable, update_micros);
CREATE TABLE stage_inputs (
  computation TEXT NOT NULL REFERENCES computations(name),
  stage INTEGER NOT NULL,
  input TEXT NOT NULL,
  blob_key TEXT NOT NULL,
  sha256 BLOB NOT NULL,
  PRIMARY KEY (computation, stage, input));
CREATE TABLE herald (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  continuation_token TEXT NOT NULL);
)sql",
     R"sql(
CREATE TABLE computations (
  name TEXT COLLATE "C" PRIMARY KEY,
  stage BIGINT NOT NULL,
  details BYTEA NOT NULL,
  runnable BIGINT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_micros BIGINT NOT NULL DEFAULT 0,
  lease_owner TEXT COLLATE "C" NOT NULL DEFAULT '',
  lease_expiry_micros BIGINT NOT NULL DEFAULT 0,
  failure TEXT NOT NULL DEFAULT '',
  update_micros BIGINT NOT NULL);
CREATE INDEX computations_runnable ON computations(runnable, update_micros);
CREATE TABLE stage_inputs (
  computation TEXT COLLATE "C" NOT NULL REFERENCES computations(name),
  stage BIGINT NOT NULL,
  input TEXT COLLATE "C" NOT NULL,
  blob_key TEXT COLLATE "C" NOT NULL,
  sha256 BYTEA NOT NULL,
  PRIMARY KEY (computation, stage, input));
CREATE TABLE herald (
  id BIGINT PRIMARY KEY CHECK (id = 1),
  continuation_token TEXT COLLATE "C" NOT NULL);
)sql"},
    // Attempts are counted when claimed, not when they fail, so that a stage
    // that crashes its process is counted too; the last error is kept for
    // the reason a computation is given up with.
    {2, "ALTER TABLE computations ADD COLUMN last_error TEXT NOT NULL DEFAULT '';",
     "ALTER TABLE computations ADD COLUMN last_error TEXT NOT NULL DEFAULT '';"},
    // Claims are fenced on a version that every claim and move changes.
    {3, "ALTER TABLE computations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;",
     "ALTER TABLE computations ADD COLUMN version BIGINT NOT NULL DEFAULT 0;"},
    // What each attempt at a stage cost, for the operator.
    {4, R"sql(
CREATE TABLE stage_attempts (
  computation TEXT NOT NULL,
  stage INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  owner TEXT NOT NULL,
  started_micros INTEGER NOT NULL,
  wall_micros INTEGER NOT NULL,
  cpu_micros INTEGER NOT NULL,
  bytes_in INTEGER NOT NULL,
  bytes_out INTEGER NOT NULL,
  peak_rss_bytes INTEGER NOT NULL,
  outcome TEXT NOT NULL);
CREATE INDEX stage_attempts_computation ON stage_attempts(computation, started_micros);
)sql",
     R"sql(
CREATE TABLE stage_attempts (
  computation TEXT COLLATE "C" NOT NULL,
  stage BIGINT NOT NULL,
  attempt BIGINT NOT NULL,
  owner TEXT COLLATE "C" NOT NULL,
  started_micros BIGINT NOT NULL,
  wall_micros BIGINT NOT NULL,
  cpu_micros BIGINT NOT NULL,
  bytes_in BIGINT NOT NULL,
  bytes_out BIGINT NOT NULL,
  peak_rss_bytes BIGINT NOT NULL,
  outcome TEXT NOT NULL);
CREATE INDEX stage_attempts_computation ON stage_attempts(computation, started_micros);
)sql"},
};

// What an attempt's outcome is while it runs, and once its mill is known
// to have stopped without a report.
constexpr char kRunning[] = "running";
constexpr char kAbandoned[] = "abandoned: its mill stopped or lost its lease before it reported";

constexpr char kColumns[] =
    "name, stage, details, runnable, attempts, failure, lease_owner, lease_expiry_micros, last_error, version, "
    "next_attempt_micros, update_micros FROM computations";

LocalComputation FromRow(const storage::Statement& q) {
  LocalComputation c;
  c.name = q.ColumnText(0);
  c.stage = static_cast<ComputationStage>(q.ColumnInt64(1));
  c.details = q.ColumnBlob(2);
  c.runnable = q.ColumnInt64(3) != 0;
  c.attempts = static_cast<int>(q.ColumnInt64(4));
  c.failure = q.ColumnText(5);
  c.lease_owner = q.ColumnText(6);
  c.lease_expiry = absl::FromUnixMicros(q.ColumnInt64(7));
  c.last_error = q.ColumnText(8);
  c.version = q.ColumnInt64(9);
  c.next_attempt = absl::FromUnixMicros(q.ColumnInt64(10));
  c.updated = absl::FromUnixMicros(q.ColumnInt64(11));
  return c;
}

// Every row `q` yields.
absl::StatusOr<std::vector<LocalComputation>> AllRows(storage::Statement& q) {
  std::vector<LocalComputation> out;
  while (true) {
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (!row) break;
    out.push_back(FromRow(q));
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ComputationStore>> ComputationStore::Open(const storage::DatabaseLocation& location,
                                                                         std::function<absl::Time()> clock) {
  ASSIGN_OR_RETURN(std::unique_ptr<storage::Database> db, storage::OpenDatabase(location));
  RETURN_IF_ERROR(db->Migrate(kMigrations));
  return std::unique_ptr<ComputationStore>(new ComputationStore(std::move(db), std::move(clock)));
}

absl::StatusOr<std::unique_ptr<ComputationStore>> ComputationStore::Open(const std::string& path,
                                                                         std::function<absl::Time()> clock) {
  return Open(storage::DatabaseLocation{.sqlite_path = path, .field = "duchy.database"}, std::move(clock));
}

absl::StatusOr<LocalComputation> ComputationStore::Load(const std::string& name) {
  // Locked until the transaction ends: every change to a computation reads
  // it first, so changes to one computation take turns.
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_->Prepare(absl::StrCat("SELECT ", kColumns, " WHERE name = ?", db_->ForUpdate())));
  q.Bind(1, name);
  ASSIGN_OR_RETURN(bool found, q.Step());
  if (!found) return absl::NotFoundError(absl::StrCat("computation ", name, " not found"));
  return FromRow(q);
}

absl::StatusOr<bool> ComputationStore::Create(const LocalComputation& computation) {
  bool created = false;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("INSERT INTO computations (name, stage, details, runnable, "
                                  "update_micros) VALUES (?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING"));
    q.Bind(1, computation.name)
        .Bind(2, int64_t{computation.stage})
        .BindBlob(3, computation.details)
        .Bind(4, int64_t{computation.runnable})
        .Bind(5, absl::ToUnixMicros(clock_()));
    RETURN_IF_ERROR(q.Run());
    created = q.ChangedRows() == 1;
    return absl::OkStatus();
  }));
  return created;
}

absl::StatusOr<LocalComputation> ComputationStore::Get(const std::string& name) {
  absl::StatusOr<LocalComputation> out;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    out = Load(name);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<int64_t> ComputationStore::InputCount(const std::string& name, ComputationStage stage) {
  ASSIGN_OR_RETURN(storage::Statement count,
                   db_->Prepare("SELECT COUNT(*) FROM stage_inputs WHERE computation = ? AND stage = ?"));
  count.Bind(1, name).Bind(2, int64_t{stage});
  ASSIGN_OR_RETURN(bool row, count.Step());
  return row ? count.ColumnInt64(0) : 0;
}

namespace {

// A held input of the same name: OK if it is the same bytes (a resend),
// ALREADY_EXISTS if not; nullopt if none is held.
absl::StatusOr<std::optional<absl::Status>> CompareHeld(storage::Database& db, const std::string& name,
                                                        ComputationStage stage, const StageInput& input) {
  ASSIGN_OR_RETURN(storage::Statement held,
                   db.Prepare("SELECT sha256 FROM stage_inputs WHERE computation = ? AND stage = ? AND input = ?"));
  held.Bind(1, name).Bind(2, int64_t{stage}).Bind(3, input.input);
  ASSIGN_OR_RETURN(bool already, held.Step());
  if (!already) return std::nullopt;
  if (held.ColumnBlob(0) == input.sha256) return std::optional<absl::Status>(absl::OkStatus());
  return std::optional<absl::Status>(absl::AlreadyExistsError(absl::StrCat(name, " already holds a different \"", input.input, "\"",
                                               stage == v1::COMPUTATION_STAGE_UNSPECIFIED
                                                   ? std::string()
                                                   : absl::StrCat(" for stage ", v1::ComputationStage_Name(stage)))));
}

absl::Status InsertInput(storage::Database& db, const std::string& name, ComputationStage stage,
                         const StageInput& input) {
  ASSIGN_OR_RETURN(storage::Statement insert,
                   db.Prepare("INSERT INTO stage_inputs (computation, stage, input, blob_key, sha256) "
                              "VALUES (?, ?, ?, ?, ?)"));
  insert.Bind(1, name).Bind(2, int64_t{stage}).Bind(3, input.input).Bind(4, input.blob_key).BindBlob(5, input.sha256);
  return insert.Run();
}

bool IsOver(ComputationStage stage) { return stage == v1::COMPLETE || stage == v1::FAILED; }

}  // namespace

absl::Status ComputationStore::RecordInput(const std::string& name, const InputWait& wait, const StageInput& input,
                                           const std::vector<ComputationStage>& earlier_stages) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation c, Load(name));
    ASSIGN_OR_RETURN(std::optional<absl::Status> held, CompareHeld(*db_, name, wait.stage, input));
    if (held) return *held;
    const bool early = std::find(earlier_stages.begin(), earlier_stages.end(), c.stage) != earlier_stages.end();
    if (c.stage != wait.stage && !early) {
      return absl::FailedPreconditionError(absl::StrCat(name, " is at ", v1::ComputationStage_Name(c.stage),
                                                        ", not ", v1::ComputationStage_Name(wait.stage)));
    }
    RETURN_IF_ERROR(InsertInput(*db_, name, wait.stage, input));
    if (c.stage != wait.stage) return absl::OkStatus();
    ASSIGN_OR_RETURN(int64_t count, InputCount(name, wait.stage));
    if (count < wait.inputs_needed) return absl::OkStatus();
    ASSIGN_OR_RETURN(storage::Statement advance,
                     db_->Prepare("UPDATE computations SET stage = ?, runnable = 1, update_micros = ? WHERE name = ?"));
    advance.Bind(1, int64_t{wait.next}).Bind(2, absl::ToUnixMicros(clock_())).Bind(3, name);
    return advance.Run();
  });
}

absl::Status ComputationStore::RecordUpload(const std::string& name, const StageInput& upload) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation c, Load(name));
    ASSIGN_OR_RETURN(std::optional<absl::Status> held, CompareHeld(*db_, name, v1::COMPUTATION_STAGE_UNSPECIFIED, upload));
    if (held) return *held;
    if (IsOver(c.stage)) {
      return absl::FailedPreconditionError(absl::StrCat(name, " is ", v1::ComputationStage_Name(c.stage)));
    }
    return InsertInput(*db_, name, v1::COMPUTATION_STAGE_UNSPECIFIED, upload);
  });
}

absl::StatusOr<std::vector<StageInput>> ComputationStore::Inputs(const std::string& name, ComputationStage stage) {
  std::vector<StageInput> inputs;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    inputs.clear();
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("SELECT input, blob_key, sha256 FROM stage_inputs WHERE computation = ? AND "
                                  "stage = ? ORDER BY input"));
    q.Bind(1, name).Bind(2, int64_t{stage});
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      inputs.push_back({q.ColumnText(0), q.ColumnText(1), q.ColumnBlob(2)});
    }
    return absl::OkStatus();
  }));
  return inputs;
}

absl::StatusOr<ComputationStore::Claimable> ComputationStore::CountClaimable() {
  Claimable claimable;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    const int64_t now = absl::ToUnixMicros(clock_());
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("SELECT COUNT(*), MIN(update_micros) FROM computations WHERE runnable = 1 AND "
                                  "lease_expiry_micros <= ? AND next_attempt_micros <= ?"));
    ASSIGN_OR_RETURN(bool row, q.Bind(1, now).Bind(2, now).Step());
    if (!row) return absl::OkStatus();
    claimable.count = q.ColumnInt64(0);
    if (!q.ColumnIsNull(1)) claimable.oldest = absl::FromUnixMicros(q.ColumnInt64(1));
    return absl::OkStatus();
  }));
  return claimable;
}

absl::StatusOr<std::optional<LocalComputation>> ComputationStore::Claim(
    const std::string& owner, absl::Duration lease, const std::vector<ComputationStage>& prioritised) {
  std::optional<LocalComputation> claimed;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    claimed.reset();
    const int64_t now = absl::ToUnixMicros(clock_());
    // Stages are enum numbers, so they are written into the statement.
    std::string first;
    if (!prioritised.empty()) {
      first = absl::StrCat("stage IN (", absl::StrJoin(prioritised, ",", [](std::string* out, ComputationStage s) {
                             absl::StrAppend(out, static_cast<int>(s));
                           }), ") DESC, ");
    }
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare(absl::StrCat("SELECT ", kColumns,
                                               " WHERE runnable = 1 AND lease_expiry_micros <= ? AND "
                                               "next_attempt_micros <= ? ORDER BY ",
                                               first, "update_micros LIMIT 1", db_->ForUpdateSkipLocked())));
    q.Bind(1, now).Bind(2, now);
    ASSIGN_OR_RETURN(bool found, q.Step());
    if (!found) return absl::OkStatus();
    LocalComputation c = FromRow(q);
    c.lease_owner = owner;
    c.lease_expiry = absl::FromUnixMicros(now) + lease;
    ++c.attempts;
    ++c.version;
    ASSIGN_OR_RETURN(storage::Statement take,
                     db_->Prepare("UPDATE computations SET lease_owner = ?, lease_expiry_micros = ?, "
                                  "attempts = attempts + 1, version = version + 1 WHERE name = ?"));
    take.Bind(1, owner).Bind(2, absl::ToUnixMicros(c.lease_expiry)).Bind(3, c.name);
    RETURN_IF_ERROR(take.Run());
    // The attempt is on record from its claim, so one whose mill dies
    // shows as abandoned rather than not at all.
    ASSIGN_OR_RETURN(storage::Statement abandoned,
                     db_->Prepare("UPDATE stage_attempts SET outcome = ? WHERE computation = ? AND outcome = ?"));
    abandoned.Bind(1, absl::StrCat(kAbandoned, "; taken over by ", owner)).Bind(2, c.name).Bind(3, kRunning);
    RETURN_IF_ERROR(abandoned.Run());
    c.taken_over = abandoned.ChangedRows() > 0;
    ASSIGN_OR_RETURN(storage::Statement running,
                     db_->Prepare("INSERT INTO stage_attempts (computation, stage, attempt, owner, started_micros, "
                                  "wall_micros, cpu_micros, bytes_in, bytes_out, peak_rss_bytes, outcome) "
                                  "VALUES (?, ?, ?, ?, ?, 0, 0, 0, 0, 0, ?)"));
    running.Bind(1, c.name).Bind(2, int64_t{c.stage}).Bind(3, int64_t{c.attempts}).Bind(4, owner).Bind(5, now);
    running.Bind(6, kRunning);
    RETURN_IF_ERROR(running.Run());
    claimed = std::move(c);
    return absl::OkStatus();
  }));
  return claimed;
}

absl::Status ComputationStore::CheckClaim(const LocalComputation& claimed) {
  ASSIGN_OR_RETURN(LocalComputation now, Load(claimed.name));
  if (now.version != claimed.version || now.lease_owner != claimed.lease_owner || now.stage != claimed.stage) {
    return absl::AbortedError(absl::StrCat(claimed.name, " at ", v1::ComputationStage_Name(claimed.stage),
                                           " is no longer claimed by ", claimed.lease_owner, " (its claim was version ",
                                           claimed.version, "; it is now version ", now.version, " at ",
                                           v1::ComputationStage_Name(now.stage),
                                           now.lease_owner.empty() ? "" : absl::StrCat(", claimed by ", now.lease_owner),
                                           ")"));
  }
  return absl::OkStatus();
}

absl::Status ComputationStore::RenewLease(const LocalComputation& claimed, absl::Duration lease) {
  return db_->Transaction([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckClaim(claimed));
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("UPDATE computations SET lease_expiry_micros = ? WHERE name = ?"));
    q.Bind(1, absl::ToUnixMicros(clock_() + lease)).Bind(2, claimed.name);
    return q.Run();
  });
}

absl::Status ComputationStore::MoveTo(const std::string& name, ComputationStage next_stage, bool runnable,
                                      const std::string* details, const InputWait& wait) {
  if (next_stage == wait.stage && wait.stage != v1::COMPUTATION_STAGE_UNSPECIFIED) {
    ASSIGN_OR_RETURN(int64_t held, InputCount(name, wait.stage));
    if (held >= wait.inputs_needed) {
      next_stage = wait.next;
      runnable = true;
    }
  }
  std::string forgotten;
  if (next_stage == v1::COMPLETE) {
    if (details == nullptr) {
      ASSIGN_OR_RETURN(LocalComputation now, Load(name));
      forgotten = WithoutSecrets(now.details);
    } else {
      forgotten = WithoutSecrets(*details);
    }
    details = &forgotten;
  }
  ASSIGN_OR_RETURN(storage::Statement q,
                   db_->Prepare(absl::StrCat("UPDATE computations SET stage = ?, runnable = ?, attempts = 0, last_error = '', ",
                                             details ? "details = ?, " : "",
                                             "next_attempt_micros = 0, lease_owner = '', lease_expiry_micros = 0, "
                                             "version = version + 1, update_micros = ? WHERE name = ?")));
  int column = 1;
  q.Bind(column, int64_t{next_stage});
  q.Bind(++column, int64_t{runnable});
  if (details) q.BindBlob(++column, *details);
  q.Bind(++column, absl::ToUnixMicros(clock_()));
  q.Bind(++column, name);
  return q.Run();
}

absl::Status ComputationStore::Advance(const LocalComputation& claimed, ComputationStage next_stage, bool runnable,
                                       const std::string& details, const InputWait& wait) {
  return db_->Transaction([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckClaim(claimed));
    return MoveTo(claimed.name, next_stage, runnable, &details, wait);
  });
}

absl::Status ComputationStore::AdvanceWaiting(const std::string& name, ComputationStage from, ComputationStage to,
                                              bool runnable, const InputWait& wait) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation c, Load(name));
    if (c.stage != from) {
      return absl::FailedPreconditionError(absl::StrCat(name, " is at ", v1::ComputationStage_Name(c.stage), ", not ",
                                                        v1::ComputationStage_Name(from)));
    }
    return MoveTo(name, to, runnable, nullptr, wait);
  });
}

absl::Status ComputationStore::SaveDetails(const LocalComputation& claimed, const std::string& details) {
  return db_->Transaction([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckClaim(claimed));
    ASSIGN_OR_RETURN(storage::Statement q, db_->Prepare("UPDATE computations SET details = ? WHERE name = ?"));
    q.BindBlob(1, details).Bind(2, claimed.name);
    return q.Run();
  });
}

absl::Status ComputationStore::ReleaseClaimsOf(const std::string& owner_prefix) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("UPDATE computations SET lease_owner = '', lease_expiry_micros = 0, "
                                  "version = version + 1 WHERE lease_owner != '' AND substr(lease_owner, 1, CAST(? AS INTEGER)) = ?"));
    q.Bind(1, static_cast<int64_t>(owner_prefix.size())).Bind(2, owner_prefix);
    RETURN_IF_ERROR(q.Run());
    ASSIGN_OR_RETURN(storage::Statement abandoned,
                     db_->Prepare("UPDATE stage_attempts SET outcome = ? WHERE outcome = ? AND substr(owner, 1, CAST(? AS INTEGER)) = ?"));
    abandoned.Bind(1, absl::StrCat(kAbandoned, "; its duchy restarted")).Bind(2, kRunning);
    abandoned.Bind(3, static_cast<int64_t>(owner_prefix.size())).Bind(4, owner_prefix);
    return abandoned.Run();
  });
}

absl::Status ComputationStore::Release(const LocalComputation& claimed, absl::Duration retry_after,
                                       const std::string& error) {
  return db_->Transaction([&]() -> absl::Status {
    RETURN_IF_ERROR(CheckClaim(claimed));
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("UPDATE computations SET next_attempt_micros = ?, last_error = ?, "
                                  "lease_owner = '', lease_expiry_micros = 0, version = version + 1 WHERE name = ?"));
    q.Bind(1, absl::ToUnixMicros(clock_() + retry_after)).Bind(2, error).Bind(3, claimed.name);
    return q.Run();
  });
}

absl::Status ComputationStore::Fail(const std::string& name, const std::string& reason) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation now, Load(name));
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("UPDATE computations SET stage = ?, runnable = 0, failure = ?, details = ?, "
                                  "lease_owner = '', lease_expiry_micros = 0, version = version + 1, "
                                  "update_micros = ? WHERE name = ?"));
    q.Bind(1, int64_t{v1::FAILED}).Bind(2, reason).BindBlob(3, WithoutSecrets(now.details));
    q.Bind(4, absl::ToUnixMicros(clock_())).Bind(5, name);
    return q.Run();
  });
}

absl::Status ComputationStore::Retry(const std::string& name) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(LocalComputation now, Load(name));
    if (IsOver(now.stage)) {
      return absl::FailedPreconditionError(absl::StrCat(name, " is ", v1::ComputationStage_Name(now.stage),
                                                        ": nothing is left to retry"));
    }
    if (!now.lease_owner.empty() && now.lease_expiry > clock_()) {
      return absl::FailedPreconditionError(absl::StrCat(name, " is being worked on by ", now.lease_owner, " until ",
                                                        absl::FormatTime(now.lease_expiry)));
    }
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("UPDATE computations SET attempts = 0, next_attempt_micros = 0, lease_owner = '', "
                                  "lease_expiry_micros = 0, version = version + 1, update_micros = ? WHERE name = ?"));
    q.Bind(1, absl::ToUnixMicros(clock_())).Bind(2, name);
    return q.Run();
  });
}

absl::StatusOr<std::vector<LocalComputation>> ComputationStore::RecentFailures(int limit) {
  std::vector<LocalComputation> out;
  RETURN_IF_ERROR(db_->ReadTransaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare(absl::StrCat("SELECT ", kColumns, " WHERE stage = ? ORDER BY update_micros DESC LIMIT ?")));
    q.Bind(1, int64_t{v1::FAILED}).Bind(2, int64_t{limit});
    ASSIGN_OR_RETURN(out, AllRows(q));
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<LocalComputation>> ComputationStore::List(bool include_finished, int limit) {
  std::vector<LocalComputation> out;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare(absl::StrCat("SELECT ", kColumns,
                                               include_finished ? "" : " WHERE stage NOT IN (?, ?)",
                                               " ORDER BY update_micros LIMIT ?")));
    int column = 1;
    if (!include_finished) {
      q.Bind(1, int64_t{v1::COMPLETE}).Bind(2, int64_t{v1::FAILED});
      column = 3;
    }
    q.Bind(column, int64_t{limit});
    ASSIGN_OR_RETURN(out, AllRows(q));
    return absl::OkStatus();
  }));
  return out;
}

absl::Status ComputationStore::RecordAttempt(const std::string& name, const StageAttempt& a) {
  return db_->Transaction([&]() -> absl::Status {
    // The row its claim began replaces; a report from no claim is added.
    ASSIGN_OR_RETURN(storage::Statement drop,
                     db_->Prepare("DELETE FROM stage_attempts WHERE computation = ? AND stage = ? AND attempt = ? "
                                  "AND owner = ?"));
    drop.Bind(1, name).Bind(2, int64_t{a.stage}).Bind(3, int64_t{a.attempt}).Bind(4, a.owner);
    RETURN_IF_ERROR(drop.Run());
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("INSERT INTO stage_attempts (computation, stage, attempt, owner, started_micros, "
                                  "wall_micros, cpu_micros, bytes_in, bytes_out, peak_rss_bytes, outcome) "
                                  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
    q.Bind(1, name).Bind(2, int64_t{a.stage}).Bind(3, int64_t{a.attempt}).Bind(4, a.owner);
    q.Bind(5, absl::ToUnixMicros(a.started)).Bind(6, absl::ToInt64Microseconds(a.wall));
    q.Bind(7, absl::ToInt64Microseconds(a.cpu)).Bind(8, static_cast<int64_t>(a.bytes_in));
    q.Bind(9, static_cast<int64_t>(a.bytes_out)).Bind(10, a.peak_rss_bytes).Bind(11, a.outcome.substr(0, 4096));
    return q.Run();
  });
}

absl::StatusOr<std::vector<StageAttempt>> ComputationStore::Attempts(const std::string& name) {
  std::vector<StageAttempt> out;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    out.clear();
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("SELECT stage, attempt, owner, started_micros, wall_micros, cpu_micros, bytes_in, "
                                  "bytes_out, peak_rss_bytes, outcome FROM stage_attempts WHERE computation = ? "
                                  "ORDER BY started_micros"));
    q.Bind(1, name);
    while (true) {
      ASSIGN_OR_RETURN(bool row, q.Step());
      if (!row) break;
      StageAttempt a;
      a.stage = static_cast<ComputationStage>(q.ColumnInt64(0));
      a.attempt = static_cast<int>(q.ColumnInt64(1));
      a.owner = q.ColumnText(2);
      a.started = absl::FromUnixMicros(q.ColumnInt64(3));
      a.wall = absl::Microseconds(q.ColumnInt64(4));
      a.cpu = absl::Microseconds(q.ColumnInt64(5));
      a.bytes_in = static_cast<uint64_t>(q.ColumnInt64(6));
      a.bytes_out = static_cast<uint64_t>(q.ColumnInt64(7));
      a.peak_rss_bytes = q.ColumnInt64(8);
      a.outcome = q.ColumnText(9);
      out.push_back(std::move(a));
    }
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::string> ComputationStore::HeraldToken() {
  std::string token;
  RETURN_IF_ERROR(db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q, db_->Prepare("SELECT continuation_token FROM herald WHERE id = 1"));
    ASSIGN_OR_RETURN(bool row, q.Step());
    if (row) token = q.ColumnText(0);
    return absl::OkStatus();
  }));
  return token;
}

absl::Status ComputationStore::SetHeraldToken(const std::string& token) {
  return db_->Transaction([&]() -> absl::Status {
    ASSIGN_OR_RETURN(storage::Statement q,
                     db_->Prepare("INSERT INTO herald (id, continuation_token) VALUES (1, ?) "
                                  "ON CONFLICT(id) DO UPDATE SET continuation_token = excluded.continuation_token"));
    q.Bind(1, token);
    return q.Run();
  });
}

}  // namespace halo::duchy
