#include "jit/connectors/postgres/postgres_connector.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <utility>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/connectors/common/config_json.h"
#include "jit/connectors/common/params.h"
#include "jit/connectors/postgres/pgaudit_log.h"

namespace jit {
namespace {

using namespace std::chrono_literals;

const std::vector<std::string> kKnownKeys = {
    "name",    "type",          "dsn",     "managed_roles",
    "timeout", "password_file", "pgaudit", "discovery"};
const std::set<std::string> kKnownParams = {"role", "login", "user"};

constexpr size_t kMaxNameBytes = 63;  // NAMEDATALEN - 1
constexpr size_t kMaxActivityText = 4096;
constexpr int64_t kMaxLogBytes = 16 << 20;  // tail of the jsonlog read per call
// What marks a login role as made by jitd (COMMENT ON ROLE). Only such
// roles are altered or dropped; anything else is left alone.
constexpr char kLoginMarker[] = "jitd: temporary login role";
constexpr auto kKillWaitMax = 10s;  // THREATS T12: sessions end within 10 s
constexpr auto kKillPoll = 50ms;

// SQLSTATEs the connector reacts to.
constexpr char kDuplicateObject[] = "42710";
constexpr char kDependentObjects[] = "2BP01";
constexpr char kInsufficientPrivilege[] = "42501";

bool NameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$' ||
         c == '.' || c == '-' || c == '@';
}

// The time as PostgreSQL reads it with an explicit UTC offset, whatever the
// session or process TimeZone (THREATS T26).
std::string PgUtcLiteralText(SystemTime t) {
  std::string text = FormatTime(t);  // ...T19:00:00.000Z
  if (!text.empty() && text.back() == 'Z') text.pop_back();
  return text + "+00";
}

StatusOr<std::string> ReadPasswordFile(const ConnectorConfigReader& reader,
                                       const std::string& path) {
  if (path.empty() || path[0] != '/') {
    return reader.Error("\"password_file\" must be an absolute path");
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return reader.Error(fmt::format("\"password_file\": cannot read \"{}\": {}",
                                    path, std::strerror(errno)));
  }
  if (!S_ISREG(st.st_mode)) {
    return reader.Error(
        fmt::format("\"password_file\": \"{}\" is not a regular file", path));
  }
  // The rule libpq applies to ~/.pgpass: a password others can read is no
  // secret, and one others can write is not the operator's.
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return reader.Error(fmt::format(
        "\"password_file\": \"{}\" is accessible by group or others "
        "(chmod 600 it)",
        path));
  }
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) {
    return reader.Error(
        fmt::format("\"password_file\": cannot read \"{}\"", path));
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
    line.pop_back();
  if (line.empty()) {
    return reader.Error(
        fmt::format("\"password_file\": \"{}\" is empty", path));
  }
  return line;
}

Status CheckDsn(const ConnectorConfigReader& reader, const std::string& dsn) {
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse(dsn.c_str(), &err);
  if (opts == nullptr) {
    std::string why = err == nullptr ? "out of memory" : err;
    if (err != nullptr) PQfreemem(err);
    while (!why.empty() && why.back() == '\n') why.pop_back();
    return reader.Error(
        fmt::format("\"dsn\" is not a valid connection "
                    "string: {}",
                    why));
  }
  bool has_password = false;
  for (PQconninfoOption* o = opts; o->keyword != nullptr; ++o) {
    if (std::string_view(o->keyword) == "password" && o->val != nullptr &&
        *o->val != '\0') {
      has_password = true;
    }
  }
  PQconninfoFree(opts);
  if (has_password) {
    return reader.Error(
        "\"dsn\" must not contain a password; use \"password_file\"");
  }
  return OkStatus();
}

StatusOr<std::vector<std::string>> ReadManagedRoles(
    const ConnectorConfigReader& reader) {
  JIT_ASSIGN_OR_RETURN(std::optional<std::vector<std::string>> roles,
                       reader.StringList("managed_roles"));
  if (!roles || roles->empty()) {
    return reader.Error("\"managed_roles\" must list at least one role");
  }
  std::set<std::string> seen;
  for (const std::string& r : *roles) {
    if (!IsAcceptableRoleName(r)) {
      return reader.Error(fmt::format(
          "\"managed_roles\": \"{}\" is not an acceptable role name", r));
    }
    if (!seen.insert(r).second) {
      return reader.Error(
          fmt::format("\"managed_roles\": \"{}\" is listed twice", r));
    }
  }
  return *std::move(roles);
}

