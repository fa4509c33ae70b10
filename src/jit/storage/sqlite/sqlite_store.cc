#include "jit/storage/sqlite/sqlite_store.h"

#include <algorithm>
#include <chrono>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string_view>

#include "jit/base/crash_point.h"
#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/storage/store_util.h"

namespace jit {
namespace {

struct Migration {
  int version;
  std::string_view sql;
};

// Applied in order, each once; a released migration is never edited, a
// schema change is a new entry.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE requests (
  ord INTEGER PRIMARY KEY,  -- creation order, the list cursor
  id TEXT NOT NULL UNIQUE,
  subject TEXT NOT NULL,
  person TEXT NOT NULL,
  subject_groups TEXT NOT NULL,  -- JSON array of strings
  entitlement TEXT NOT NULL,
  duration_ms INTEGER NOT NULL,
  justification TEXT NOT NULL,
  ticket TEXT NOT NULL,
  start_at INTEGER,
  emergency INTEGER NOT NULL,
  state TEXT NOT NULL,
  policy TEXT NOT NULL,
  approvals_required INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  approval_deadline INTEGER,
  extends TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  binding TEXT NOT NULL
);
CREATE INDEX requests_by_state_start ON requests(state, start_at);
CREATE INDEX requests_by_state_deadline ON requests(state, approval_deadline);
CREATE INDEX requests_by_subject ON requests(subject, ord);
CREATE INDEX requests_by_grant ON requests(grant_id, state);

CREATE TABLE approvals (
  ord INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests(id),
  approver TEXT NOT NULL,
  approver_person TEXT,  -- NULL when unknown
  decision TEXT NOT NULL,
  comment TEXT NOT NULL,
  binding TEXT NOT NULL,
  at INTEGER NOT NULL,
  UNIQUE (request_id, approver),
  UNIQUE (request_id, approver_person)
);

CREATE TABLE grants (
  ord INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  request_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  entitlement TEXT NOT NULL,
  connector TEXT NOT NULL,
  starts_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  state TEXT NOT NULL,
  ended_reason TEXT NOT NULL,
  ended_at INTEGER,
  revoke_attempts INTEGER NOT NULL,
  next_attempt_at INTEGER,
  revoke_pending_since INTEGER,
  last_error TEXT NOT NULL,
  generation INTEGER NOT NULL
);
CREATE INDEX grants_by_state_expires ON grants(state, expires_at);
CREATE INDEX grants_by_state_next_attempt ON grants(state, next_attempt_at);
CREATE INDEX grants_by_subject ON grants(subject, ord);

CREATE TABLE audit (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  subject TEXT NOT NULL,
  request_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  data TEXT NOT NULL,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
-- Append-only, also against a bug in this file. Someone with the file can
-- drop these; the hash chain is what detects that.
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit rows are append-only'); END;

CREATE TABLE idempotency (
  principal TEXT NOT NULL,
  route TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  http_status INTEGER NOT NULL,
  body TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (principal, route, idem_key)
);
)sql"},
    {2, R"sql(
CREATE TABLE credentials (
  ord INTEGER PRIMARY KEY,
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL UNIQUE,
  groups TEXT NOT NULL,  -- JSON array of strings
  created_by TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  ended_at INTEGER,
  ended_by TEXT NOT NULL,
  note TEXT NOT NULL,
  UNIQUE (kind, id)
);
)sql"},
    {3, R"sql(
CREATE TABLE reviews (
  ord INTEGER PRIMARY KEY,
  request_id TEXT NOT NULL UNIQUE REFERENCES requests(id),
  subject TEXT NOT NULL,
  person TEXT NOT NULL,
  code_id TEXT NOT NULL,
  state TEXT NOT NULL,
  opened_at INTEGER NOT NULL,
  signed_off_by TEXT NOT NULL,
  signed_off_by_person TEXT NOT NULL,
  signed_off_at INTEGER,
  comment TEXT NOT NULL
);
CREATE INDEX reviews_by_state ON reviews(state, ord);
)sql"},
    {4, R"sql(
ALTER TABLE credentials ADD COLUMN sealed_secret TEXT NOT NULL DEFAULT '';
)sql"},
    {5, R"sql(
-- Expired active grants in creation order without sorting them all, for
-- when many expire at once (DueRevokes).
CREATE INDEX grants_by_state_ord ON grants(state, ord, expires_at);
)sql"},
};

static_assert(std::size(kMigrations) > 0 &&
                  kMigrations[std::size(kMigrations) - 1].version ==
                      SqliteStore::kSchemaVersion,
              "kSchemaVersion must name the last migration");

constexpr auto kBusyTimeout = std::chrono::seconds(5);

constexpr std::string_view kRequestColumns =
    "id, subject, person, subject_groups, entitlement, duration_ms, "
    "justification, ticket, start_at, emergency, state, policy, "
    "approvals_required, created_at, updated_at, approval_deadline, extends, "
    "grant_id, binding";
constexpr int kRequestColumnCount = 19;

constexpr std::string_view kGrantColumns =
    "id, request_id, subject, entitlement, connector, starts_at, expires_at, "
    "state, ended_reason, ended_at, revoke_attempts, next_attempt_at, "
    "revoke_pending_since, last_error, generation";
constexpr int kGrantColumnCount = 15;

constexpr std::string_view kApprovalColumns =
    "request_id, approver, approver_person, decision, comment, binding, at";
constexpr int kApprovalColumnCount = 7;

constexpr std::string_view kAuditColumns =
    "seq, time, type, actor, subject, request_id, grant_id, data, prev_hash, "
    "hash";
constexpr int kAuditColumnCount = 10;

constexpr std::string_view kCredentialColumns =
    "kind, id, secret_sha256, groups, created_by, created_at, expires_at, "
    "ended_at, ended_by, note, sealed_secret";
constexpr int kCredentialColumnCount = 11;

constexpr std::string_view kReviewColumns =
    "request_id, subject, person, code_id, state, opened_at, signed_off_by, "
    "signed_off_by_person, signed_off_at, comment";
