#include "jit/storage/postgres/postgres_store.h"

#include <algorithm>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <pqxx/pqxx>
#include <string_view>
#include <utility>

#include "jit/base/crash_point.h"
#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/storage/postgres/pg_dsn.h"
#include "jit/storage/store_util.h"

namespace jit {
namespace {

struct Migration {
  int version;
  std::string_view sql;
};

// Applied in order, each once and in its own transaction; a released
// migration is never edited, a schema change is a new entry. State names in
// partial index predicates are the domain's ToString() texts.
constexpr Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE requests (
  ord BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- list cursor
  id TEXT NOT NULL UNIQUE,
  subject TEXT NOT NULL,
  person TEXT NOT NULL,
  subject_groups JSONB NOT NULL,  -- array of strings
  entitlement TEXT NOT NULL,
  duration_ms BIGINT NOT NULL,
  justification TEXT NOT NULL,
  ticket TEXT NOT NULL,
  start_at BIGINT,  -- Unix ms, as every time column here
  emergency BOOLEAN NOT NULL,
  state TEXT NOT NULL,
  policy TEXT NOT NULL,
  approvals_required INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  approval_deadline BIGINT,
  extends TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  binding TEXT NOT NULL
);
CREATE INDEX requests_by_subject ON requests (subject, ord);
CREATE INDEX requests_by_state ON requests (state, ord);
CREATE INDEX requests_active_by_grant ON requests (grant_id)
  WHERE state = 'active';
CREATE INDEX requests_due_activation ON requests (start_at)
  WHERE state = 'approved';
CREATE INDEX requests_due_timeout ON requests (approval_deadline)
  WHERE state = 'pending';

CREATE TABLE approvals (
  ord BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id TEXT NOT NULL REFERENCES requests (id),
  approver TEXT NOT NULL,
  approver_person TEXT,  -- NULL when unknown: never collides
  decision TEXT NOT NULL,
  comment TEXT NOT NULL,
  binding TEXT NOT NULL,
  at BIGINT NOT NULL,
  UNIQUE (request_id, approver),
  UNIQUE (request_id, approver_person)
);

CREATE TABLE grants (
  ord BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  request_id TEXT NOT NULL,
  subject TEXT NOT NULL,
  entitlement TEXT NOT NULL,
  connector TEXT NOT NULL,
  starts_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  state TEXT NOT NULL,
  ended_reason TEXT NOT NULL,
  ended_at BIGINT,
  revoke_attempts INTEGER NOT NULL,
  next_attempt_at BIGINT,
  revoke_pending_since BIGINT,
  last_error TEXT NOT NULL,
  generation BIGINT NOT NULL  -- fencing (THREATS T25)
);
CREATE INDEX grants_by_subject ON grants (subject, ord);
CREATE INDEX grants_due_expiry ON grants (expires_at) WHERE state = 'active';
CREATE INDEX grants_due_retry ON grants (next_attempt_at)
  WHERE state = 'revoke_pending';

CREATE TABLE audit (
  seq BIGINT PRIMARY KEY,
  time BIGINT NOT NULL,
  type TEXT NOT NULL,
  actor TEXT NOT NULL,
  subject TEXT NOT NULL,
  request_id TEXT NOT NULL,
  grant_id TEXT NOT NULL,
  data TEXT NOT NULL,  -- kept byte for byte: the hash covers it
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL
);
-- Append-only, also against a bug in jitd. The owner can drop these; the
-- hash chain is what detects that.
CREATE FUNCTION audit_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit rows are append-only';
END
$$;
CREATE TRIGGER audit_no_update_or_delete BEFORE UPDATE OR DELETE ON audit
  FOR EACH ROW EXECUTE FUNCTION audit_refuse_change();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
  FOR EACH STATEMENT EXECUTE FUNCTION audit_refuse_change();

-- One row; whoever appends audit events holds its row lock until COMMIT.
CREATE TABLE audit_writer (
  id BOOLEAN PRIMARY KEY DEFAULT true CHECK (id)
);
INSERT INTO audit_writer DEFAULT VALUES;

CREATE TABLE idempotency (
  principal TEXT NOT NULL,
  route TEXT NOT NULL,
  idem_key TEXT NOT NULL,
  http_status INTEGER NOT NULL,
  body TEXT NOT NULL,
  at BIGINT NOT NULL,
  PRIMARY KEY (principal, route, idem_key)
);
)sql"},
    {2, R"sql(
CREATE TABLE credentials (
  ord BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL UNIQUE,
  groups TEXT NOT NULL,  -- JSON array of strings
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  ended_at BIGINT,
  ended_by TEXT NOT NULL,
  note TEXT NOT NULL,
  UNIQUE (kind, id)
);
)sql"},
    {3, R"sql(
CREATE TABLE reviews (
  ord BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  request_id TEXT NOT NULL UNIQUE REFERENCES requests(id),
  subject TEXT NOT NULL,
  person TEXT NOT NULL,
  code_id TEXT NOT NULL,
  state TEXT NOT NULL,
  opened_at BIGINT NOT NULL,
  signed_off_by TEXT NOT NULL,
  signed_off_by_person TEXT NOT NULL,
  signed_off_at BIGINT,
  comment TEXT NOT NULL
);
CREATE INDEX reviews_by_state ON reviews(state, ord);
)sql"},
    {4, R"sql(
ALTER TABLE credentials ADD COLUMN sealed_secret TEXT NOT NULL DEFAULT '';
)sql"},
};