StatusOr<std::chrono::milliseconds> ReadTimeout(
    const ConnectorConfigReader& reader) {
  JIT_ASSIGN_OR_RETURN(std::optional<Duration> d,
                       reader.DurationValue("timeout"));
  if (!d) return std::chrono::milliseconds(5s);
  return *d;
}

// What the server shows about one role, read in one query.
struct RoleInfo {
  bool can_login = false;
  bool made_by_jitd = false;
  bool member = false;        // direct member of the grant's role
  int64_t memberships = 0;    // direct memberships in any role
  bool valid_now = false;     // VALID UNTIL unset or in the future
  bool is_connector = false;  // the connector's own login
};

constexpr char kRoleInfoSql[] = R"sql(
SELECT r.rolcanlogin,
       COALESCE(shobj_description(r.oid, 'pg_authid'), '') = $3,
       EXISTS (SELECT 1 FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
               WHERE m.member = r.oid AND g.rolname = $2),
       (SELECT count(*) FROM pg_auth_members m WHERE m.member = r.oid),
       r.rolvaliduntil IS NULL OR r.rolvaliduntil > now(),
       r.rolname = current_user
FROM pg_roles r WHERE r.rolname = $1)sql";

constexpr char kBackendsSql[] = R"sql(
SELECT pid,
       COALESCE(application_name, ''),
       COALESCE(to_char(backend_start AT TIME ZONE 'UTC',
                        'YYYY-MM-DD"T"HH24:MI:SS"Z"'), ''),
       COALESCE(host(client_addr), '')
FROM pg_stat_activity
WHERE usename = $1 AND usename <> current_user AND pid <> pg_backend_pid()
ORDER BY pid)sql";

constexpr char kDiscoverSql[] = R"sql(
SELECT m.rolname, g.rolname, m.rolcanlogin, am.admin_option,
       COALESCE(gr.rolname, '')
FROM pg_auth_members am
JOIN pg_roles g ON g.oid = am.roleid
JOIN pg_roles m ON m.oid = am.member
LEFT JOIN pg_roles gr ON gr.oid = am.grantor
WHERE g.rolname IN (SELECT json_array_elements_text($1::json))
  AND m.rolname <> current_user
ORDER BY 2, 1)sql";

// Log lines' local times (log_timezone) to Unix milliseconds, by the
// server, with the zone's full name: its abbreviations are ambiguous.
constexpr char kLogTimesSql[] = R"sql(
SELECT (extract(epoch FROM (t::timestamp AT TIME ZONE $2)) * 1000)::bigint
FROM json_array_elements_text($1::json) WITH ORDINALITY AS u(t, n)
ORDER BY n)sql";

// The jsonlog file named in the server's current_logfiles text
// ("stderr log/x.log\njsonlog log/x.json\n"), relative to the data dir.
std::optional<std::string> JsonlogFile(std::string_view current_logfiles) {
  constexpr std::string_view kPrefix = "jsonlog ";
  while (!current_logfiles.empty()) {
    size_t nl = current_logfiles.find('\n');
    std::string_view line = current_logfiles.substr(0, nl);
    current_logfiles = nl == std::string_view::npos
                           ? std::string_view()
                           : current_logfiles.substr(nl + 1);
    if (line.substr(0, kPrefix.size()) == kPrefix &&
        line.size() > kPrefix.size()) {
      return std::string(line.substr(kPrefix.size()));
    }
  }
  return std::nullopt;
}

bool Truthy(const PgResult& r, int row, int col) {
  return r.Get(row, col) == "t";
}

// An integer column; kUnavailable when the server sent something else.
StatusOr<int64_t> IntColumn(const PgResult& r, int row, int col) {
  std::string text = r.Get(row, col);
  int64_t value = 0;
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    return UnavailableError("postgres: expected an integer, got \"" + text +
                            "\"");
  }
  return value;
}

// The role `user` as the server shows it; nullopt when it does not exist.
StatusOr<std::optional<RoleInfo>> ReadRoleInfo(PgConnection& conn,
                                               const std::string& user,
                                               const std::string& role,
                                               Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(PgResult res,
                       conn.Exec("role info", kRoleInfoSql,
                                 {user, role, kLoginMarker}, deadline));
  if (res.rows() == 0) return std::optional<RoleInfo>();
  RoleInfo info;
  info.can_login = Truthy(res, 0, 0);
  info.made_by_jitd = Truthy(res, 0, 1);
  info.member = Truthy(res, 0, 2);
  JIT_ASSIGN_OR_RETURN(info.memberships, IntColumn(res, 0, 3));
  info.valid_now = Truthy(res, 0, 4);
  info.is_connector = Truthy(res, 0, 5);
  return std::optional<RoleInfo>(info);
}

}  // namespace