constexpr int kReviewColumnCount = 10;

std::vector<std::string_view> SplitColumns(std::string_view columns) {
  std::vector<std::string_view> out;
  while (!columns.empty()) {
    size_t comma = columns.find(',');
    out.push_back(columns.substr(0, comma));
    if (comma == std::string_view::npos) break;
    columns.remove_prefix(comma + 1);
    while (columns.starts_with(' ')) columns.remove_prefix(1);
  }
  return out;
}

// "INSERT INTO table(c1, ...) VALUES (?1, ...)".
std::string InsertSql(std::string_view table, std::string_view columns,
                      int count) {
  std::string sql = "INSERT INTO " + std::string(table) + " (" +
                    std::string(columns) + ") VALUES (";
  for (int i = 1; i <= count; ++i) {
    if (i > 1) sql += ", ";
    sql += "?" + std::to_string(i);
  }
  return sql + ")";
}

// "UPDATE table SET c2 = ?2, ... WHERE c1 = ?1 AND <condition>": the first
// column is the key; `condition` uses parameters after the columns'.
std::string UpdateSql(std::string_view table, std::string_view columns,
                      std::string_view condition) {
  std::vector<std::string_view> names = SplitColumns(columns);
  std::string sql = "UPDATE " + std::string(table) + " SET ";
  for (size_t i = 1; i < names.size(); ++i) {
    if (i > 1) sql += ", ";
    sql += std::string(names[i]) + " = ?" + std::to_string(i + 1);
  }
  return sql + " WHERE " + std::string(names[0]) + " = ?1 AND " +
         std::string(condition);
}

// "SELECT <columns>, ord FROM table <tail>".
std::string SelectSql(std::string_view table, std::string_view columns,
                      std::string_view tail) {
  return "SELECT " + std::string(columns) + ", ord FROM " + std::string(table) +
         " " + std::string(tail);
}

bool IsUniqueViolation(int rc) {
  return rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY;
}

// A value read back that this code could not have written.
template <typename T>
StatusOr<T> Stored(StatusOr<T> value) {
  if (value.ok()) return value;
  return InternalError("database holds an invalid value: " +
                       value.status().message());
}

StatusOr<std::string> GroupsToJson(const std::vector<std::string>& groups) {
  try {
    return nlohmann::json(groups).dump();
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError(std::string("subject_groups: ") + e.what());
  }
}

StatusOr<std::vector<std::string>> GroupsFromJson(const std::string& text) {
  nlohmann::json json =
      nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_array()) {
    return InternalError("database holds invalid subject_groups: " + text);
  }
  std::vector<std::string> groups;
  for (const nlohmann::json& group : json) {
    if (!group.is_string()) {
      return InternalError("database holds invalid subject_groups: " + text);
    }
    groups.push_back(group.get<std::string>());
  }
  return groups;
}

std::string_view ToString(ApprovalDecision d) {
  return d == ApprovalDecision::kApprove ? "approve" : "deny";
}

StatusOr<ApprovalDecision> ParseDecision(std::string_view text) {
  if (text == "approve") return ApprovalDecision::kApprove;
  if (text == "deny") return ApprovalDecision::kDeny;
  return InvalidArgumentError("unknown decision \"" + std::string(text) + "\"");
}

void BindRequest(SqliteStatement& s, const Request& r,
                 const std::string& groups) {
  s.BindText(1, r.id);
  s.BindText(2, r.subject);
  s.BindText(3, r.person);
  s.BindText(4, groups);
  s.BindText(5, r.entitlement);
  s.BindInt(6, r.duration.count());
  s.BindText(7, r.justification);
  s.BindText(8, r.ticket);
  s.BindTime(9, r.start_at);
  s.BindInt(10, r.emergency == Emergency::kYes ? 1 : 0);
  s.BindText(11, ToString(r.state));
  s.BindText(12, r.policy);
  s.BindInt(13, r.approvals_required);
  s.BindTime(14, r.created_at);
  s.BindTime(15, r.updated_at);
  s.BindTime(16, r.approval_deadline);
  s.BindText(17, r.extends);
  s.BindText(18, r.grant_id);
  s.BindText(19, r.binding);
}

StatusOr<Request> ReadRequest(const SqliteStatement& s) {
  Request r;
  r.id = s.Text(0);
  r.subject = s.Text(1);
  r.person = s.Text(2);
  JIT_ASSIGN_OR_RETURN(r.subject_groups, GroupsFromJson(s.Text(3)));
  r.entitlement = s.Text(4);
  r.duration = Duration(s.Int(5));
  r.justification = s.Text(6);
  r.ticket = s.Text(7);
  r.start_at = s.OptionalTime(8);
  r.emergency = s.Int(9) != 0 ? Emergency::kYes : Emergency::kNo;
  JIT_ASSIGN_OR_RETURN(r.state, Stored(ParseRequestState(s.Text(10))));
  r.policy = s.Text(11);
  r.approvals_required = static_cast<int>(s.Int(12));
  r.created_at = s.Time(13);
  r.updated_at = s.Time(14);
  r.approval_deadline = s.OptionalTime(15);
  r.extends = s.Text(16);
  r.grant_id = s.Text(17);
  r.binding = s.Text(18);
  return r;
}

void BindGrant(SqliteStatement& s, const Grant& g) {
  s.BindText(1, g.id);
  s.BindText(2, g.request_id);
  s.BindText(3, g.subject);
  s.BindText(4, g.entitlement);
  s.BindText(5, g.connector);
  s.BindTime(6, g.starts_at);
  s.BindTime(7, g.expires_at);
  s.BindText(8, ToString(g.state));
  s.BindText(9, ToString(g.ended_reason));
  s.BindTime(10, g.ended_at);
  s.BindInt(11, g.revoke_attempts);
  s.BindTime(12, g.next_attempt_at);
  s.BindTime(13, g.revoke_pending_since);
  s.BindText(14, g.last_error);
  s.BindInt(15, g.generation);
}

