#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/environment.h"
#include "jit/base/status.h"
#include "jit/connectors/connector.h"
#include "jit/connectors/postgres/pg_connection.h"

namespace jit {

// What `type: postgres` connects to and may hand out.
struct PostgresConnectorConfig {
  std::string name;
  // libpq connection string or postgresql:// URI, without a password.
  std::string dsn;
  // Read from `password_file` (first line) when given.
  std::optional<std::string> password;
  // The only roles entitlements may grant; also what Discover() lists.
  std::vector<std::string> managed_roles;
  // Bound of each connection attempt and statement (statement_timeout).
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  // Read pgaudit records from the server's jsonlog in ActivitySince().
  bool pgaudit = false;
};

// Reads and checks a `type: postgres` entry. Keys: name, type, dsn
// (required), managed_roles (required, non-empty, valid role names),
// timeout (duration text, default 5s), password_file (absolute path, read
// now), pgaudit (bool); `discovery` belongs to the server and is ignored.
// A password inside the DSN is refused (use password_file).
// kInvalidArgument "ORIGIN: ..." otherwise.
StatusOr<PostgresConnectorConfig> ParsePostgresConnectorConfig(
    const ConnectorConfig& config);

// Whether `name` is a role name this connector accepts: 1 to 63 bytes,
// starting with a letter or `_`, then letters, digits, `_`, `$`, `.`, `-`,
// `@`; not starting with `pg_` (reserved by PostgreSQL). Names are used
// exactly as written (quoted, so case-sensitive), never folded.
bool IsAcceptableRoleName(std::string_view name);

// Grants membership in PostgreSQL roles (`managed_roles`) to database users.
//
// Entitlement params: `role` (required, one of managed_roles); `login`
// (optional bool). Without `login`, the user must already exist and gets
// `GRANT role TO user`. With `login: true` jitd creates the user as a
// temporary login role, `CREATE ROLE user LOGIN VALID UNTIL '<expires_at
// UTC>' IN ROLE role`, marked as jitd's by a COMMENT ON ROLE, so PostgreSQL
// itself refuses password logins after expiry; a later Grant moves VALID
// UNTIL (extension). An existing role not made by jitd is never turned
// into a login role.
//
// Revoke: REVOKE, then (login mode, when the user holds no other role)
// NOLOGIN, then pg_terminate_backend on every backend of the user, then
// (login mode) DROP ROLE of jitd's role when it has no backends left and
// owns nothing. Sessions are the user's client backends, id = pid; the
// connector's own backends are never listed or ended. Revoke and
// KillSessions refuse the connector's own login (kInvalidArgument, as Grant
// does) and, in login mode, leave a role jitd did not make alone (OK,
// nothing done): Grant never gave such roles anything, so the cleanup after
// its refusal must not take anything from them.
//
// One membership per user and role: two live grants of the same role to the
// same user share it, and revoking either removes it (documented limitation,
// PostgresConnectorTest.TwoGrantsOfOneRoleShareOneMembership).
//
// Every call opens its own connection, bounded by min(deadline, now +
// timeout) per step. Thread-safe (no mutable state).
//
// Errors: kInvalidArgument = bad params or hostile names (nothing sent to
// the server); kFailedPrecondition = the database refuses what the grant
// needs (user missing, role not jitd's); kUnavailable = server unreachable
// or a statement failed (retry); kDeadlineExceeded = out of time (retry).
class PostgresConnector final : public Connector {
 public:
  explicit PostgresConnector(PostgresConnectorConfig config);

  Status Grant(const GrantSpec& g, Deadline deadline) override;
  Status Revoke(const GrantSpec& g, Deadline deadline) override;
  StatusOr<bool> IsActive(const GrantSpec& g, Deadline deadline) override;
  StatusOr<std::vector<Session>> ListSessions(const GrantSpec& g,
                                              Deadline deadline) override;
  StatusOr<std::vector<Session>> KillSessions(const GrantSpec& g,
                                              Deadline deadline) override;

  bool CanDiscover() const override { return true; }
  // Every direct member of a managed role except the connector's own
  // login. privilege = role name.
  StatusOr<std::vector<Holding>> Discover(Deadline deadline) override;
  // Same user and same role.
  bool Covers(const GrantSpec& g, const Holding& h) const override;
  // Same account and role: one membership (or one login role) in the server.
  bool SharesPrivilege(const GrantSpec& a, const GrantSpec& b) const override;
  // REVOKE + terminate the holder's backends. kInvalidArgument when the
  // holding names a role that is not managed.
  Status RevokeHolding(const Holding& h, Deadline deadline) override;
  // pgaudit statements of the target user at or after `since` (log
  // precision: milliseconds), read from the tail (16 MiB) of the server's
  // current jsonlog file (current_logfiles + pg_read_file). Empty when
  // `pgaudit` is off.
  // kFailedPrecondition when jsonlog is not enabled.
  StatusOr<std::vector<Activity>> ActivitySince(const GrantSpec& g,
                                                SystemTime since,
                                                Deadline deadline) override;

 private:
  struct Target;  // the checked user and role of a grant
  StatusOr<Target> TargetOf(const GrantSpec& g) const;
  StatusOr<PgConnection> Open(Deadline deadline) const;
  Deadline StepDeadline(Deadline deadline) const;
  Status GrantMembership(PgConnection& conn, const Target& t,
                         Deadline deadline) const;
  Status GrantLogin(PgConnection& conn, const Target& t, SystemTime expires_at,
                    Deadline deadline) const;
  Status RevokeTarget(PgConnection& conn, const Target& t,
                      Deadline deadline) const;
  StatusOr<std::vector<Session>> Backends(PgConnection& conn,
                                          const std::string& user,
                                          Deadline deadline) const;
  StatusOr<std::vector<Session>> Terminate(PgConnection& conn,
                                           const std::string& user,
                                           Deadline deadline) const;
  Status Error(StatusCode code, std::string_view message) const;
  Status OwnLoginError() const;

  const PostgresConnectorConfig config_;
};

// ConnectorFactory for `type: postgres`.
StatusOr<std::unique_ptr<Connector>> MakePostgresConnector(
    const ConnectorConfig& config, const Environment& env);

}  // namespace jit