static_assert(std::size(kMigrations) > 0 &&
                  kMigrations[std::size(kMigrations) - 1].version ==
                      PostgresStore::kSchemaVersion,
              "kSchemaVersion must name the last migration");

// pg_advisory_xact_lock key serializing migrations of replicas starting
// together ("jitdmigr" in ASCII).
constexpr std::string_view kMigrationLockKey = "7667837890427267442";

// A transaction the server rolled back (deadlock, serialization failure)
// is run again this many times in all.
constexpr int kCommitAttempts = 3;

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

// Statement parameters as text ($1, $2, ...); nullopt is NULL.
using Params = std::vector<std::optional<std::string>>;

std::optional<std::string> Int(int64_t v) { return std::to_string(v); }
std::optional<std::string> Time(SystemTime t) { return Int(ToUnixMillis(t)); }
std::optional<std::string> Time(const std::optional<SystemTime>& t) {
  if (!t) return std::nullopt;
  return Time(*t);
}
std::optional<std::string> Bool(bool v) { return v ? "true" : "false"; }
std::optional<std::string> Text(std::string_view v) { return std::string(v); }

// libpq passes text parameters as C strings: a NUL byte would silently cut
// the value short (and could make a lookup match another id), so it is
// refused before anything is sent.
StatusOr<pqxx::result> Exec(pqxx::transaction_base& tx, const std::string& sql,
                            const Params& params) {
  for (const std::optional<std::string>& p : params) {
    if (p && p->find('\0') != std::string::npos) {
      return InvalidArgumentError("text holds a NUL byte");
    }
  }
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
}

std::string Quoted(std::string_view constant) {
  return "'" + std::string(constant) + "'";
}

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

// "INSERT INTO table (c1, ...) VALUES ($1, ...)".
std::string InsertSql(std::string_view table, std::string_view columns,
                      int count) {
  std::string sql = "INSERT INTO " + std::string(table) + " (" +
                    std::string(columns) + ") VALUES (";
  for (int i = 1; i <= count; ++i) {
    if (i > 1) sql += ", ";
    sql += "$" + std::to_string(i);
  }
  return sql + ")";
}

// "UPDATE table SET c2 = $2, ... WHERE c1 = $1 AND <condition>": the first
// column is the key; `condition` uses parameters after the columns'.
std::string UpdateSql(std::string_view table, std::string_view columns,
                      std::string_view condition) {
  std::vector<std::string_view> names = SplitColumns(columns);
  std::string sql = "UPDATE " + std::string(table) + " SET ";
  for (size_t i = 1; i < names.size(); ++i) {
    if (i > 1) sql += ", ";
    sql += std::string(names[i]) + " = $" + std::to_string(i + 1);
  }
  return sql + " WHERE " + std::string(names[0]) + " = $1 AND " +
         std::string(condition);
}

// "SELECT <columns>, ord FROM table <tail>".
std::string SelectSql(std::string_view table, std::string_view columns,
                      std::string_view tail) {
  return "SELECT " + std::string(columns) + ", ord FROM " + std::string(table) +
         " " + std::string(tail);
}

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

std::string Str(const pqxx::field& f) { return f.is_null() ? "" : f.c_str(); }
int64_t Int(const pqxx::field& f) { return f.as<int64_t>(); }
SystemTime Time(const pqxx::field& f) { return FromUnixMillis(Int(f)); }
std::optional<SystemTime> OptionalTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return Time(f);
}

Params RequestParams(const Request& r, const std::string& groups) {
  return {Text(r.id),
          Text(r.subject),
          Text(r.person),
          Text(groups),
          Text(r.entitlement),
          Int(r.duration.count()),
          Text(r.justification),
          Text(r.ticket),
          Time(r.start_at),
          Bool(r.emergency == Emergency::kYes),
          Text(ToString(r.state)),
          Text(r.policy),
          Int(r.approvals_required),
          Time(r.created_at),
          Time(r.updated_at),
          Time(r.approval_deadline),
          Text(r.extends),
          Text(r.grant_id),
          Text(r.binding)};
}

StatusOr<Request> ReadRequest(const pqxx::row& row) {
  Request r;
  r.id = Str(row[0]);
  r.subject = Str(row[1]);
  r.person = Str(row[2]);
  JIT_ASSIGN_OR_RETURN(r.subject_groups, GroupsFromJson(Str(row[3])));
  r.entitlement = Str(row[4]);
  r.duration = Duration(Int(row[5]));
  r.justification = Str(row[6]);
  r.ticket = Str(row[7]);
  r.start_at = OptionalTime(row[8]);
  r.emergency = row[9].as<bool>() ? Emergency::kYes : Emergency::kNo;
  JIT_ASSIGN_OR_RETURN(r.state, Stored(ParseRequestState(Str(row[10]))));
  r.policy = Str(row[11]);
  r.approvals_required = static_cast<int>(Int(row[12]));
  r.created_at = Time(row[13]);
  r.updated_at = Time(row[14]);
  r.approval_deadline = OptionalTime(row[15]);
  r.extends = Str(row[16]);
  r.grant_id = Str(row[17]);
  r.binding = Str(row[18]);
  return r;
}