StatusOr<Grant> ReadGrant(const SqliteStatement& s) {
  Grant g;
  g.id = s.Text(0);
  g.request_id = s.Text(1);
  g.subject = s.Text(2);
  g.entitlement = s.Text(3);
  g.connector = s.Text(4);
  g.starts_at = s.Time(5);
  g.expires_at = s.Time(6);
  JIT_ASSIGN_OR_RETURN(g.state, Stored(ParseGrantState(s.Text(7))));
  JIT_ASSIGN_OR_RETURN(g.ended_reason, Stored(ParseEndReason(s.Text(8))));
  g.ended_at = s.OptionalTime(9);
  g.revoke_attempts = static_cast<int>(s.Int(10));
  g.next_attempt_at = s.OptionalTime(11);
  g.revoke_pending_since = s.OptionalTime(12);
  g.last_error = s.Text(13);
  g.generation = s.Int(14);
  return g;
}

void BindApproval(SqliteStatement& s, const Approval& a) {
  s.BindText(1, a.request_id);
  s.BindText(2, a.approver);
  // NULL never collides in UNIQUE(request_id, approver_person): an unknown
  // person does not block other approvers.
  s.BindTextOrNull(3, a.approver_person);
  s.BindText(4, ToString(a.decision));
  s.BindText(5, a.comment);
  s.BindText(6, a.binding);
  s.BindTime(7, a.at);
}

StatusOr<Approval> ReadApproval(const SqliteStatement& s) {
  Approval a;
  a.request_id = s.Text(0);
  a.approver = s.Text(1);
  a.approver_person = s.Text(2);
  JIT_ASSIGN_OR_RETURN(a.decision, Stored(ParseDecision(s.Text(3))));
  a.comment = s.Text(4);
  a.binding = s.Text(5);
  a.at = s.Time(6);
  return a;
}

void BindCredential(SqliteStatement& s, const Credential& c,
                    const std::string& groups) {
  s.BindText(1, ToString(c.kind));
  s.BindText(2, c.id);
  s.BindText(3, c.secret_sha256);
  s.BindText(4, groups);
  s.BindText(5, c.created_by);
  s.BindTime(6, c.created_at);
  s.BindTime(7, c.expires_at);
  s.BindTime(8, c.ended_at);
  s.BindText(9, c.ended_by);
  s.BindText(10, c.note);
  s.BindText(11, c.sealed_secret);
}

StatusOr<Credential> ReadCredential(const SqliteStatement& s) {
  Credential c;
  JIT_ASSIGN_OR_RETURN(c.kind, Stored(ParseCredentialKind(s.Text(0))));
  c.id = s.Text(1);
  c.secret_sha256 = s.Text(2);
  JIT_ASSIGN_OR_RETURN(c.groups, GroupsFromJson(s.Text(3)));
  c.created_by = s.Text(4);
  c.created_at = s.Time(5);
  c.expires_at = s.OptionalTime(6);
  c.ended_at = s.OptionalTime(7);
  c.ended_by = s.Text(8);
  c.note = s.Text(9);
  c.sealed_secret = s.Text(10);
  return c;
}

void BindReview(SqliteStatement& s, const EmergencyReview& r) {
  s.BindText(1, r.request_id);
  s.BindText(2, r.subject);
  s.BindText(3, r.person);
  s.BindText(4, r.code_id);
  s.BindText(5, ToString(r.state));
  s.BindTime(6, r.opened_at);
  s.BindText(7, r.signed_off_by);
  s.BindText(8, r.signed_off_by_person);
  s.BindTime(9, r.signed_off_at);
  s.BindText(10, r.comment);
}

StatusOr<EmergencyReview> ReadReview(const SqliteStatement& s) {
  EmergencyReview r;
  r.request_id = s.Text(0);
  r.subject = s.Text(1);
  r.person = s.Text(2);
  r.code_id = s.Text(3);
  JIT_ASSIGN_OR_RETURN(r.state, Stored(ParseReviewState(s.Text(4))));
  r.opened_at = s.Time(5);
  r.signed_off_by = s.Text(6);
  r.signed_off_by_person = s.Text(7);
  r.signed_off_at = s.OptionalTime(8);
  r.comment = s.Text(9);
  return r;
}

void BindEvent(SqliteStatement& s, const AuditEvent& e) {
  s.BindInt(1, e.seq);
  s.BindTime(2, e.time);
  s.BindText(3, ToString(e.type));
  s.BindText(4, e.actor);
  s.BindText(5, e.subject);
  s.BindText(6, e.request_id);
  s.BindText(7, e.grant_id);
  s.BindText(8, e.data);
  s.BindText(9, e.prev_hash);
  s.BindText(10, e.hash);
}

StatusOr<AuditEvent> ReadEvent(const SqliteStatement& s) {
  AuditEvent e;
  e.seq = s.Int(0);
  e.time = s.Time(1);
  JIT_ASSIGN_OR_RETURN(e.type, Stored(ParseAuditType(s.Text(2))));
  e.actor = s.Text(3);
  e.subject = s.Text(4);
  e.request_id = s.Text(5);
  e.grant_id = s.Text(6);
  e.data = s.Text(7);
  e.prev_hash = s.Text(8);
  e.hash = s.Text(9);
  return e;
}

template <typename Row>
using RowReader = StatusOr<Row> (*)(const SqliteStatement&);

// Every row of `stmt`.
template <typename Row>
StatusOr<std::vector<Row>> QueryAll(SqliteStatement& stmt,
                                    RowReader<Row> read) {
  std::vector<Row> rows;
  while (true) {
    JIT_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return rows;
    JIT_ASSIGN_OR_RETURN(Row row, read(stmt));
    rows.push_back(std::move(row));
  }
}

// Up to `limit` rows of `stmt` (which selects at most limit + 1, creation
// position in `position_column`), with a cursor when there are more.
template <typename Row>
StatusOr<Page<Row>> QueryPage(SqliteStatement& stmt, RowReader<Row> read,
                              int position_column, int limit) {
  Page<Row> page;
  int64_t last = 0;
  while (true) {
    JIT_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
    if (!has_row) return page;
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_cursor = EncodeCursor(last);
      return page;
    }
    JIT_ASSIGN_OR_RETURN(Row row, read(stmt));
    page.items.push_back(std::move(row));
    last = stmt.Int(position_column);
  }
}

