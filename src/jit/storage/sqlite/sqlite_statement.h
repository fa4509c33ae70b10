#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

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

class SqliteStatementCache;

// One prepared statement (finalized on destruction, or handed back to the
// SqliteStatementCache it came from). Parameters are bound,
// never spliced into SQL text. Bind errors are kept and reported by the next
// Step. Not thread-safe.
class SqliteStatement {
 public:
  // Errors: kUnavailable (bad SQL or schema, database unreadable).
  static StatusOr<SqliteStatement> Prepare(sqlite3* db, std::string_view sql);

  SqliteStatement(SqliteStatement&& other) noexcept;
  SqliteStatement& operator=(SqliteStatement&& other) noexcept;
  ~SqliteStatement();

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
  friend class SqliteStatementCache;
  SqliteStatement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  void KeepBindError(int rc);
  // Hands the statement back to home_ (if any), reset; else finalizes it.
  void Release();

  sqlite3* db_;  // not owned
  std::unique_ptr<sqlite3_stmt, Finalizer> stmt_;
  int bind_rc_ = SQLITE_OK;
  int rc_ = SQLITE_OK;
  SqliteStatementCache* home_ = nullptr;  // not owned; outlives this
  std::string sql_;                       // the key in home_
};

// Prepared statements of one connection kept for reuse: preparing (parsing
// and planning) costs more than running the short statements a store runs
// most. Take() hands a statement out of the cache; when the statement is
// destroyed it is reset, its bindings cleared, and it goes back. A statement
// in use is not in the cache, so a nested Take() of the same SQL prepares
// a second one. At most `capacity` idle statements are kept (SQL built from
// filters varies); the rest are finalized. Not thread-safe: the owner of
// the connection serializes use, and destroys the cache before closing the
// connection.
class SqliteStatementCache {
 public:
  explicit SqliteStatementCache(size_t capacity = 64) : capacity_(capacity) {}
  SqliteStatementCache(const SqliteStatementCache&) = delete;
  SqliteStatementCache& operator=(const SqliteStatementCache&) = delete;

  // Errors: as SqliteStatement::Prepare.
  StatusOr<SqliteStatement> Take(sqlite3* db, std::string_view sql);

  // Statements idle in the cache.
  size_t size() const { return idle_.size(); }

 private:
  friend class SqliteStatement;
  void Return(std::string sql, sqlite3_stmt* stmt);

  size_t capacity_;
  std::unordered_map<std::string,
                     std::unique_ptr<sqlite3_stmt, SqliteStatement::Finalizer>>
      idle_;
};

}  // namespace jit