Params GrantParams(const Grant& g) {
  return {Text(g.id),
          Text(g.request_id),
          Text(g.subject),
          Text(g.entitlement),
          Text(g.connector),
          Time(g.starts_at),
          Time(g.expires_at),
          Text(ToString(g.state)),
          Text(ToString(g.ended_reason)),
          Time(g.ended_at),
          Int(g.revoke_attempts),
          Time(g.next_attempt_at),
          Time(g.revoke_pending_since),
          Text(g.last_error),
          Int(g.generation)};
}

StatusOr<Grant> ReadGrant(const pqxx::row& row) {
  Grant g;
  g.id = Str(row[0]);
  g.request_id = Str(row[1]);
  g.subject = Str(row[2]);
  g.entitlement = Str(row[3]);
  g.connector = Str(row[4]);
  g.starts_at = Time(row[5]);
  g.expires_at = Time(row[6]);
  JIT_ASSIGN_OR_RETURN(g.state, Stored(ParseGrantState(Str(row[7]))));
  JIT_ASSIGN_OR_RETURN(g.ended_reason, Stored(ParseEndReason(Str(row[8]))));
  g.ended_at = OptionalTime(row[9]);
  g.revoke_attempts = static_cast<int>(Int(row[10]));
  g.next_attempt_at = OptionalTime(row[11]);
  g.revoke_pending_since = OptionalTime(row[12]);
  g.last_error = Str(row[13]);
  g.generation = Int(row[14]);
  return g;
}

Params ApprovalParams(const Approval& a) {
  return {Text(a.request_id),
          Text(a.approver),
          a.approver_person.empty() ? std::nullopt : Text(a.approver_person),
          Text(ToString(a.decision)),
          Text(a.comment),
          Text(a.binding),
          Time(a.at)};
}

StatusOr<Approval> ReadApproval(const pqxx::row& row) {
  Approval a;
  a.request_id = Str(row[0]);
  a.approver = Str(row[1]);
  a.approver_person = Str(row[2]);
  JIT_ASSIGN_OR_RETURN(a.decision, Stored(ParseDecision(Str(row[3]))));
  a.comment = Str(row[4]);
  a.binding = Str(row[5]);
  a.at = Time(row[6]);
  return a;
}

Params EventParams(const AuditEvent& e) {
  return {Int(e.seq),       Time(e.time),    Text(ToString(e.type)),
          Text(e.actor),    Text(e.subject), Text(e.request_id),
          Text(e.grant_id), Text(e.data),    Text(e.prev_hash),
          Text(e.hash)};
}

StatusOr<AuditEvent> ReadEvent(const pqxx::row& row) {
  AuditEvent e;
  e.seq = Int(row[0]);
  e.time = Time(row[1]);
  JIT_ASSIGN_OR_RETURN(e.type, Stored(ParseAuditType(Str(row[2]))));
  e.actor = Str(row[3]);
  e.subject = Str(row[4]);
  e.request_id = Str(row[5]);
  e.grant_id = Str(row[6]);
  e.data = Str(row[7]);
  e.prev_hash = Str(row[8]);
  e.hash = Str(row[9]);
  return e;
}

template <typename Row>
using RowReader = StatusOr<Row> (*)(const pqxx::row&);

template <typename Row>
Status ReadAll(const pqxx::result& result, RowReader<Row> read,
               std::vector<Row>& out) {
  for (const pqxx::row& row : result) {
    JIT_ASSIGN_OR_RETURN(Row item, read(row));
    out.push_back(std::move(item));
  }
  return OkStatus();
}

// Up to `limit` rows of `result` (which holds at most limit + 1, creation
// position in `position_column`), with a cursor when there are more.
template <typename Row>
Status ReadPage(const pqxx::result& result, RowReader<Row> read,
                int position_column, int limit, Page<Row>& page) {
  for (const pqxx::row& row : result) {
    if (static_cast<int>(page.items.size()) == limit) {
      page.next_cursor = EncodeCursor(Int(result[limit - 1][position_column]));
      return OkStatus();
    }
    JIT_ASSIGN_OR_RETURN(Row item, read(row));
    page.items.push_back(std::move(item));
  }
  return OkStatus();
}

Params CredentialParams(const Credential& c, const std::string& groups) {
  return {Text(ToString(c.kind)), Text(c.id),           Text(c.secret_sha256),
          Text(groups),           Text(c.created_by),   Time(c.created_at),
          Time(c.expires_at),     Time(c.ended_at),     Text(c.ended_by),
          Text(c.note),           Text(c.sealed_secret)};
}

StatusOr<Credential> ReadCredential(const pqxx::row& row) {
  Credential c;
  JIT_ASSIGN_OR_RETURN(c.kind, Stored(ParseCredentialKind(Str(row[0]))));
  c.id = Str(row[1]);
  c.secret_sha256 = Str(row[2]);
  JIT_ASSIGN_OR_RETURN(c.groups, GroupsFromJson(Str(row[3])));
  c.created_by = Str(row[4]);
  c.created_at = Time(row[5]);
  c.expires_at = OptionalTime(row[6]);
  c.ended_at = OptionalTime(row[7]);
  c.ended_by = Str(row[8]);
  c.note = Str(row[9]);
  c.sealed_secret = Str(row[10]);
  return c;
}

constexpr std::string_view kReviewColumns =
    "request_id, subject, person, code_id, state, opened_at, signed_off_by, "
    "signed_off_by_person, signed_off_at, comment";
constexpr int kReviewColumnCount = 10;