// The first `limit` grants of two queries that each select them oldest
// first (creation position in `position_column`), merged oldest first.
StatusOr<std::vector<Grant>> MergeByPosition(SqliteStatement& a,
                                             SqliteStatement& b,
                                             int position_column, int limit) {
  std::vector<std::pair<int64_t, Grant>> rows;
  for (SqliteStatement* stmt : {&a, &b}) {
    while (true) {
      JIT_ASSIGN_OR_RETURN(bool has_row, stmt->Step());
      if (!has_row) break;
      JIT_ASSIGN_OR_RETURN(Grant g, ReadGrant(*stmt));
      rows.emplace_back(stmt->Int(position_column), std::move(g));
    }
  }
  std::sort(rows.begin(), rows.end(),
            [](const auto& x, const auto& y) { return x.first < y.first; });
  std::vector<Grant> out;
  for (auto& row : rows) {
    if (static_cast<int>(out.size()) == limit) break;
    out.push_back(std::move(row.second));
  }
  return out;
}

}  // namespace

StatusOr<std::unique_ptr<SqliteStore>> SqliteStore::Open(
    const std::string& path) {
  JIT_ASSIGN_OR_RETURN(SqliteConnection db, SqliteConnection::Open(path));
  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(db)));
  std::lock_guard lock(store->mu_);
  JIT_RETURN_IF_ERROR(store->Configure().WithContext(path));
  JIT_RETURN_IF_ERROR(store->Migrate().WithContext(path));
  return store;
}

Status SqliteStore::Configure() {
  int rc = sqlite3_busy_timeout(
      db_.get(),
      static_cast<int>(std::chrono::milliseconds(kBusyTimeout).count()));
  if (rc != SQLITE_OK) return SqliteError(db_.get(), rc, "busy_timeout");
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement wal,
      stmts_.Take(db_.get(), "PRAGMA journal_mode = WAL"));
  JIT_ASSIGN_OR_RETURN(bool has_row, wal.Step());
  if (!has_row || wal.Text(0) != "wal") {
    return UnavailableError("cannot switch the database to WAL mode");
  }
  return db_.Exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;");
}

Status SqliteStore::Migrate() {
  JIT_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
  Status s = ApplyMigrations();
  if (s.ok()) s = db_.Exec("COMMIT");
  if (!s.ok()) RollbackLocked();
  return s;
}

Status SqliteStore::ApplyMigrations() {
  JIT_ASSIGN_OR_RETURN(int version, SchemaVersionLocked());
  if (version > kSchemaVersion) {
    return FailedPreconditionError("database schema version " +
                                   std::to_string(version) +
                                   " is newer than this jitd understands (" +
                                   std::to_string(kSchemaVersion) + ")");
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    JIT_RETURN_IF_ERROR(db_.Exec(m.sql));
    // PRAGMA takes no parameters; the version is our own constant.
    JIT_RETURN_IF_ERROR(
        db_.Exec("PRAGMA user_version = " + std::to_string(m.version)));
  }
  return OkStatus();
}

StatusOr<int> SqliteStore::SchemaVersion() {
  std::lock_guard lock(mu_);
  return SchemaVersionLocked();
}

StatusOr<int> SqliteStore::SchemaVersionLocked() {
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(db_.get(), "PRAGMA user_version"));
  JIT_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) return UnavailableError("cannot read PRAGMA user_version");
  return static_cast<int>(stmt.Int(0));
}

void SqliteStore::RollbackLocked() {
  // SQLite may have rolled back already (e.g. after SQLITE_FULL). A failed
  // ROLLBACK leaves nothing committed either; the caller reports the first
  // error.
  if (sqlite3_get_autocommit(db_.get()) == 0) {
    (void)db_.Exec("ROLLBACK");
  }
}

// One ChangeSet waiting in queue_; lives on its caller's stack.
struct SqliteStore::QueuedCommit {
  QueuedCommit(ChangeSet& c, std::condition_variable& w) : cs(c), wake(w) {}

  ChangeSet& cs;
  std::vector<AuditEvent> events;  // numbered and chained; cs gets them
                                   // once durable
  Status result;                   // set by the group's writer
  bool done = false;               // guarded by queue_mu_
  std::condition_variable& wake;   // its caller's: done, or at the head
};

Status SqliteStore::Commit(ChangeSet& cs) {
  return CommitEach(std::span<ChangeSet>(&cs, 1)).front();
}

std::vector<Status> SqliteStore::CommitEach(std::span<ChangeSet> sets) {
  if (sets.empty()) return {};
  std::condition_variable wake;
  std::vector<QueuedCommit> mine;
  mine.reserve(sets.size());
  for (ChangeSet& cs : sets) mine.emplace_back(cs, wake);
  std::unique_lock lock(queue_mu_);
  // Ours stay together and in order: they are pushed under one lock and
  // only ever taken from the front.
  for (QueuedCommit& q : mine) queue_.push_back(&q);
  while (true) {
    wake.wait(lock, [&] {
      return mine.back().done || &queue_.front()->wake == &wake;
    });
    if (mine.back().done) break;
    // At the head: write everything waiting now as one group. Callers
    // arriving meanwhile queue up for the next one.
    std::vector<QueuedCommit*> group(
        queue_.begin(), queue_.begin() + std::min(queue_.size(), kMaxGroup));
    lock.unlock();
    CommitGroup(group);
    lock.lock();
    for (QueuedCommit* q : group) {
      queue_.pop_front();
      q->done = true;
      // Under queue_mu_: a woken caller cannot return (and free `q`)
      // before this notify is through.
      if (&q->wake != &wake) q->wake.notify_one();
    }
    if (!queue_.empty()) queue_.front()->wake.notify_one();
  }
  std::vector<Status> out;
  out.reserve(mine.size());
  for (QueuedCommit& q : mine) out.push_back(std::move(q.result));
  return out;
}

