#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "jit/storage/sqlite/sqlite_statement.h"
#include "jit/storage/store.h"

namespace jit {

// The embedded default Store: one SQLite file in WAL mode with
// synchronous=FULL, so a committed ChangeSet survives a crash or power loss.
// Times are stored as Unix milliseconds. Audit rows are only ever inserted.
// Thread-safe: one connection, one mutex. Commits are grouped: concurrent
// Commit calls queue, and the caller at the head of the queue writes every
// waiting ChangeSet (up to kMaxGroup) in one BEGIN IMMEDIATE transaction and
// one fsync, each under its own SAVEPOINT, so a ChangeSet that fails (lost
// compare-and-set, constraint) rolls back alone and only its caller sees the
// error. Audit events chain in commit order, and every caller returns only
// once its own ChangeSet is durable (or has failed). Other processes may open
// the file too (busy waits up to 5 s); SQLite errors of any kind (full disk,
// read-only file, I/O error, a trigger refusing a row) are kUnavailable and
// roll back.
class SqliteStore final : public Store {
 public:
  // The schema version this code writes (PRAGMA user_version).
  static constexpr int kSchemaVersion = 5;

  // Opens or creates the database at `path` and brings its schema up to
  // kSchemaVersion, all pending migrations in one transaction.
  // Errors: kUnavailable (cannot open, not a database, migration failed);
  // kFailedPrecondition when the file was written by a newer jitd.
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const std::string& path);

  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // The schema version of the open file.
  StatusOr<int> SchemaVersion();

  Status Commit(ChangeSet& cs) override;
  // One group (or more, past kMaxGroup) for all of `sets`.
  std::vector<Status> CommitEach(std::span<ChangeSet> sets) override;
  StatusOr<Request> GetRequest(const std::string& id) override;
  StatusOr<Grant> GetGrant(const std::string& id) override;
  StatusOr<Page<Request>> ListRequests(const RequestFilter& f) override;
  StatusOr<Page<Grant>> ListGrants(const GrantFilter& f) override;
  StatusOr<std::vector<Approval>> ListApprovals(
      const std::string& request_id) override;
  StatusOr<std::vector<Request>> RequestsOfGrant(
      const std::string& grant_id) override;
  StatusOr<std::vector<Grant>> DueRevokes(SystemTime now, int limit) override;
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
  explicit SqliteStore(SqliteConnection db) : db_(std::move(db)) {}

  Status Configure();
  Status Migrate();
  Status ApplyMigrations();
  StatusOr<int> SchemaVersionLocked();
  // Most ChangeSets one transaction takes from the queue.
  static constexpr size_t kMaxGroup = 1024;

  struct QueuedCommit;
  void CommitGroup(const std::vector<QueuedCommit*>& group);
  Status CommitGroupLocked(const std::vector<QueuedCommit*>& group);
  Status WriteOneOfGroup(QueuedCommit& q, std::optional<AuditHead>& head);
  Status WriteAll(const ChangeSet& cs, std::optional<AuditHead>& head,
                  std::vector<AuditEvent>& events);
  Status WriteRequest(const RequestWrite& w);
  Status WriteGrant(const GrantWrite& w);
  Status WriteApproval(const Approval& a);
  Status WriteCredential(const CredentialWrite& w);
  Status WriteReview(const ReviewWrite& w);
  StatusOr<std::vector<Credential>> QueryCredentials(std::string_view where,
                                                     std::string_view a,
                                                     std::string_view b);
  Status WriteEvents(const std::vector<AuditEvent>& in,
                     std::optional<AuditHead>& head,
                     std::vector<AuditEvent>& out);
  StatusOr<AuditHead> HeadLocked();
  void RollbackLocked();
  StatusOr<std::vector<Request>> QueryRequests(SqliteStatement& stmt);
  StatusOr<std::vector<Grant>> QueryGrants(SqliteStatement& stmt);

  // DueRevokes under mu_; `active_condition` narrows the active grants
  // (ClaimDueRevokes: unclaimed ones), and may use ?1 (now).
  StatusOr<std::vector<Grant>> DueRevokesLocked(
      SystemTime now, int limit, std::string_view active_condition);
  Status ClaimLocked(std::vector<Grant>& due, SystemTime until);

  std::mutex mu_;
  SqliteConnection db_;  // guarded by mu_
  // Declared after db_: its statements are finalized before db_ closes.
  SqliteStatementCache stmts_;  // guarded by mu_

  std::mutex queue_mu_;
  // Commits not finished yet, oldest first; the head one writes the group.
  std::deque<QueuedCommit*> queue_;  // guarded by queue_mu_
};

}  // namespace jit