Params ReviewParams(const EmergencyReview& r) {
  return {Text(r.request_id),      Text(r.subject),
          Text(r.person),          Text(r.code_id),
          Text(ToString(r.state)), Time(r.opened_at),
          Text(r.signed_off_by),   Text(r.signed_off_by_person),
          Time(r.signed_off_at),   Text(r.comment)};
}

StatusOr<EmergencyReview> ReadReview(const pqxx::row& row) {
  EmergencyReview r;
  r.request_id = Str(row[0]);
  r.subject = Str(row[1]);
  r.person = Str(row[2]);
  r.code_id = Str(row[3]);
  JIT_ASSIGN_OR_RETURN(r.state, Stored(ParseReviewState(Str(row[4]))));
  r.opened_at = Time(row[5]);
  r.signed_off_by = Str(row[6]);
  r.signed_off_by_person = Str(row[7]);
  r.signed_off_at = OptionalTime(row[8]);
  r.comment = Str(row[9]);
  return r;
}

// --- Commit's writes, inside the caller's transaction ----------------------

Status WriteRequest(pqxx::work& tx, const RequestWrite& w) {
  const Request& r = w.request;
  JIT_ASSIGN_OR_RETURN(std::string groups, GroupsToJson(r.subject_groups));
  Params params = RequestParams(r, groups);
  if (!w.expected) {
    try {
      JIT_RETURN_IF_ERROR(
          Exec(tx, InsertSql("requests", kRequestColumns, kRequestColumnCount),
               params)
              .status());
    } catch (const pqxx::unique_violation&) {
      return AlreadyExistsError("request " + r.id + " exists");
    }
    return OkStatus();
  }
  params.push_back(Text(ToString(*w.expected)));
  JIT_ASSIGN_OR_RETURN(
      pqxx::result result,
      Exec(tx,
           UpdateSql("requests", kRequestColumns,
                     "state = $" + std::to_string(kRequestColumnCount + 1)),
           params));
  if (result.affected_rows() != 1) {
    return AbortedError("request " + r.id + " is no longer " +
                        std::string(ToString(*w.expected)));
  }
  return OkStatus();
}

// Delivered at COMMIT (and dropped with a rollback); one per grant and
// transaction, as the server folds equal payloads of one transaction.
Status NotifyGrant(pqxx::work& tx, const std::string& grant_id) {
  return Exec(tx, "SELECT pg_notify($1, $2)",
              {Text(PostgresStore::kGrantChannel), Text(grant_id)})
      .status();
}

Status WriteGrant(pqxx::work& tx, const GrantWrite& w) {
  const Grant& g = w.grant;
  Params params = GrantParams(g);
  if (!w.expected) {
    try {
      JIT_RETURN_IF_ERROR(
          Exec(tx, InsertSql("grants", kGrantColumns, kGrantColumnCount),
               params)
              .status());
    } catch (const pqxx::unique_violation&) {
      return AlreadyExistsError("grant " + g.id + " exists");
    }
    return NotifyGrant(tx, g.id);
  }
  constexpr int kState = kGrantColumnCount + 1;
  params.push_back(Text(ToString(*w.expected)));
  params.push_back(Bool(w.fenced));
  params.push_back(Int(g.generation - 1));
  JIT_ASSIGN_OR_RETURN(
      pqxx::result result,
      Exec(tx,
           UpdateSql("grants", kGrantColumns,
                     "state = $" + std::to_string(kState) + " AND (NOT $" +
                         std::to_string(kState + 1) +
                         "::boolean OR generation = $" +
                         std::to_string(kState + 2) + "::bigint)"),
           params));
  if (result.affected_rows() != 1) {
    return AbortedError("grant " + g.id + " is no longer " +
                        std::string(ToString(*w.expected)) + " at generation " +
                        std::to_string(g.generation - 1));
  }
  return NotifyGrant(tx, g.id);
}

Status WriteApproval(pqxx::work& tx, const Approval& a) {
  try {
    JIT_RETURN_IF_ERROR(
        Exec(tx, InsertSql("approvals", kApprovalColumns, kApprovalColumnCount),
             ApprovalParams(a))
            .status());
  } catch (const pqxx::unique_violation&) {
    return AlreadyExistsError(a.approver + " already decided request " +
                              a.request_id);
  } catch (const pqxx::foreign_key_violation&) {
    return AbortedError("request " + a.request_id + " does not exist");
  }
  return OkStatus();
}

Status WriteCredential(pqxx::work& tx, const CredentialWrite& w) {
  const Credential& c = w.credential;
  if (w.op == CredentialOp::kEnd) {
    JIT_ASSIGN_OR_RETURN(
        pqxx::result result,
        Exec(tx,
             "UPDATE credentials SET ended_at = $3, ended_by = $4 "
             "WHERE kind = $1 AND id = $2 AND ended_at IS NULL",
             {Text(ToString(c.kind)), Text(c.id), Time(c.ended_at),
              Text(c.ended_by)}));
    if (result.affected_rows() != 1) {
      return AbortedError("credential " + c.id + " is ended or missing");
    }
    return OkStatus();
  }
  JIT_ASSIGN_OR_RETURN(std::string groups, GroupsToJson(c.groups));
  try {
    JIT_RETURN_IF_ERROR(Exec(tx,
                             InsertSql("credentials", kCredentialColumns,
                                       kCredentialColumnCount),
                             CredentialParams(c, groups))
                            .status());
  } catch (const pqxx::unique_violation&) {
    return AlreadyExistsError("credential " + c.id + " exists");
  }
  return OkStatus();
}