void SqliteStore::CommitGroup(const std::vector<QueuedCommit*>& group) {
  std::lock_guard lock(mu_);
  Status s = CommitGroupLocked(group);
  for (QueuedCommit* q : group) {
    if (!q->result.ok()) continue;
    if (!s.ok()) {
      q->result = s;
      continue;
    }
    q->cs.events = std::move(q->events);
  }
}

// Writes each ChangeSet of `group` in its own savepoint (setting its
// `result` when it fails alone) and commits those that succeeded. An error
// returned here failed the whole transaction: no ChangeSet without a
// `result` of its own was written.
Status SqliteStore::CommitGroupLocked(const std::vector<QueuedCommit*>& group) {
  JIT_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
  std::optional<AuditHead> head;  // read when the first event is written
  bool any_written = false;
  for (QueuedCommit* q : group) {
    Status fatal = WriteOneOfGroup(*q, head);
    if (!fatal.ok()) {
      RollbackLocked();
      return fatal;
    }
    any_written = any_written || q->result.ok();
  }
  if (!any_written) {
    RollbackLocked();
    return OkStatus();
  }
  CrashPoint("store.commit.before");
  Status s = db_.Exec("COMMIT");
  if (!s.ok()) {
    RollbackLocked();
    return s;
  }
  CrashPoint("store.commit.after");
  return OkStatus();
}

// Writes `q.cs` inside the open transaction, under a savepoint: on failure
// only its writes are rolled back and `q.result` says why. Returns an error
// only when the whole transaction is lost (SQLite rolled it back, e.g.
// after an I/O error or a full disk, or the savepoint could not be undone).
Status SqliteStore::WriteOneOfGroup(QueuedCommit& q,
                                    std::optional<AuditHead>& head) {
  JIT_RETURN_IF_ERROR(db_.Exec("SAVEPOINT change_set"));
  std::optional<AuditHead> before = head;
  Status s = WriteAll(q.cs, head, q.events);
  if (s.ok()) s = db_.Exec("RELEASE change_set");
  if (s.ok()) return OkStatus();
  q.result = s;
  q.events.clear();
  head = std::move(before);
  if (sqlite3_get_autocommit(db_.get()) != 0) return s;
  return db_.Exec("ROLLBACK TO change_set; RELEASE change_set");
}

Status SqliteStore::WriteAll(const ChangeSet& cs,
                             std::optional<AuditHead>& head,
                             std::vector<AuditEvent>& events) {
  for (const RequestWrite& w : cs.requests) {
    JIT_RETURN_IF_ERROR(WriteRequest(w));
  }
  for (const GrantWrite& w : cs.grants) JIT_RETURN_IF_ERROR(WriteGrant(w));
  for (const Approval& a : cs.approvals) JIT_RETURN_IF_ERROR(WriteApproval(a));
  for (const CredentialWrite& w : cs.credentials) {
    JIT_RETURN_IF_ERROR(WriteCredential(w));
  }
  for (const ReviewWrite& w : cs.reviews) JIT_RETURN_IF_ERROR(WriteReview(w));
  return WriteEvents(cs.events, head, events);
}

Status SqliteStore::WriteCredential(const CredentialWrite& w) {
  const Credential& c = w.credential;
  if (w.op == CredentialOp::kEnd) {
    JIT_ASSIGN_OR_RETURN(
        SqliteStatement stmt,
        stmts_.Take(
            db_.get(),
            "UPDATE credentials SET ended_at = ?3, ended_by = ?4 "
            "WHERE kind = ?1 AND id = ?2 AND ended_at IS NULL"));
    stmt.BindText(1, ToString(c.kind));
    stmt.BindText(2, c.id);
    stmt.BindTime(3, c.ended_at);
    stmt.BindText(4, c.ended_by);
    JIT_RETURN_IF_ERROR(stmt.Run());
    if (sqlite3_changes64(db_.get()) != 1) {
      return AbortedError("credential " + c.id + " is ended or missing");
    }
    return OkStatus();
  }
  JIT_ASSIGN_OR_RETURN(std::string groups, GroupsToJson(c.groups));
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(db_.get(),
                               InsertSql("credentials", kCredentialColumns,
                                         kCredentialColumnCount)));
  BindCredential(stmt, c, groups);
  Status s = stmt.Run();
  if (IsUniqueViolation(stmt.rc())) {
    return AlreadyExistsError("credential " + c.id + " exists");
  }
  return s;
}

Status SqliteStore::WriteReview(const ReviewWrite& w) {
  const EmergencyReview& r = w.review;
  if (w.op == ReviewOp::kSignOff) {
    JIT_ASSIGN_OR_RETURN(
        SqliteStatement stmt,
        stmts_.Take(
            db_.get(),
            "UPDATE reviews SET state = ?2, signed_off_by = ?3, "
            "signed_off_by_person = ?4, signed_off_at = ?5, comment = ?6 "
            "WHERE request_id = ?1 AND state = ?7"));
    stmt.BindText(1, r.request_id);
    stmt.BindText(2, ToString(ReviewState::kSignedOff));
    stmt.BindText(3, r.signed_off_by);
    stmt.BindText(4, r.signed_off_by_person);
    stmt.BindTime(5, r.signed_off_at);
    stmt.BindText(6, r.comment);
    stmt.BindText(7, ToString(ReviewState::kOpen));
    JIT_RETURN_IF_ERROR(stmt.Run());
    if (sqlite3_changes64(db_.get()) != 1) {
      return AbortedError("review of " + r.request_id +
                          " is not open or missing");
    }
    return OkStatus();
  }
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(), InsertSql("reviews", kReviewColumns, kReviewColumnCount)));
  BindReview(stmt, r);
  Status s = stmt.Run();
  if (IsUniqueViolation(stmt.rc())) {
    return AlreadyExistsError("review of " + r.request_id + " exists");
  }
  return s;
}

