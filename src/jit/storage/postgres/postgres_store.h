#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jit/storage/postgres/pg_pool.h"
#include "jit/storage/store.h"

namespace jit {

// The Store for several jitd replicas on one PostgreSQL (15 or later)
// database, through libpqxx.
//
// Schema: versioned migrations recorded in `schema_migrations` (one row per
// applied version). Open() applies each pending migration once, in its own
// transaction, under a transaction-scoped advisory lock, so replicas
// starting together migrate once; a database migrated by a newer jitd is
// refused. Times are stored as Unix milliseconds (BIGINT): exactly the
// precision the Store promises, with no time zone to get wrong. Audit rows
// are only ever inserted (triggers refuse UPDATE, DELETE and TRUNCATE).
//
// Commit is one READ COMMITTED transaction: compare-and-set writes are
// `UPDATE ... WHERE state = expected [AND generation = n - 1]`, so of racing
// writers (threads or replicas) one updates the row and the others, once it
// committed, match nothing: kAborted. Audit appends are serialized across
// every connection and process by a row lock on `audit_writer` taken after
// the other writes and held to COMMIT, so seq order is commit order and the
// chain stays linear. A transaction the server rolls back (deadlock,
// serialization failure) is retried a few times before kAborted.
//
// Due* queries are single-table `... ORDER BY ord LIMIT n` over partial
// indexes of the due states, so claiming them across replicas can add
// `FOR UPDATE SKIP LOCKED` without changing their shape.
//
// List cursors are creation positions (`ord`, from a sequence); a row
// inserted concurrently with a page read may get a lower position than one
// already seen and then not show up in that walk.
//
// Thread-safe (a small connection pool, see PgPool). Errors as Store, plus:
// kUnavailable when the server is unreachable or the connection was lost
// (the next call reconnects; a Commit whose COMMIT was cut off is reported
// kUnavailable although it may have been applied: a retry then gets
// kAborted or kAlreadyExists), kInvalidArgument for a value PostgreSQL
// cannot store (text that is not UTF-8 or holds NUL).
class PostgresStore final : public Store {
 public:
  // Every Commit that writes a grant (insert or update) sends, in the same
  // transaction, `NOTIFY jitd_grants, '<grant id>'`: listeners learn of it
  // once it is committed, and never of a rolled-back change. The payload
  // is only a hint: a listener re-reads the grant.
  static constexpr std::string_view kGrantChannel = "jitd_grants";

  // The schema version this code writes (the last migration).
  static constexpr int kSchemaVersion = 4;

  // Connects to `dsn` (libpq key=value or URI; see WithConnectDefaults) and
  // brings the schema up to kSchemaVersion. Errors: kUnavailable (cannot
  // connect, a migration failed: nothing of it applied);
  // kFailedPrecondition when the database was migrated by a newer jitd.
  static StatusOr<std::unique_ptr<PostgresStore>> Open(
      const std::string& dsn, PgPoolOptions options = {});

  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

  // The highest applied migration (0 for an empty database).
  StatusOr<int> SchemaVersion();

  Status Commit(ChangeSet& cs) override;
  StatusOr<Request> GetRequest(const std::string& id) override;
  StatusOr<Grant> GetGrant(const std::string& id) override;
  StatusOr<Page<Request>> ListRequests(const RequestFilter& f) override;
  StatusOr<Page<Grant>> ListGrants(const GrantFilter& f) override;
  StatusOr<std::vector<Approval>> ListApprovals(
      const std::string& request_id) override;
  StatusOr<std::vector<Request>> RequestsOfGrant(
      const std::string& grant_id) override;
  StatusOr<std::vector<Grant>> DueRevokes(SystemTime now, int limit) override;
  // One transaction: `SELECT ... FOR UPDATE SKIP LOCKED` picks due grants
  // no other claimer is locking or holds, an UPDATE marks them, COMMIT;
  // replicas claiming at once get disjoint sets without waiting.
  StatusOr<std::vector<Grant>> ClaimDueRevokes(
      SystemTime now, int limit, std::chrono::milliseconds lease) override;
  StatusOr<std::vector<Request>> DueActivations(SystemTime now,
                                                int limit) override;
  StatusOr<std::vector<Request>> DueTimeouts(SystemTime now,
                                             int limit) override;
  StatusOr<std::vector<Grant>> ActiveGrants() override;
  StatusOr<std::vector<AuditEvent>> ReadAudit(int64_t after_seq,
                                              int limit) override;
  StatusOr<AuditHead> GetAuditHead() override;
  StatusOr<Credential> GetCredential(CredentialKind kind,
                                     const std::string& id) override;
  StatusOr<Credential> FindCredentialBySecret(
      const std::string& secret_sha256) override;
  StatusOr<std::vector<Credential>> ListCredentials(
      CredentialKind kind) override;
  StatusOr<EmergencyReview> GetReview(const std::string& request_id) override;
  StatusOr<std::vector<EmergencyReview>> ListReviews(
      std::optional<ReviewState> state, int limit) override;
  StatusOr<IdempotentResponse> GetIdempotent(const std::string& principal,
                                             const std::string& route,
                                             const std::string& key) override;
  Status PutIdempotent(const IdempotentResponse& r) override;

 private:
  PostgresStore(const std::string& dsn, PgPoolOptions options);

  Status Migrate();

  PgPool pool_;
};

}  // namespace jit