Status WriteReview(pqxx::work& tx, const ReviewWrite& w) {
  const EmergencyReview& r = w.review;
  if (w.op == ReviewOp::kSignOff) {
    JIT_ASSIGN_OR_RETURN(
        pqxx::result result,
        Exec(tx,
             "UPDATE reviews SET state = $2, signed_off_by = $3, "
             "signed_off_by_person = $4, signed_off_at = $5, comment = $6 "
             "WHERE request_id = $1 AND state = $7",
             {Text(r.request_id), Text(ToString(ReviewState::kSignedOff)),
              Text(r.signed_off_by), Text(r.signed_off_by_person),
              Time(r.signed_off_at), Text(r.comment),
              Text(ToString(ReviewState::kOpen))}));
    if (result.affected_rows() != 1) {
      return AbortedError("review of " + r.request_id +
                          " is not open or missing");
    }
    return OkStatus();
  }
  try {
    JIT_RETURN_IF_ERROR(
        Exec(tx, InsertSql("reviews", kReviewColumns, kReviewColumnCount),
             ReviewParams(r))
            .status());
  } catch (const pqxx::unique_violation&) {
    return AlreadyExistsError("review of " + r.request_id + " exists");
  }
  return OkStatus();
}

StatusOr<AuditHead> ReadHead(pqxx::transaction_base& tx) {
  pqxx::result r =
      tx.exec("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
  if (r.empty()) return AuditHead{};
  return AuditHead{Int(r[0][0]), Str(r[0][1])};
}

// Appends `in` after the stored head; `out` gets them numbered and chained.
Status AppendEvents(pqxx::work& tx, const std::vector<AuditEvent>& in,
                    std::vector<AuditEvent>& out) {
  // Held to COMMIT: no other writer reads the head until this chain part is
  // committed. READ COMMITTED gives the next statement a fresh snapshot, so
  // the head read below sees the previous holder's rows.
  pqxx::result locked =
      tx.exec("SELECT id FROM audit_writer WHERE id FOR UPDATE");
  if (locked.size() != 1) {
    return UnavailableError(
        "audit log is not writable: the audit_writer row is missing");
  }
  JIT_ASSIGN_OR_RETURN(AuditHead head, ReadHead(tx));
  const std::string sql = InsertSql("audit", kAuditColumns, kAuditColumnCount);
  for (AuditEvent e : in) {
    e.time = FromUnixMillis(ToUnixMillis(e.time));
    e.seq = ++head.seq;
    e.prev_hash = head.hash;
    e.hash = ComputeEventHash(e);
    head.hash = e.hash;
    JIT_RETURN_IF_ERROR(Exec(tx, sql, EventParams(e)).status());
    out.push_back(std::move(e));
  }
  return OkStatus();
}

Status WriteEvents(pqxx::work& tx, const std::vector<AuditEvent>& in,
                   std::vector<AuditEvent>& out) {
  if (in.empty()) return OkStatus();
  try {
    return AppendEvents(tx, in, out);
  } catch (const pqxx::data_exception& e) {
    return InvalidArgumentError(std::string("audit event not storable: ") +
                                e.what());
  } catch (const pqxx::sql_error& e) {
    // A refused insert (trigger, permissions, full disk): the change is
    // refused with it (DESIGN invariant 2).
    return UnavailableError("audit log is not writable: SQLSTATE " +
                            e.sqlstate() + ": " + e.what());
  }
}

Status WriteAll(pqxx::work& tx, const ChangeSet& cs,
                std::vector<AuditEvent>& events) {
  for (const RequestWrite& w : cs.requests) {
    JIT_RETURN_IF_ERROR(WriteRequest(tx, w));
  }
  for (const GrantWrite& w : cs.grants) JIT_RETURN_IF_ERROR(WriteGrant(tx, w));
  for (const Approval& a : cs.approvals) {
    JIT_RETURN_IF_ERROR(WriteApproval(tx, a));
  }
  for (const CredentialWrite& w : cs.credentials) {
    JIT_RETURN_IF_ERROR(WriteCredential(tx, w));
  }
  for (const ReviewWrite& w : cs.reviews) {
    JIT_RETURN_IF_ERROR(WriteReview(tx, w));
  }
  return WriteEvents(tx, cs.events, events);
}

// --- Migrations
// ---------------------------------------------------------------

StatusOr<int> AppliedVersion(pqxx::transaction_base& tx) {
  pqxx::result r =
      tx.exec("SELECT coalesce(max(version), 0) FROM schema_migrations");
  return static_cast<int>(Int(r[0][0]));
}

// Applies the first pending migration; `done` when there was none.
Status MigrateOneStep(pqxx::connection_base& db, bool& done) {
  pqxx::work tx(db);
  tx.exec("SELECT pg_advisory_xact_lock(" + std::string(kMigrationLockKey) +
          ")");
  tx.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "version INTEGER PRIMARY KEY, "
      "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())");
  JIT_ASSIGN_OR_RETURN(int version, AppliedVersion(tx));
  if (version > PostgresStore::kSchemaVersion) {
    return FailedPreconditionError(
        "database schema version " + std::to_string(version) +
        " is newer than this jitd understands (" +
        std::to_string(PostgresStore::kSchemaVersion) +
        "): upgrade jitd or use another database");
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= version) continue;
    tx.exec(std::string(m.sql));
    JIT_RETURN_IF_ERROR(
        Exec(tx, "INSERT INTO schema_migrations (version) VALUES ($1)",
             {Int(m.version)})
            .status());
    tx.commit();
    return OkStatus();
  }
  tx.commit();
  done = true;
  return OkStatus();
}

}  // namespace