StatusOr<EmergencyReview> SqliteStore::GetReview(
    const std::string& request_id) {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(db_.get(), SelectSql("reviews", kReviewColumns,
                                                    "WHERE request_id = ?1")));
  stmt.BindText(1, request_id);
  JIT_ASSIGN_OR_RETURN(std::vector<EmergencyReview> rows,
                       QueryAll<EmergencyReview>(stmt, &ReadReview));
  if (rows.empty()) return NotFoundError("no review of request " + request_id);
  return std::move(rows.front());
}

StatusOr<std::vector<EmergencyReview>> SqliteStore::ListReviews(
    std::optional<ReviewState> state, int limit) {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(), SelectSql("reviews", kReviewColumns,
                               std::string(state ? "WHERE state = ?1 " : "") +
                                   "ORDER BY ord DESC LIMIT ?2")));
  if (state) stmt.BindText(1, ToString(*state));
  stmt.BindInt(2, std::max(limit, 0));
  return QueryAll<EmergencyReview>(stmt, &ReadReview);
}

StatusOr<std::vector<Credential>> SqliteStore::QueryCredentials(
    std::string_view where, std::string_view a, std::string_view b) {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(), SelectSql("credentials", kCredentialColumns,
                               std::string(where) + " ORDER BY ord")));
  stmt.BindText(1, a);
  if (!b.empty()) stmt.BindText(2, b);
  return QueryAll<Credential>(stmt, &ReadCredential);
}

StatusOr<Credential> SqliteStore::GetCredential(CredentialKind kind,
                                                const std::string& id) {
  JIT_ASSIGN_OR_RETURN(
      std::vector<Credential> rows,
      QueryCredentials("WHERE kind = ?1 AND id = ?2", ToString(kind), id));
  if (rows.empty()) {
    return NotFoundError("no " + std::string(ToString(kind)) + " " + id);
  }
  return std::move(rows.front());
}

StatusOr<Credential> SqliteStore::FindCredentialBySecret(
    const std::string& secret_sha256) {
  JIT_ASSIGN_OR_RETURN(
      std::vector<Credential> rows,
      QueryCredentials("WHERE secret_sha256 = ?1", secret_sha256, ""));
  if (rows.empty()) return NotFoundError("no credential with this secret");
  return std::move(rows.front());
}

StatusOr<std::vector<Credential>> SqliteStore::ListCredentials(
    CredentialKind kind) {
  return QueryCredentials("WHERE kind = ?1", ToString(kind), "");
}

Status SqliteStore::WriteRequest(const RequestWrite& w) {
  const Request& r = w.request;
  JIT_ASSIGN_OR_RETURN(std::string groups, GroupsToJson(r.subject_groups));
  std::string sql =
      w.expected
          ? UpdateSql("requests", kRequestColumns,
                      "state = ?" + std::to_string(kRequestColumnCount + 1))
          : InsertSql("requests", kRequestColumns, kRequestColumnCount);
  JIT_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       stmts_.Take(db_.get(), sql));
  BindRequest(stmt, r, groups);
  if (!w.expected) {
    Status s = stmt.Run();
    if (IsUniqueViolation(stmt.rc())) {
      return AlreadyExistsError("request " + r.id + " exists");
    }
    return s;
  }
  stmt.BindText(kRequestColumnCount + 1, ToString(*w.expected));
  JIT_RETURN_IF_ERROR(stmt.Run());
  if (sqlite3_changes64(db_.get()) != 1) {
    return AbortedError("request " + r.id + " is no longer " +
                        std::string(ToString(*w.expected)));
  }
  return OkStatus();
}

Status SqliteStore::WriteGrant(const GrantWrite& w) {
  const Grant& g = w.grant;
  constexpr int kState = kGrantColumnCount + 1;
  std::string sql = w.expected
                        ? UpdateSql("grants", kGrantColumns,
                                    "state = ?" + std::to_string(kState) +
                                        " AND (?" + std::to_string(kState + 1) +
                                        " = 0 OR generation = ?" +
                                        std::to_string(kState + 2) + ")")
                        : InsertSql("grants", kGrantColumns, kGrantColumnCount);
  JIT_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       stmts_.Take(db_.get(), sql));
  BindGrant(stmt, g);
  if (!w.expected) {
    Status s = stmt.Run();
    if (IsUniqueViolation(stmt.rc())) {
      return AlreadyExistsError("grant " + g.id + " exists");
    }
    return s;
  }
  stmt.BindText(kState, ToString(*w.expected));
  stmt.BindInt(kState + 1, w.fenced ? 1 : 0);
  stmt.BindInt(kState + 2, g.generation - 1);
  JIT_RETURN_IF_ERROR(stmt.Run());
  if (sqlite3_changes64(db_.get()) != 1) {
    return AbortedError("grant " + g.id + " is no longer " +
                        std::string(ToString(*w.expected)) + " at generation " +
                        std::to_string(g.generation - 1));
  }
  return OkStatus();
}

Status SqliteStore::WriteApproval(const Approval& a) {
  JIT_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       stmts_.Take(
                           db_.get(), InsertSql("approvals", kApprovalColumns,
                                                kApprovalColumnCount)));
  BindApproval(stmt, a);
  Status s = stmt.Run();
  if (IsUniqueViolation(stmt.rc())) {
    return AlreadyExistsError(a.approver + " already decided request " +
                              a.request_id);
  }
  if (stmt.rc() == SQLITE_CONSTRAINT_FOREIGNKEY) {
    return AbortedError("request " + a.request_id + " does not exist");
  }
  return s;
}

Status SqliteStore::WriteEvents(const std::vector<AuditEvent>& in,
                                std::optional<AuditHead>& head,
                                std::vector<AuditEvent>& out) {
  if (in.empty()) return OkStatus();
  auto unavailable = [](const Status& s) {
    return UnavailableError("audit log is not writable: " + s.message());
  };
  if (!head) {
    StatusOr<AuditHead> stored = HeadLocked();
    if (!stored.ok()) return unavailable(stored.status());
    head = std::move(stored).value();
  }
  StatusOr<SqliteStatement> stmt = stmts_.Take(
      db_.get(), InsertSql("audit", kAuditColumns, kAuditColumnCount));
  if (!stmt.ok()) return unavailable(stmt.status());
  for (AuditEvent e : in) {
    e.time = FromUnixMillis(ToUnixMillis(e.time));
    e.seq = ++head->seq;
    e.prev_hash = head->hash;
    e.hash = ComputeEventHash(e);
    head->hash = e.hash;
    BindEvent(*stmt, e);
    Status s = stmt->Run();
    if (!s.ok()) return unavailable(s);
    stmt->Reset();
    out.push_back(std::move(e));
  }
  return OkStatus();
}