bool IsAcceptableRoleName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes) return false;
  unsigned char first = static_cast<unsigned char>(name[0]);
  if (!std::isalpha(first) && name[0] != '_') return false;
  if (name.substr(0, 3) == "pg_") return false;
  return std::all_of(name.begin(), name.end(), NameChar);
}

StatusOr<PostgresConnectorConfig> ParsePostgresConnectorConfig(
    const ConnectorConfig& config) {
  JIT_ASSIGN_OR_RETURN(ConnectorConfigReader reader,
                       ConnectorConfigReader::Parse(config, kKnownKeys));
  JIT_RETURN_IF_ERROR(reader.String("name").status());
  JIT_RETURN_IF_ERROR(reader.String("type").status());
  PostgresConnectorConfig out;
  out.name = config.name;
  JIT_ASSIGN_OR_RETURN(std::optional<std::string> dsn, reader.String("dsn"));
  if (!dsn || dsn->empty()) return reader.Error("\"dsn\" is required");
  JIT_RETURN_IF_ERROR(CheckDsn(reader, *dsn));
  out.dsn = *dsn;
  JIT_ASSIGN_OR_RETURN(out.managed_roles, ReadManagedRoles(reader));
  JIT_ASSIGN_OR_RETURN(out.timeout, ReadTimeout(reader));
  JIT_ASSIGN_OR_RETURN(std::optional<std::string> password_file,
                       reader.String("password_file"));
  if (password_file) {
    JIT_ASSIGN_OR_RETURN(out.password,
                         ReadPasswordFile(reader, *password_file));
  }
  JIT_ASSIGN_OR_RETURN(std::optional<bool> pgaudit, reader.Bool("pgaudit"));
  out.pgaudit = pgaudit.value_or(false);
  return out;
}

struct PostgresConnector::Target {
  std::string user;
  std::string role;
  bool login = false;
};

PostgresConnector::PostgresConnector(PostgresConnectorConfig config)
    : config_(std::move(config)) {}

Status PostgresConnector::Error(StatusCode code,
                                std::string_view message) const {
  return Status(code,
                fmt::format("connector \"{}\": {}", config_.name, message));
}

Status PostgresConnector::OwnLoginError() const {
  return Error(StatusCode::kInvalidArgument,
               "the target user is the connector's own login");
}

StatusOr<PostgresConnector::Target> PostgresConnector::TargetOf(
    const GrantSpec& g) const {
  for (const auto& [name, value] : g.params_json) {
    if (kKnownParams.count(name) == 0) {
      return Error(StatusCode::kInvalidArgument,
                   fmt::format("unknown param \"{}\" (known: login, role, "
                               "user)",
                               name));
    }
  }
  Target t;
  t.user = g.target_user.empty() ? g.subject : g.target_user;
  StatusOr<std::string> role = GetStringParam(g, "role");
  if (!role.ok())
    return Error(StatusCode::kInvalidArgument, role.status().message());
  t.role = *role;
  if (HasParam(g, "login")) {
    StatusOr<std::string> login = GetParamText(g, "login");
    if (!login.ok() || (*login != "true" && *login != "false")) {
      return Error(StatusCode::kInvalidArgument,
                   "param \"login\" must be true or false");
    }
    t.login = *login == "true";
  }
  const auto& managed = config_.managed_roles;
  if (std::find(managed.begin(), managed.end(), t.role) == managed.end()) {
    return Error(StatusCode::kInvalidArgument,
                 fmt::format("role \"{}\" is not in managed_roles", t.role));
  }
  if (!IsAcceptableRoleName(t.user)) {
    return Error(StatusCode::kInvalidArgument,
                 fmt::format("user name \"{}\" is not acceptable (letters, "
                             "digits, _ $ . - @, at most 63 bytes)",
                             t.user));
  }
  if (std::find(managed.begin(), managed.end(), t.user) != managed.end()) {
    return Error(StatusCode::kInvalidArgument,
                 fmt::format("user \"{}\" is a managed role", t.user));
  }
  return t;
}