PostgresStore::PostgresStore(const std::string& dsn, PgPoolOptions options)
    : pool_(WithConnectDefaults(dsn), options) {}

StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const std::string& dsn, PgPoolOptions options) {
  JIT_RETURN_IF_ERROR(CheckDsn(dsn, DsnPassword::kAllowed));
  std::unique_ptr<PostgresStore> store(new PostgresStore(dsn, options));
  JIT_RETURN_IF_ERROR(store->Migrate());
  return store;
}

Status PostgresStore::Migrate() {
  // One step per pending migration, plus the one finding none: bounded.
  bool done = false;
  for (size_t step = 0; step <= std::size(kMigrations) && !done; ++step) {
    JIT_RETURN_IF_ERROR(pool_.Run("migrate", [&](pqxx::connection_base& db) {
      return MigrateOneStep(db, done);
    }));
  }
  if (!done) return InternalError("schema migrations did not finish");
  return OkStatus();
}

StatusOr<int> PostgresStore::SchemaVersion() {
  int version = 0;
  JIT_RETURN_IF_ERROR(
      pool_.Run("schema version", [&](pqxx::connection_base& db) {
        pqxx::nontransaction tx(db);
        JIT_ASSIGN_OR_RETURN(version, AppliedVersion(tx));
        return OkStatus();
      }));
  return version;
}

Status PostgresStore::Commit(ChangeSet& cs) {
  Status s;
  for (int attempt = 0; attempt < kCommitAttempts; ++attempt) {
    std::vector<AuditEvent> events;
    bool rolled_back = false;
    s = pool_.Run("commit", [&](pqxx::connection_base& db) {
      try {
        pqxx::work tx(db);
        JIT_RETURN_IF_ERROR(WriteAll(tx, cs, events));
        CrashPoint("store.commit.before");
        tx.commit();
        CrashPoint("store.commit.after");
        return OkStatus();
      } catch (const pqxx::statement_completion_unknown&) {
        throw;  // may have been applied: not retried
      } catch (const pqxx::transaction_rollback&) {
        rolled_back = true;  // nothing written; the pool maps it
        throw;
      }
    });
    if (s.ok()) {
      cs.events = std::move(events);
      return s;
    }
    if (!rolled_back) return s;
  }
  return s;
}

StatusOr<AuditHead> PostgresStore::GetAuditHead() {
  AuditHead head;
  JIT_RETURN_IF_ERROR(pool_.Run("audit head", [&](pqxx::connection_base& db) {
    pqxx::nontransaction tx(db);
    JIT_ASSIGN_OR_RETURN(head, ReadHead(tx));
    return OkStatus();
  }));
  return head;
}

namespace {

// Rows of one read-only query, each through `read`.
template <typename Row>
StatusOr<std::vector<Row>> QueryAll(PgPool& pool, std::string_view what,
                                    const std::string& sql,
                                    const Params& params, RowReader<Row> read) {
  std::vector<Row> rows;
  JIT_RETURN_IF_ERROR(pool.Run(what, [&](pqxx::connection_base& db) {
    pqxx::nontransaction tx(db);
    JIT_ASSIGN_OR_RETURN(pqxx::result result, Exec(tx, sql, params));
    return ReadAll(result, read, rows);
  }));
  return rows;
}

template <typename Row>
StatusOr<Page<Row>> QueryPage(PgPool& pool, std::string_view what,
                              const std::string& sql, const Params& params,
                              RowReader<Row> read, int position_column,
                              int limit) {
  Page<Row> page;
  JIT_RETURN_IF_ERROR(pool.Run(what, [&](pqxx::connection_base& db) {
    pqxx::nontransaction tx(db);
    JIT_ASSIGN_OR_RETURN(pqxx::result result, Exec(tx, sql, params));
    return ReadPage(result, read, position_column, limit, page);
  }));
  return page;
}

}  // namespace

StatusOr<Request> PostgresStore::GetRequest(const std::string& id) {
  JIT_ASSIGN_OR_RETURN(
      std::vector<Request> rows,
      QueryAll<Request>(pool_, "get request",
                        SelectSql("requests", kRequestColumns, "WHERE id = $1"),
                        {Text(id)}, &ReadRequest));
  if (rows.empty()) return NotFoundError("no request " + id);
  return std::move(rows.front());
}

StatusOr<Grant> PostgresStore::GetGrant(const std::string& id) {
  JIT_ASSIGN_OR_RETURN(
      std::vector<Grant> rows,
      QueryAll<Grant>(pool_, "get grant",
                      SelectSql("grants", kGrantColumns, "WHERE id = $1"),
                      {Text(id)}, &ReadGrant));
  if (rows.empty()) return NotFoundError("no grant " + id);
  return std::move(rows.front());
}

StatusOr<Page<Request>> PostgresStore::ListRequests(const RequestFilter& f) {
  JIT_ASSIGN_OR_RETURN(int64_t after, DecodeCursor(f.after));
  int limit = ClampPageLimit(f.limit);
  Params params = {Int(after), std::nullopt, std::nullopt, Int(limit + 1)};
  if (f.state) params[1] = Text(ToString(*f.state));
  if (f.subject) params[2] = Text(*f.subject);
  return QueryPage<Request>(
      pool_, "list requests",
      SelectSql("requests", kRequestColumns,
                "WHERE ord > $1 AND ($2::text IS NULL OR state = $2) "
                "AND ($3::text IS NULL OR subject = $3) "
                "ORDER BY ord LIMIT $4"),
      params, &ReadRequest, kRequestColumnCount, limit);
}