StatusOr<AuditHead> SqliteStore::HeadLocked() {
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(), "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"));
  JIT_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) return AuditHead{};
  return AuditHead{stmt.Int(0), stmt.Text(1)};
}

StatusOr<AuditHead> SqliteStore::GetAuditHead() {
  std::lock_guard lock(mu_);
  return HeadLocked();
}

StatusOr<Request> SqliteStore::GetRequest(const std::string& id) {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(), SelectSql("requests", kRequestColumns, "WHERE id = ?1")));
  stmt.BindText(1, id);
  JIT_ASSIGN_OR_RETURN(std::vector<Request> rows,
                       QueryAll<Request>(stmt, &ReadRequest));
  if (rows.empty()) return NotFoundError("no request " + id);
  return std::move(rows.front());
}

StatusOr<Grant> SqliteStore::GetGrant(const std::string& id) {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(), SelectSql("grants", kGrantColumns, "WHERE id = ?1")));
  stmt.BindText(1, id);
  JIT_ASSIGN_OR_RETURN(std::vector<Grant> rows,
                       QueryAll<Grant>(stmt, &ReadGrant));
  if (rows.empty()) return NotFoundError("no grant " + id);
  return std::move(rows.front());
}

StatusOr<Page<Request>> SqliteStore::ListRequests(const RequestFilter& f) {
  JIT_ASSIGN_OR_RETURN(int64_t after, DecodeCursor(f.after));
  int limit = ClampPageLimit(f.limit);
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(), SelectSql("requests", kRequestColumns,
                               "WHERE ord > ?1 AND (?2 IS NULL OR state = ?2) "
                               "AND (?3 IS NULL OR subject = ?3) "
                               "ORDER BY ord LIMIT ?4")));
  stmt.BindInt(1, after);
  if (f.state) stmt.BindText(2, ToString(*f.state));
  if (f.subject) stmt.BindText(3, *f.subject);
  stmt.BindInt(4, limit + 1);
  return QueryPage<Request>(stmt, &ReadRequest, kRequestColumnCount, limit);
}

StatusOr<Page<Grant>> SqliteStore::ListGrants(const GrantFilter& f) {
  JIT_ASSIGN_OR_RETURN(int64_t after, DecodeCursor(f.after));
  int limit = ClampPageLimit(f.limit);
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(),
          SelectSql("grants", kGrantColumns,
                    "WHERE ord > ?1 AND (?2 IS NULL OR subject = ?2) "
                    "AND (?3 = 0 OR state <> ?4) "
                    "ORDER BY ord LIMIT ?5")));
  stmt.BindInt(1, after);
  if (f.subject) stmt.BindText(2, *f.subject);
  stmt.BindInt(3, f.active_only ? 1 : 0);
  stmt.BindText(4, ToString(GrantState::kEnded));
  stmt.BindInt(5, limit + 1);
  return QueryPage<Grant>(stmt, &ReadGrant, kGrantColumnCount, limit);
}

StatusOr<std::vector<Approval>> SqliteStore::ListApprovals(
    const std::string& request_id) {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(), SelectSql("approvals", kApprovalColumns,
                               "WHERE request_id = ?1 ORDER BY ord")));
  stmt.BindText(1, request_id);
  return QueryAll<Approval>(stmt, &ReadApproval);
}

StatusOr<std::vector<Request>> SqliteStore::RequestsOfGrant(
    const std::string& grant_id) {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(),
          SelectSql("requests", kRequestColumns,
                    "WHERE grant_id = ?1 AND state = ?2 ORDER BY ord")));
  stmt.BindText(1, grant_id);
  stmt.BindText(2, ToString(RequestState::kActive));
  return QueryAll<Request>(stmt, &ReadRequest);
}

StatusOr<std::vector<Grant>> SqliteStore::DueRevokes(SystemTime now,
                                                     int limit) {
  if (limit <= 0) return std::vector<Grant>{};
  std::lock_guard lock(mu_);
  return DueRevokesLocked(now, limit, "");
}

StatusOr<std::vector<Grant>> SqliteStore::ClaimDueRevokes(
    SystemTime now, int limit, std::chrono::milliseconds lease) {
  if (limit <= 0) return std::vector<Grant>{};
  std::lock_guard lock(mu_);
  JIT_RETURN_IF_ERROR(db_.Exec("BEGIN IMMEDIATE"));
  StatusOr<std::vector<Grant>> due = DueRevokesLocked(
      now, limit, " AND (next_attempt_at IS NULL OR next_attempt_at <= ?1)");
  Status s = due.status();
  if (s.ok()) s = ClaimLocked(*due, now + lease);
  if (s.ok()) s = db_.Exec("COMMIT");
  if (!s.ok()) {
    RollbackLocked();
    return s;
  }
  return due;
}

// Inside the caller's transaction: every grant of `due` claimed until
// `until` (and `due` updated to match).
Status SqliteStore::ClaimLocked(std::vector<Grant>& due, SystemTime until) {
  for (Grant& g : due) {
    JIT_ASSIGN_OR_RETURN(
        SqliteStatement stmt,
        stmts_.Take(
            db_.get(),
            "UPDATE grants SET next_attempt_at = ?2, generation = ?3 "
            "WHERE id = ?1 AND generation = ?4"));
    g.next_attempt_at = FromUnixMillis(ToUnixMillis(until));
    ++g.generation;
    stmt.BindText(1, g.id);
    stmt.BindTime(2, g.next_attempt_at);
    stmt.BindInt(3, g.generation);
    stmt.BindInt(4, g.generation - 1);
    JIT_RETURN_IF_ERROR(stmt.Run());
    if (sqlite3_changes64(db_.get()) != 1) {
      return InternalError("grant " + g.id + " changed under the claim");
    }
  }
  return OkStatus();
}