Deadline PostgresConnector::StepDeadline(Deadline deadline) const {
  return std::min(deadline, std::chrono::steady_clock::now() + config_.timeout);
}

StatusOr<PgConnection> PostgresConnector::Open(Deadline deadline) const {
  if (std::chrono::steady_clock::now() >= deadline) {
    return Error(StatusCode::kDeadlineExceeded, "deadline already passed");
  }
  std::vector<std::pair<std::string, std::string>> params = {
      {"dbname", config_.dsn}, {"fallback_application_name", "jitd"}};
  if (config_.password) params.emplace_back("password", *config_.password);
  StatusOr<PgConnection> conn =
      PgConnection::Connect(params, StepDeadline(deadline));
  if (!conn.ok())
    return conn.status().WithContext(
        fmt::format("connector \"{}\"", config_.name));
  // The server bounds what a given-up statement may still do.
  const int64_t ms = config_.timeout.count();
  StatusOr<PgResult> set = conn->Exec(
      "session limits",
      fmt::format("SELECT set_config('statement_timeout', '{0}', false), "
                  "set_config('lock_timeout', '{0}', false)",
                  ms),
      {}, StepDeadline(deadline));
  if (!set.ok()) return set.status();
  return conn;
}

Status PostgresConnector::GrantMembership(PgConnection& conn, const Target& t,
                                          Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(std::string user, conn.QuoteIdentifier(t.user));
  JIT_ASSIGN_OR_RETURN(std::string role, conn.QuoteIdentifier(t.role));
  JIT_RETURN_IF_ERROR(conn.Exec("grant",
                                fmt::format("GRANT {} TO {}", role, user), {},
                                StepDeadline(deadline))
                          .status());
  return OkStatus();
}

Status PostgresConnector::GrantLogin(PgConnection& conn, const Target& t,
                                     SystemTime expires_at,
                                     Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(std::string user, conn.QuoteIdentifier(t.user));
  JIT_ASSIGN_OR_RETURN(std::string role, conn.QuoteIdentifier(t.role));
  JIT_ASSIGN_OR_RETURN(std::string until,
                       conn.QuoteLiteral(PgUtcLiteralText(expires_at)));
  JIT_ASSIGN_OR_RETURN(std::string marker, conn.QuoteLiteral(kLoginMarker));
  // Two passes at most: a concurrent Grant may create the role between our
  // look and our CREATE; the second pass then finds it.
  for (int pass = 0; pass < 2; ++pass) {
    JIT_ASSIGN_OR_RETURN(
        std::optional<RoleInfo> info,
        ReadRoleInfo(conn, t.user, t.role, StepDeadline(deadline)));
    if (!info) {
      // One simple query = one transaction: the role never exists unmarked.
      JIT_ASSIGN_OR_RETURN(
          PgResult created,
          conn.RunScript(fmt::format("CREATE ROLE {} LOGIN VALID UNTIL {} IN "
                                     "ROLE {}; COMMENT ON ROLE {} IS {}",
                                     user, until, role, user, marker),
                         StepDeadline(deadline)));
      if (created.ok()) return OkStatus();
      if (created.sqlstate() == kDuplicateObject) continue;
      return Error(StatusCode::kUnavailable,
                   "create login role: " + created.error_message());
    }
    if (info->is_connector) return OwnLoginError();
    if (!info->made_by_jitd) {
      return Error(StatusCode::kFailedPrecondition,
                   fmt::format("role \"{}\" exists and was not created by "
                               "jitd; it is not made a temporary login",
                               t.user));
    }
    JIT_ASSIGN_OR_RETURN(
        PgResult altered,
        conn.RunScript(fmt::format("ALTER ROLE {} LOGIN VALID UNTIL {}; "
                                   "GRANT {} TO {}",
                                   user, until, role, user),
                       StepDeadline(deadline)));
    if (altered.ok()) return OkStatus();
    return Error(StatusCode::kUnavailable,
                 "extend login role: " + altered.error_message());
  }
  return Error(StatusCode::kUnavailable, "login role kept changing; retry");
}