StatusOr<Page<Grant>> PostgresStore::ListGrants(const GrantFilter& f) {
  JIT_ASSIGN_OR_RETURN(int64_t after, DecodeCursor(f.after));
  int limit = ClampPageLimit(f.limit);
  Params params = {Int(after), std::nullopt, Bool(f.active_only),
                   Int(limit + 1)};
  if (f.subject) params[1] = Text(*f.subject);
  return QueryPage<Grant>(
      pool_, "list grants",
      SelectSql("grants", kGrantColumns,
                "WHERE ord > $1 AND ($2::text IS NULL OR subject = $2) "
                "AND (NOT $3::boolean OR state <> " +
                    Quoted(ToString(GrantState::kEnded)) +
                    ") ORDER BY ord LIMIT $4"),
      params, &ReadGrant, kGrantColumnCount, limit);
}

StatusOr<Credential> PostgresStore::GetCredential(CredentialKind kind,
                                                  const std::string& id) {
  JIT_ASSIGN_OR_RETURN(
      std::vector<Credential> rows,
      QueryAll<Credential>(pool_, "get credential",
                           SelectSql("credentials", kCredentialColumns,
                                     "WHERE kind = $1 AND id = $2"),
                           {Text(ToString(kind)), Text(id)}, &ReadCredential));
  if (rows.empty()) {
    return NotFoundError("no " + std::string(ToString(kind)) + " " + id);
  }
  return std::move(rows.front());
}

StatusOr<Credential> PostgresStore::FindCredentialBySecret(
    const std::string& secret_sha256) {
  JIT_ASSIGN_OR_RETURN(
      std::vector<Credential> rows,
      QueryAll<Credential>(pool_, "find credential",
                           SelectSql("credentials", kCredentialColumns,
                                     "WHERE secret_sha256 = $1"),
                           {Text(secret_sha256)}, &ReadCredential));
  if (rows.empty()) return NotFoundError("no credential with this secret");
  return std::move(rows.front());
}

StatusOr<std::vector<Credential>> PostgresStore::ListCredentials(
    CredentialKind kind) {
  return QueryAll<Credential>(pool_, "list credentials",
                              SelectSql("credentials", kCredentialColumns,
                                        "WHERE kind = $1 ORDER BY ord"),
                              {Text(ToString(kind))}, &ReadCredential);
}

StatusOr<EmergencyReview> PostgresStore::GetReview(
    const std::string& request_id) {
  JIT_ASSIGN_OR_RETURN(
      std::vector<EmergencyReview> rows,
      QueryAll<EmergencyReview>(
          pool_, "get review",
          SelectSql("reviews", kReviewColumns, "WHERE request_id = $1"),
          {Text(request_id)}, &ReadReview));
  if (rows.empty()) return NotFoundError("no review of request " + request_id);
  return std::move(rows.front());
}

StatusOr<std::vector<EmergencyReview>> PostgresStore::ListReviews(
    std::optional<ReviewState> state, int limit) {
  return QueryAll<EmergencyReview>(
      pool_, "list reviews",
      SelectSql("reviews", kReviewColumns,
                "WHERE ($1 = '' OR state = $1) ORDER BY ord DESC LIMIT $2"),
      {Text(state ? ToString(*state) : std::string_view()),
       Int(std::max(limit, 0))},
      &ReadReview);
}

StatusOr<std::vector<Approval>> PostgresStore::ListApprovals(
    const std::string& request_id) {
  return QueryAll<Approval>(pool_, "list approvals",
                            SelectSql("approvals", kApprovalColumns,
                                      "WHERE request_id = $1 ORDER BY ord"),
                            {Text(request_id)}, &ReadApproval);
}

StatusOr<std::vector<Request>> PostgresStore::RequestsOfGrant(
    const std::string& grant_id) {
  return QueryAll<Request>(
      pool_, "requests of grant",
      SelectSql("requests", kRequestColumns,
                "WHERE grant_id = $1 AND state = " +
                    Quoted(ToString(RequestState::kActive)) + " ORDER BY ord"),
      {Text(grant_id)}, &ReadRequest);
}

// The Due* queries name the states as literals (our own constants) so the
// planner matches the partial indexes of migration 1.
StatusOr<std::vector<Grant>> PostgresStore::DueRevokes(SystemTime now,
                                                       int limit) {
  if (limit <= 0) return std::vector<Grant>{};
  return QueryAll<Grant>(
      pool_, "due revokes",
      SelectSql("grants", kGrantColumns,
                "WHERE (state = " + Quoted(ToString(GrantState::kActive)) +
                    " AND expires_at <= $1) OR (state = " +
                    Quoted(ToString(GrantState::kRevokePending)) +
                    " AND (next_attempt_at IS NULL OR next_attempt_at <= $1))"
                    " ORDER BY ord LIMIT $2"),
      {Time(now), Int(limit)}, &ReadGrant);
}

