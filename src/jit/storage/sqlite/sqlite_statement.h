#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// kUnavailable for SQLite result code `rc` of connection `db`, with `what`
// and SQLite's message.
Status SqliteError(sqlite3* db, int rc, std::string_view what);

// Owns one sqlite3 connection (closed on destruction). Extended result codes
// are on, so callers can tell e.g. SQLITE_CONSTRAINT_UNIQUE from
// SQLITE_CONSTRAINT_TRIGGER. Not thread-safe: the owner serializes use.
class SqliteConnection {
 public:
  // Opens (creating if needed) the database file at `path`.
  // Errors: kUnavailable naming the path and SQLite's reason.
  static StatusOr<SqliteConnection> Open(const std::string& path);

  sqlite3* get() const { return db_.get(); }

  // Runs SQL text without parameters (schema, PRAGMA, BEGIN/COMMIT); several
  // statements separated by ';' are allowed. Never pass data in `sql`: bind
  // it with SqliteStatement. Errors: kUnavailable.
  Status Exec(std::string_view sql);

 private:
  struct Closer {
    void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
  };
  explicit SqliteConnection(sqlite3* db) : db_(db) {}

  std::unique_ptr<sqlite3, Closer> db_;
};

// One prepared statement (finalized on destruction). Parameters are bound,
// never spliced into SQL text. Bind errors are kept and reported by the next
// Step. Not thread-safe.
class SqliteStatement {
 public:
  // Errors: kUnavailable (bad SQL or schema, database unreadable).
  static StatusOr<SqliteStatement> Prepare(sqlite3* db, std::string_view sql);

  // Parameter indexes start at 1 (`?1`).
  void BindText(int index, std::string_view value);
  void BindInt(int index, int64_t value);
  void BindNull(int index);
  // Unix milliseconds.
  void BindTime(int index, SystemTime value);
  // NULL when unset.
  void BindTime(int index, const std::optional<SystemTime>& value);
  // NULL when empty.
  void BindTextOrNull(int index, std::string_view value);

  // Runs to the next row: true when a row is ready, false when done.
  // Errors: kUnavailable; rc() then has SQLite's extended result code.
  StatusOr<bool> Step();
  // Steps a statement that returns no rows to completion.
  Status Run();
  // Makes the statement ready to run again with new bindings.
  void Reset();
  // Extended result code of the last Step (SQLITE_ROW/DONE on success).
  int rc() const { return rc_; }

  // Columns of the current row; indexes start at 0. NULL reads as ""/0.
  std::string Text(int column) const;
  int64_t Int(int column) const;
  bool IsNull(int column) const;
  SystemTime Time(int column) const;
  std::optional<SystemTime> OptionalTime(int column) const;

 private:
  struct Finalizer {
    void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
  };
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void KeepBindError(int rc);

  sqlite3* db_;  // not owned
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  int bind_rc_ = SQLITE_OK;
  int rc_ = SQLITE_OK;
};

}  // namespace jit