Status PostgresConnector::Grant(const GrantSpec& g, Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(Target t, TargetOf(g));
  JIT_ASSIGN_OR_RETURN(PgConnection conn, Open(deadline));
  JIT_ASSIGN_OR_RETURN(
      PgResult role,
      conn.Exec("role lookup", "SELECT 1 FROM pg_roles WHERE rolname = $1",
                {t.role}, StepDeadline(deadline)));
  if (role.rows() == 0) {
    return Error(StatusCode::kFailedPrecondition,
                 fmt::format("managed role \"{}\" does not exist", t.role));
  }
  if (t.login) return GrantLogin(conn, t, g.expires_at, deadline);
  JIT_ASSIGN_OR_RETURN(
      std::optional<RoleInfo> info,
      ReadRoleInfo(conn, t.user, t.role, StepDeadline(deadline)));
  if (!info) {
    return Error(StatusCode::kFailedPrecondition,
                 fmt::format("user \"{}\" does not exist in the database "
                             "(create it, or use login: true)",
                             t.user));
  }
  if (info->is_connector) return OwnLoginError();
  return GrantMembership(conn, t, deadline);
}

StatusOr<std::vector<Session>> PostgresConnector::Backends(
    PgConnection& conn, const std::string& user, Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(PgResult res, conn.Exec("sessions", kBackendsSql, {user},
                                               StepDeadline(deadline)));
  std::vector<Session> out;
  for (int r = 0; r < res.rows(); ++r) {
    std::string started = res.Get(r, 2).empty() ? "?" : res.Get(r, 2);
    std::string from = res.Get(r, 3).empty() ? "local" : res.Get(r, 3);
    out.push_back(Session{
        res.Get(r, 0),
        fmt::format("backend {} of {} since {} app \"{}\" from {}",
                    res.Get(r, 0), user, started, res.Get(r, 1), from)});
  }
  return out;
}

StatusOr<std::vector<Session>> PostgresConnector::Terminate(
    PgConnection& conn, const std::string& user, Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(std::vector<Session> backends,
                       Backends(conn, user, deadline));
  std::set<std::string> signalled;
  for (const Session& s : backends) {
    // One statement per backend: one we may not signal (a superuser's)
    // must not keep the others alive.
    JIT_ASSIGN_OR_RETURN(
        PgResult res, conn.Run("SELECT pg_terminate_backend($1::int)", {s.id},
                               StepDeadline(deadline)));
    if (res.ok()) {
      signalled.insert(s.id);
    } else if (res.sqlstate() != kInsufficientPrivilege) {
      return Error(StatusCode::kUnavailable,
                   "terminate backend " + s.id + ": " + res.error_message());
    }
  }
  // Poll until the signalled backends are gone, keeping a fifth of the time
  // for the final look.
  const auto now = std::chrono::steady_clock::now();
  const auto wait_until = now + std::min<std::chrono::steady_clock::duration>(
                                    kKillWaitMax, (deadline - now) * 4 / 5);
  std::vector<Session> left = backends;
  while (!signalled.empty()) {
    JIT_ASSIGN_OR_RETURN(left, Backends(conn, user, deadline));
    bool any = std::any_of(left.begin(), left.end(), [&](const Session& s) {
      return signalled.count(s.id) > 0;
    });
    if (!any || std::chrono::steady_clock::now() + kKillPoll >= wait_until)
      break;
    std::this_thread::sleep_for(kKillPoll);
  }
  return Backends(conn, user, deadline);
}

Status PostgresConnector::RevokeTarget(PgConnection& conn, const Target& t,
                                       Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(std::string user, conn.QuoteIdentifier(t.user));
  JIT_ASSIGN_OR_RETURN(std::string role, conn.QuoteIdentifier(t.role));
  JIT_ASSIGN_OR_RETURN(
      std::optional<RoleInfo> info,
      ReadRoleInfo(conn, t.user, t.role, StepDeadline(deadline)));
  if (!info) return OkStatus();  // no such user: nothing held
  // Grant refuses the connector's own login, so nothing was granted to it;
  // ending "its" sessions would end jitd's own connections.
  if (info->is_connector) return OwnLoginError();
  // Login mode never granted anything to a role jitd did not make (Grant
  // refused it): the cleanup after that refusal must not touch it either.
  if (t.login && !info->made_by_jitd) return OkStatus();
  const bool member = info->member;
  const bool jitd_login = t.login && info->made_by_jitd;
  if (member) {
    JIT_RETURN_IF_ERROR(conn.Exec("revoke",
                                  fmt::format("REVOKE {} FROM {}", role, user),
                                  {}, StepDeadline(deadline))
                            .status());
  }
  const int64_t others = info->memberships - (member ? 1 : 0);
  const bool retire = jitd_login && others == 0;
  if (retire && info->can_login) {
    JIT_RETURN_IF_ERROR(conn.Exec("nologin",
                                  fmt::format("ALTER ROLE {} NOLOGIN", user),
                                  {}, StepDeadline(deadline))
                            .status());
  }
  JIT_ASSIGN_OR_RETURN(std::vector<Session> survivors,
                       Terminate(conn, t.user, deadline));
  // A dropped role's backends no longer show its name: drop only when none
  // are left, so KillSessions can still report survivors.
  if (!retire || !survivors.empty()) return OkStatus();
  JIT_ASSIGN_OR_RETURN(PgResult dropped,
                       conn.Run(fmt::format("DROP ROLE IF EXISTS {}", user), {},
                                StepDeadline(deadline)));
  if (dropped.ok() || dropped.sqlstate() == kDependentObjects) {
    return OkStatus();  // owning objects, it stays as a NOLOGIN role
  }
  return Error(StatusCode::kUnavailable,
               "drop login role: " + dropped.error_message());
}