StatusOr<std::vector<Grant>> PostgresStore::ClaimDueRevokes(
    SystemTime now, int limit, std::chrono::milliseconds lease) {
  if (limit <= 0) return std::vector<Grant>{};
  std::string returning;
  for (std::string_view column : SplitColumns(kGrantColumns)) {
    returning += "g." + std::string(column) + ", ";
  }
  const std::string unclaimed =
      "(next_attempt_at IS NULL OR next_attempt_at <= $1)";
  const std::string sql =
      "WITH due AS (SELECT id FROM grants WHERE (state = " +
      Quoted(ToString(GrantState::kActive)) + " AND expires_at <= $1 AND " +
      unclaimed +
      ") OR (state = " + Quoted(ToString(GrantState::kRevokePending)) +
      " AND " + unclaimed +
      ") ORDER BY ord LIMIT $2 FOR UPDATE SKIP LOCKED) "
      "UPDATE grants g SET next_attempt_at = $3, "
      "generation = g.generation + 1 FROM due WHERE g.id = due.id "
      "RETURNING " +
      returning + "g.ord";
  std::vector<std::pair<int64_t, Grant>> claimed;
  JIT_RETURN_IF_ERROR(
      pool_.Run("claim due revokes", [&](pqxx::connection_base& db) {
        claimed.clear();
        pqxx::work tx(db);
        JIT_ASSIGN_OR_RETURN(
            pqxx::result result,
            Exec(tx, sql, {Time(now), Int(limit), Time(now + lease)}));
        for (const pqxx::row& row : result) {
          JIT_ASSIGN_OR_RETURN(Grant g, ReadGrant(row));
          claimed.emplace_back(Int(row[kGrantColumnCount]), std::move(g));
        }
        tx.commit();
        return OkStatus();
      }));
  std::sort(claimed.begin(), claimed.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<Grant> out;
  out.reserve(claimed.size());
  for (auto& [ord, g] : claimed) out.push_back(std::move(g));
  return out;
}

StatusOr<std::vector<Request>> PostgresStore::DueActivations(SystemTime now,
                                                             int limit) {
  if (limit <= 0) return std::vector<Request>{};
  return QueryAll<Request>(
      pool_, "due activations",
      SelectSql("requests", kRequestColumns,
                "WHERE state = " + Quoted(ToString(RequestState::kApproved)) +
                    " AND (start_at IS NULL OR start_at <= $1) "
                    "ORDER BY ord LIMIT $2"),
      {Time(now), Int(limit)}, &ReadRequest);
}

StatusOr<std::vector<Request>> PostgresStore::DueTimeouts(SystemTime now,
                                                          int limit) {
  if (limit <= 0) return std::vector<Request>{};
  return QueryAll<Request>(
      pool_, "due timeouts",
      SelectSql("requests", kRequestColumns,
                "WHERE state = " + Quoted(ToString(RequestState::kPending)) +
                    " AND approval_deadline <= $1 ORDER BY ord LIMIT $2"),
      {Time(now), Int(limit)}, &ReadRequest);
}

StatusOr<std::vector<Grant>> PostgresStore::ActiveGrants() {
  return QueryAll<Grant>(
      pool_, "active grants",
      SelectSql("grants", kGrantColumns,
                "WHERE state = " + Quoted(ToString(GrantState::kActive)) +
                    " ORDER BY ord"),
      {}, &ReadGrant);
}

StatusOr<std::vector<AuditEvent>> PostgresStore::ReadAudit(int64_t after_seq,
                                                           int limit) {
  if (limit <= 0) return std::vector<AuditEvent>{};
  return QueryAll<AuditEvent>(
      pool_, "read audit",
      "SELECT " + std::string(kAuditColumns) +
          " FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
      {Int(after_seq), Int(limit)}, &ReadEvent);
}

StatusOr<IdempotentResponse> PostgresStore::GetIdempotent(
    const std::string& principal, const std::string& route,
    const std::string& key) {
  std::optional<IdempotentResponse> found;
  JIT_RETURN_IF_ERROR(
      pool_.Run("get idempotent response", [&](pqxx::connection_base& db) {
        pqxx::nontransaction tx(db);
        JIT_ASSIGN_OR_RETURN(
            pqxx::result r,
            Exec(tx,
                 "SELECT http_status, body, at FROM idempotency "
                 "WHERE principal = $1 AND route = $2 AND idem_key = $3",
                 {Text(principal), Text(route), Text(key)}));
        if (r.empty()) return OkStatus();
        found = IdempotentResponse{key,          principal,
                                   route,        static_cast<int>(Int(r[0][0])),
                                   Str(r[0][1]), Time(r[0][2])};
        return OkStatus();
      }));
  if (!found) {
    return NotFoundError("no stored response for this idempotency key");
  }
  return std::move(*found);
}

Status PostgresStore::PutIdempotent(const IdempotentResponse& r) {
  return pool_.Run("put idempotent response", [&](pqxx::connection_base& db) {
    pqxx::work tx(db);
    try {
      JIT_RETURN_IF_ERROR(
          Exec(tx,
               "INSERT INTO idempotency (principal, route, idem_key, "
               "http_status, body, at) VALUES ($1, $2, $3, $4, $5, $6)",
               {Text(r.principal), Text(r.route), Text(r.key),
                Int(r.http_status), Text(r.body), Time(r.at)})
              .status());
    } catch (const pqxx::unique_violation&) {
      return AlreadyExistsError(
          "a response is stored for this idempotency key");
    }
    tx.commit();
    return OkStatus();
  });
}

}  // namespace jit