StatusOr<std::vector<Grant>> SqliteStore::DueRevokesLocked(
    SystemTime now, int limit, std::string_view active_condition) {
  // Two index searches, each oldest first, merged. Few expired grants are
  // found through their expiry and sorted; past kSortedDueLimit (a mass
  // expiry, or catching up after downtime) sorting them all for every batch
  // would be quadratic, so active grants are walked in creation order
  // instead, which finds the first `limit` expired ones at once.
  constexpr int kSortedDueLimit = 10000;
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement probe,
      stmts_.Take(
          db_.get(),
          "SELECT count(*) FROM (SELECT 1 FROM grants INDEXED BY "
          "grants_by_state_expires WHERE state = ?2 AND expires_at <= ?1 "
          "LIMIT ?3)"));
  probe.BindTime(1, now);
  probe.BindText(2, ToString(GrantState::kActive));
  probe.BindInt(3, kSortedDueLimit);
  JIT_ASSIGN_OR_RETURN(bool counted, probe.Step());
  bool many = counted && probe.Int(0) >= kSortedDueLimit;
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement expired,
      stmts_.Take(
          db_.get(),
          SelectSql(
              "grants", kGrantColumns,
              std::string("INDEXED BY ") +
                  (many ? "grants_by_state_ord" : "grants_by_state_expires") +
                  " WHERE state = ?2 AND expires_at <= ?1" +
                  std::string(active_condition) + " ORDER BY ord LIMIT ?3")));
  expired.BindTime(1, now);
  expired.BindText(2, ToString(GrantState::kActive));
  expired.BindInt(3, limit);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement retries,
      stmts_.Take(
          db_.get(),
          SelectSql("grants", kGrantColumns,
                    "WHERE state = ?2 AND (next_attempt_at IS NULL OR "
                    "next_attempt_at <= ?1) ORDER BY ord LIMIT ?3")));
  retries.BindTime(1, now);
  retries.BindText(2, ToString(GrantState::kRevokePending));
  retries.BindInt(3, limit);
  return MergeByPosition(expired, retries, kGrantColumnCount, limit);
}

StatusOr<std::vector<Request>> SqliteStore::DueActivations(SystemTime now,
                                                           int limit) {
  if (limit <= 0) return std::vector<Request>{};
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(),
          SelectSql("requests", kRequestColumns,
                    "WHERE state = ?2 AND (start_at IS NULL OR start_at <= ?1) "
                    "ORDER BY ord LIMIT ?3")));
  stmt.BindTime(1, now);
  stmt.BindText(2, ToString(RequestState::kApproved));
  stmt.BindInt(3, limit);
  return QueryAll<Request>(stmt, &ReadRequest);
}

StatusOr<std::vector<Request>> SqliteStore::DueTimeouts(SystemTime now,
                                                        int limit) {
  if (limit <= 0) return std::vector<Request>{};
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(), SelectSql("requests", kRequestColumns,
                               "WHERE state = ?2 AND approval_deadline <= ?1 "
                               "ORDER BY ord LIMIT ?3")));
  stmt.BindTime(1, now);
  stmt.BindText(2, ToString(RequestState::kPending));
  stmt.BindInt(3, limit);
  return QueryAll<Request>(stmt, &ReadRequest);
}

StatusOr<std::vector<Grant>> SqliteStore::ActiveGrants() {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(),
          SelectSql("grants", kGrantColumns, "WHERE state = ?1 ORDER BY ord")));
  stmt.BindText(1, ToString(GrantState::kActive));
  return QueryAll<Grant>(stmt, &ReadGrant);
}

StatusOr<std::vector<AuditEvent>> SqliteStore::ReadAudit(int64_t after_seq,
                                                         int limit) {
  if (limit <= 0) return std::vector<AuditEvent>{};
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(SqliteStatement stmt,
                       stmts_.Take(
                           db_.get(), "SELECT " + std::string(kAuditColumns) +
                                          " FROM audit WHERE seq > ?1 "
                                          "ORDER BY seq LIMIT ?2"));
  stmt.BindInt(1, after_seq);
  stmt.BindInt(2, limit);
  return QueryAll<AuditEvent>(stmt, &ReadEvent);
}

StatusOr<IdempotentResponse> SqliteStore::GetIdempotent(
    const std::string& principal, const std::string& route,
    const std::string& key) {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(),
          "SELECT http_status, body, at FROM idempotency "
          "WHERE principal = ?1 AND route = ?2 AND idem_key = ?3"));
  stmt.BindText(1, principal);
  stmt.BindText(2, route);
  stmt.BindText(3, key);
  JIT_ASSIGN_OR_RETURN(bool has_row, stmt.Step());
  if (!has_row) {
    return NotFoundError("no stored response for this idempotency key");
  }
  IdempotentResponse r;
  r.key = key;
  r.principal = principal;
  r.route = route;
  r.http_status = static_cast<int>(stmt.Int(0));
  r.body = stmt.Text(1);
  r.at = stmt.Time(2);
  return r;
}

Status SqliteStore::PutIdempotent(const IdempotentResponse& r) {
  std::lock_guard lock(mu_);
  JIT_ASSIGN_OR_RETURN(
      SqliteStatement stmt,
      stmts_.Take(
          db_.get(),
          "INSERT INTO idempotency (principal, route, idem_key, http_status, "
          "body, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  stmt.BindText(1, r.principal);
  stmt.BindText(2, r.route);
  stmt.BindText(3, r.key);
  stmt.BindInt(4, r.http_status);
  stmt.BindText(5, r.body);
  stmt.BindTime(6, r.at);
  Status s = stmt.Run();
  if (IsUniqueViolation(stmt.rc())) {
    return AlreadyExistsError("a response is stored for this idempotency key");
  }
  return s;
}

}  // namespace jit