Status PostgresConnector::Revoke(const GrantSpec& g, Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(Target t, TargetOf(g));
  JIT_ASSIGN_OR_RETURN(PgConnection conn, Open(deadline));
  return RevokeTarget(conn, t, deadline);
}

StatusOr<bool> PostgresConnector::IsActive(const GrantSpec& g,
                                           Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(Target t, TargetOf(g));
  JIT_ASSIGN_OR_RETURN(PgConnection conn, Open(deadline));
  JIT_ASSIGN_OR_RETURN(
      std::optional<RoleInfo> info,
      ReadRoleInfo(conn, t.user, t.role, StepDeadline(deadline)));
  if (!info) return false;
  const bool member = info->member;
  if (!t.login) return member;
  return member && info->can_login && info->valid_now;
}

StatusOr<std::vector<Session>> PostgresConnector::ListSessions(
    const GrantSpec& g, Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(Target t, TargetOf(g));
  JIT_ASSIGN_OR_RETURN(PgConnection conn, Open(deadline));
  return Backends(conn, t.user, deadline);
}

StatusOr<std::vector<Session>> PostgresConnector::KillSessions(
    const GrantSpec& g, Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(Target t, TargetOf(g));
  JIT_ASSIGN_OR_RETURN(PgConnection conn, Open(deadline));
  JIT_ASSIGN_OR_RETURN(
      std::optional<RoleInfo> info,
      ReadRoleInfo(conn, t.user, t.role, StepDeadline(deadline)));
  if (!info) return std::vector<Session>();  // no such user: no backends
  if (info->is_connector) return OwnLoginError();
  if (t.login && !info->made_by_jitd) return std::vector<Session>();
  return Terminate(conn, t.user, deadline);
}

StatusOr<std::vector<Holding>> PostgresConnector::Discover(Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(PgConnection conn, Open(deadline));
  nlohmann::json roles = config_.managed_roles;
  JIT_ASSIGN_OR_RETURN(PgResult res,
                       conn.Exec("discover", kDiscoverSql, {roles.dump()},
                                 StepDeadline(deadline)));
  std::vector<Holding> out;
  for (int r = 0; r < res.rows(); ++r) {
    Holding h;
    h.target_user = res.Get(r, 0);
    h.privilege = res.Get(r, 1);
    h.detail = fmt::format(
        "{} is a member of {}{}{}{}", h.target_user, h.privilege,
        Truthy(res, r, 2) ? " (login role)" : "",
        Truthy(res, r, 3) ? " with admin option" : "",
        res.Get(r, 4).empty() ? "" : ", granted by " + res.Get(r, 4));
    out.push_back(std::move(h));
  }
  return out;
}

bool PostgresConnector::Covers(const GrantSpec& g, const Holding& h) const {
  StatusOr<Target> t = TargetOf(g);
  return t.ok() && t->user == h.target_user && t->role == h.privilege;
}

bool PostgresConnector::SharesPrivilege(const GrantSpec& a,
                                        const GrantSpec& b) const {
  StatusOr<Target> ta = TargetOf(a);
  StatusOr<Target> tb = TargetOf(b);
  return ta.ok() && tb.ok() && ta->user == tb->user && ta->role == tb->role;
}

