#include "jit/storage/sqlite/sqlite_statement.h"

#include <string>
#include <utility>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"

namespace jit {

Status SqliteError(sqlite3* db, int rc, std::string_view what) {
  std::string message = "sqlite: ";
  message += what;
  message += ": ";
  message += sqlite3_errstr(rc);
  const char* detail = db != nullptr ? sqlite3_errmsg(db) : nullptr;
  if (detail != nullptr && std::string_view(detail) != sqlite3_errstr(rc)) {
    message += " (";
    message += detail;
    message += ")";
  }
  return UnavailableError(std::move(message));
}

StatusOr<SqliteConnection> SqliteConnection::Open(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(
      path.c_str(), &raw,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
      nullptr);
  SqliteConnection db(raw);  // owns `raw` even when the open failed
  if (rc != SQLITE_OK) {
    std::string why = raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc);
    return UnavailableError("cannot open database " + path + ": " + why);
  }
  sqlite3_extended_result_codes(raw, 1);
  return db;
}

Status SqliteConnection::Exec(std::string_view sql) {
  int rc = sqlite3_exec(db_.get(), std::string(sql).c_str(), nullptr, nullptr,
                        nullptr);
  if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, sql);
  return OkStatus();
}

StatusOr<SqliteStatement> SqliteStatement::Prepare(sqlite3* db,
                                                   std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v2(db, sql.data(), static_cast<int>(sql.size()),
                              &raw, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return SqliteError(db, rc, "prepare");
  }
  return SqliteStatement(db, raw);
}

SqliteStatement::SqliteStatement(SqliteStatement&& other) noexcept
    : db_(other.db_),
      stmt_(std::move(other.stmt_)),
      bind_rc_(other.bind_rc_),
      rc_(other.rc_),
      home_(std::exchange(other.home_, nullptr)),
      sql_(std::move(other.sql_)) {}

SqliteStatement& SqliteStatement::operator=(SqliteStatement&& other) noexcept {
  if (this == &other) return *this;
  Release();
  db_ = other.db_;
  stmt_ = std::move(other.stmt_);
  bind_rc_ = other.bind_rc_;
  rc_ = other.rc_;
  home_ = std::exchange(other.home_, nullptr);
  sql_ = std::move(other.sql_);
  return *this;
}

SqliteStatement::~SqliteStatement() { Release(); }

void SqliteStatement::Release() {
  if (home_ == nullptr || stmt_ == nullptr) {
    stmt_.reset();
    return;
  }
  Reset();
  std::exchange(home_, nullptr)->Return(std::move(sql_), stmt_.release());
}

StatusOr<SqliteStatement> SqliteStatementCache::Take(sqlite3* db,
                                                     std::string_view sql) {
  std::string key(sql);
  auto it = idle_.find(key);
  if (it != idle_.end()) {
    SqliteStatement stmt(db, it->second.release());
    idle_.erase(it);
    stmt.home_ = this;
    stmt.sql_ = std::move(key);
    return stmt;
  }
  JIT_ASSIGN_OR_RETURN(SqliteStatement stmt, SqliteStatement::Prepare(db, sql));
  stmt.home_ = this;
  stmt.sql_ = std::move(key);
  return stmt;
}

void SqliteStatementCache::Return(std::string sql, sqlite3_stmt* stmt) {
  std::unique_ptr<sqlite3_stmt, SqliteStatement::Finalizer> owned(stmt);
  if (idle_.size() >= capacity_ || idle_.count(sql) > 0) return;
  idle_.emplace(std::move(sql), std::move(owned));
}

void SqliteStatement::KeepBindError(int rc) {
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void SqliteStatement::BindText(int index, std::string_view value) {
  KeepBindError(sqlite3_bind_text64(stmt_.get(), index, value.data(),
                                    value.size(), SQLITE_TRANSIENT,
                                    SQLITE_UTF8));
}

void SqliteStatement::BindInt(int index, int64_t value) {
  KeepBindError(sqlite3_bind_int64(stmt_.get(), index, value));
}

void SqliteStatement::BindNull(int index) {
  KeepBindError(sqlite3_bind_null(stmt_.get(), index));
}

void SqliteStatement::BindTime(int index, SystemTime value) {
  BindInt(index, ToUnixMillis(value));
}

void SqliteStatement::BindTime(int index,
                               const std::optional<SystemTime>& value) {
  if (value) {
    BindTime(index, *value);
  } else {
    BindNull(index);
  }
}

void SqliteStatement::BindTextOrNull(int index, std::string_view value) {
  if (value.empty()) {
    BindNull(index);
  } else {
    BindText(index, value);
  }
}

StatusOr<bool> SqliteStatement::Step() {
  if (bind_rc_ != SQLITE_OK) {
    rc_ = bind_rc_;
    return SqliteError(db_, rc_, "bind");
  }
  rc_ = sqlite3_step(stmt_.get());
  if (rc_ == SQLITE_ROW) return true;
  if (rc_ == SQLITE_DONE) return false;
  return SqliteError(db_, rc_, "step");
}

Status SqliteStatement::Run() {
  StatusOr<bool> row = Step();
  while (row.ok() && *row) row = Step();
  return row.status();
}

void SqliteStatement::Reset() {
  sqlite3_reset(stmt_.get());
  sqlite3_clear_bindings(stmt_.get());
  bind_rc_ = SQLITE_OK;
  rc_ = SQLITE_OK;
}

std::string SqliteStatement::Text(int column) const {
  const unsigned char* text = sqlite3_column_text(stmt_.get(), column);
  if (text == nullptr) return "";
  int size = sqlite3_column_bytes(stmt_.get(), column);
  return std::string(reinterpret_cast<const char*>(text),
                     static_cast<size_t>(size));
}

int64_t SqliteStatement::Int(int column) const {
  return sqlite3_column_int64(stmt_.get(), column);
}

bool SqliteStatement::IsNull(int column) const {
  return sqlite3_column_type(stmt_.get(), column) == SQLITE_NULL;
}

SystemTime SqliteStatement::Time(int column) const {
  return FromUnixMillis(Int(column));
}

std::optional<SystemTime> SqliteStatement::OptionalTime(int column) const {
  if (IsNull(column)) return std::nullopt;
  return Time(column);
}

}  // namespace jit