Status PostgresConnector::RevokeHolding(const Holding& h, Deadline deadline) {
  const auto& managed = config_.managed_roles;
  if (std::find(managed.begin(), managed.end(), h.privilege) == managed.end() ||
      !IsAcceptableRoleName(h.target_user)) {
    return Error(StatusCode::kInvalidArgument,
                 fmt::format("holding {} of \"{}\" is not a managed role "
                             "membership",
                             h.target_user, h.privilege));
  }
  JIT_ASSIGN_OR_RETURN(PgConnection conn, Open(deadline));
  return RevokeTarget(conn, Target{h.target_user, h.privilege, false},
                      deadline);
}

StatusOr<std::vector<Activity>> PostgresConnector::ActivitySince(
    const GrantSpec& g, SystemTime since, Deadline deadline) {
  if (std::chrono::steady_clock::now() >= deadline) {
    return Error(StatusCode::kDeadlineExceeded, "deadline already passed");
  }
  JIT_ASSIGN_OR_RETURN(Target t, TargetOf(g));
  if (!config_.pgaudit) return std::vector<Activity>();
  JIT_ASSIGN_OR_RETURN(PgConnection conn, Open(deadline));
  // current_logfiles (written by the logging collector) names the jsonlog
  // file. Only two functions are used, pg_read_file(text, bigint, bigint,
  // boolean) and pg_stat_file(text, boolean): EXECUTE on them is all a
  // login needs while log_directory is inside the data dir.
  JIT_ASSIGN_OR_RETURN(
      PgResult where,
      conn.Exec("log file",
                "SELECT pg_read_file('current_logfiles', 0, 65536, true), "
                "current_setting('log_timezone')",
                {}, StepDeadline(deadline)));
  std::optional<std::string> file = JsonlogFile(where.Get(0, 0));
  if (!file) {
    return Error(StatusCode::kFailedPrecondition,
                 "no jsonlog file (set log_destination = 'jsonlog' and "
                 "logging_collector = on)");
  }
  JIT_ASSIGN_OR_RETURN(
      PgResult stat,
      conn.Exec("log size", "SELECT (pg_stat_file($1, true)).size", {*file},
                StepDeadline(deadline)));
  if (stat.IsNull(0, 0)) return std::vector<Activity>();  // rotated away
  JIT_ASSIGN_OR_RETURN(const int64_t size, IntColumn(stat, 0, 0));
  const int64_t offset = std::max<int64_t>(0, size - kMaxLogBytes);
  JIT_ASSIGN_OR_RETURN(
      PgResult text,
      conn.Exec("read log",
                "SELECT pg_read_file($1, $2::bigint, $3::bigint, true)",
                {*file, std::to_string(offset), std::to_string(size - offset)},
                StepDeadline(deadline)));
  std::vector<PgauditLogEntry> entries = ParsePgauditJsonlog(
      text.Get(0, 0), t.user,
      offset == 0 ? LogStart::kLineStart : LogStart::kMidLine);
  if (entries.empty()) return std::vector<Activity>();
  nlohmann::json times = nlohmann::json::array();
  for (const PgauditLogEntry& e : entries) times.push_back(e.local_time);
  JIT_ASSIGN_OR_RETURN(PgResult ms, conn.Exec("log times", kLogTimesSql,
                                              {times.dump(), where.Get(0, 1)},
                                              StepDeadline(deadline)));
  if (ms.rows() != static_cast<int>(entries.size())) {
    return Error(StatusCode::kUnavailable, "log time conversion lost rows");
  }
  const SystemTime from = TruncateToMillis(since);
  std::vector<Activity> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    JIT_ASSIGN_OR_RETURN(int64_t unix_ms,
                         IntColumn(ms, static_cast<int>(i), 0));
    SystemTime at = FromUnixMillis(unix_ms);
    if (at < from) continue;
    out.push_back(
        Activity{at, "statement", entries[i].pid,
                 TruncateUtf8(entries[i].statement, kMaxActivityText)});
  }
  std::stable_sort(
      out.begin(), out.end(),
      [](const Activity& a, const Activity& b) { return a.at < b.at; });
  return out;
}

StatusOr<std::unique_ptr<Connector>> MakePostgresConnector(
    const ConnectorConfig& config, const Environment& /*env*/) {
  JIT_ASSIGN_OR_RETURN(PostgresConnectorConfig parsed,
                       ParsePostgresConnectorConfig(config));
  return std::unique_ptr<Connector>(
      std::make_unique<PostgresConnector>(std::move(parsed)));
}

}  // namespace jit
