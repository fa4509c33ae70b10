#include "jit/storage/sqlite/sqlite_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "jit/audit/verifier.h"
#include "jit/base/duration.h"
#include "jit/storage/sqlite/sqlite_statement.h"
#include "jit/storage/store_contract_test.h"
#include "jit/storage/store_util.h"

namespace jit {
namespace {

// Every database of this binary lives under one directory, removed at exit.
class TempRoot : public testing::Environment {
 public:
  static const std::string& Path() {
    static const std::string* path = [] {
      std::string pattern = testing::TempDir() + "jit_sqlite_store_XXXXXX";
      char* made = mkdtemp(pattern.data());
      EXPECT_NE(made, nullptr) << "mkdtemp " << pattern;
      return new std::string(pattern);
    }();
    return *path;
  }
  void TearDown() override { std::filesystem::remove_all(Path()); }
};

testing::Environment* const kTempRoot =
    testing::AddGlobalTestEnvironment(new TempRoot);

// A path for a database no test has used yet.
std::string NewDbPath() {
  static int counter = 0;
  return TempRoot::Path() + "/db" + std::to_string(++counter) + ".sqlite";
}

std::unique_ptr<SqliteStore> OpenOrDie(const std::string& path) {
  StatusOr<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path);
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

std::unique_ptr<Store> MakeTempSqliteStore() { return OpenOrDie(NewDbPath()); }

INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest,
                         testing::Values(&MakeTempSqliteStore));

constexpr SystemTime kT0{std::chrono::milliseconds(1'800'000'000'000)};

// A second connection to the file, as another process (or an attacker with
// the file) would have.
SqliteConnection SecondConnection(const std::string& path) {
  StatusOr<SqliteConnection> db = SqliteConnection::Open(path);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  return std::move(db).value();
}

Request PendingRequest(const std::string& id) {
  Request r;
  r.id = id;
  r.subject = "alice";
  r.person = "alice";
  r.subject_groups = {"dev"};
  r.entitlement = "prod-db-read";
  r.duration = std::chrono::minutes(30);
  r.created_at = kT0;
  r.updated_at = kT0;
  return r;
}

AuditEvent Event(AuditType type, const std::string& actor) {
  AuditEvent e;
  e.time = kT0;
  e.type = type;
  e.actor = actor;
  e.subject = "alice";
  return e;
}

Status AppendEvents(Store& store, int count) {
  ChangeSet cs;
  for (int i = 0; i < count; ++i) {
    cs.events.push_back(Event(AuditType::kRequestCreated, "alice"));
  }
  return store.Commit(cs);
}

VerifyResult Verify(Store& store) {
  ChainVerifier verifier;
  StatusOr<std::vector<AuditEvent>> events = store.ReadAudit(0, 100000);
  EXPECT_TRUE(events.ok()) << events.status().ToString();
  if (events.ok()) {
    for (const AuditEvent& e : *events) verifier.Add(e);
  }
  return verifier.Result();
}

TEST(SqliteStoreTest, DataSurvivesCloseAndReopen) {
  const std::string path = NewDbPath();
  AuditHead head;
  {
    std::unique_ptr<SqliteStore> store = OpenOrDie(path);
    ASSERT_NE(store, nullptr);
    ChangeSet cs;
    cs.requests.push_back({PendingRequest("req_1"), std::nullopt});
    Grant g;
    g.id = "grt_1";
    g.request_id = "req_1";
    g.expires_at = kT0 + std::chrono::minutes(30);
    cs.grants.push_back({g, std::nullopt});
    Approval a;
    a.request_id = "req_1";
    a.approver = "bob";
    cs.approvals.push_back(a);
    cs.events = {Event(AuditType::kRequestCreated, "alice"),
                 Event(AuditType::kRequestApproved, "bob")};
    ASSERT_TRUE(store->Commit(cs).ok());
    IdempotentResponse r{"key", "bob", "route", 200, "{}", kT0};
    ASSERT_TRUE(store->PutIdempotent(r).ok());
    head = *store->GetAuditHead();
  }
  std::unique_ptr<SqliteStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->GetRequest("req_1")->subject_groups,
            std::vector<std::string>{"dev"});
  EXPECT_EQ(store->GetGrant("grt_1")->expires_at,
            kT0 + std::chrono::minutes(30));
  EXPECT_EQ(store->ListApprovals("req_1")->size(), 1u);
  EXPECT_EQ(store->GetIdempotent("bob", "route", "key")->http_status, 200);
  EXPECT_EQ(store->GetAuditHead()->hash, head.hash);
  // The chain goes on from where the last process left it.
  ChangeSet next;
  next.events = {Event(AuditType::kGrantActivated, "jitd")};
  ASSERT_TRUE(store->Commit(next).ok());
  EXPECT_EQ(next.events[0].seq, 3);
  EXPECT_EQ(next.events[0].prev_hash, head.hash);
  EXPECT_TRUE(Verify(*store).ok);
}

TEST(SqliteStoreTest, NewDatabaseIsAtTheCurrentSchemaVersion) {
  const std::string path = NewDbPath();
  std::unique_ptr<SqliteStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  StatusOr<int> version = store->SchemaVersion();
  ASSERT_TRUE(version.ok());
  EXPECT_EQ(*version, SqliteStore::kSchemaVersion);
  store.reset();
  // Reopening applies nothing twice.
  store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->SchemaVersion(), SqliteStore::kSchemaVersion);
}

TEST(SqliteStoreTest, DatabaseOfANewerVersionIsRefused) {
  const std::string path = NewDbPath();
  ASSERT_NE(OpenOrDie(path), nullptr);
  SqliteConnection other = SecondConnection(path);
  ASSERT_TRUE(other
                  .Exec("PRAGMA user_version = " +
                        std::to_string(SqliteStore::kSchemaVersion + 1))
                  .ok());
  EXPECT_EQ(SqliteStore::Open(path).status().code(),
            StatusCode::kFailedPrecondition);
}

TEST(SqliteStoreTest, FileThatIsNotADatabaseIsUnavailable) {
  const std::string path = NewDbPath();
  std::ofstream(path) << "this is not an SQLite database, just some text that "
                         "is long enough to fill a header page........";
  EXPECT_EQ(SqliteStore::Open(path).status().code(), StatusCode::kUnavailable);
}

TEST(SqliteStoreTest, MissingDirectoryIsUnavailable) {
  EXPECT_EQ(SqliteStore::Open(TempRoot::Path() + "/no/such/dir/db.sqlite")
                .status()
                .code(),
            StatusCode::kUnavailable);
}

TEST(SqliteStoreTest, UsesWriteAheadLogging) {
  const std::string path = NewDbPath();
  ASSERT_NE(OpenOrDie(path), nullptr);
  SqliteConnection other = SecondConnection(path);
  StatusOr<SqliteStatement> mode =
      SqliteStatement::Prepare(other.get(), "PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->Text(0), "wal");
}

// DESIGN invariant 2: no state change without its audit event.
TEST(SqliteStoreTest, RefusedAuditInsertFailsClosed) {
  const std::string path = NewDbPath();
  std::unique_ptr<SqliteStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ChangeSet create;
  create.requests.push_back({PendingRequest("req_1"), std::nullopt});
  create.events = {Event(AuditType::kRequestCreated, "alice")};
  ASSERT_TRUE(store->Commit(create).ok());
  SqliteConnection other = SecondConnection(path);
  ASSERT_TRUE(other
                  .Exec("CREATE TRIGGER refuse_audit BEFORE INSERT ON audit "
                        "BEGIN SELECT RAISE(ABORT, 'x'); END")
                  .ok());

  ChangeSet approve;
  Request approved = PendingRequest("req_1");
  approved.state = RequestState::kApproved;
  approve.requests.push_back({approved, RequestState::kPending});
  approve.events = {Event(AuditType::kRequestApproved, "bob")};
  EXPECT_EQ(store->Commit(approve).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->GetRequest("req_1")->state, RequestState::kPending);
  EXPECT_EQ(store->GetAuditHead()->seq, 1);
  EXPECT_EQ(approve.events[0].seq, 0);

  // Once the audit log is writable again, the same change goes through.
  ASSERT_TRUE(other.Exec("DROP TRIGGER refuse_audit").ok());
  EXPECT_TRUE(store->Commit(approve).ok());
  EXPECT_EQ(store->GetRequest("req_1")->state, RequestState::kApproved);
  EXPECT_EQ(approve.events[0].seq, 2);
}

TEST(SqliteStoreTest, RefusedRequestWriteIsUnavailableAndWritesNothing) {
  const std::string path = NewDbPath();
  std::unique_ptr<SqliteStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  SqliteConnection other = SecondConnection(path);
  ASSERT_TRUE(other
                  .Exec("CREATE TRIGGER refuse_requests BEFORE INSERT ON "
                        "requests BEGIN SELECT RAISE(ABORT, 'disk says no'); "
                        "END")
                  .ok());
  ChangeSet cs;
  cs.requests.push_back({PendingRequest("req_1"), std::nullopt});
  cs.events = {Event(AuditType::kRequestCreated, "alice")};
  EXPECT_EQ(store->Commit(cs).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->GetAuditHead()->seq, 0);
}

TEST(SqliteStoreTest, AuditRowsCannotBeChangedThroughSql) {
  const std::string path = NewDbPath();
  std::unique_ptr<SqliteStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendEvents(*store, 2).ok());
  SqliteConnection other = SecondConnection(path);
  EXPECT_FALSE(other.Exec("UPDATE audit SET actor = 'mallory'").ok());
  EXPECT_FALSE(other.Exec("DELETE FROM audit WHERE seq = 1").ok());
  EXPECT_TRUE(Verify(*store).ok);
}

// THREATS T21: someone with the file drops the guards and edits a row.
TEST(SqliteStoreTest, EditedAuditRowIsNamedByTheVerifier) {
  const std::string path = NewDbPath();
  std::unique_ptr<SqliteStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendEvents(*store, 4).ok());
  SqliteConnection other = SecondConnection(path);
  ASSERT_TRUE(other
                  .Exec("DROP TRIGGER audit_no_update; "
                        "UPDATE audit SET actor = 'mallory' WHERE seq = 2")
                  .ok());
  VerifyResult result = Verify(*store);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 2);
}

TEST(SqliteStoreTest, DeletedAuditRowIsNamedByTheVerifier) {
  const std::string path = NewDbPath();
  std::unique_ptr<SqliteStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendEvents(*store, 4).ok());
  SqliteConnection other = SecondConnection(path);
  ASSERT_TRUE(other
                  .Exec("DROP TRIGGER audit_no_delete; "
                        "DELETE FROM audit WHERE seq = 3")
                  .ok());
  VerifyResult result = Verify(*store);
  EXPECT_FALSE(result.ok);
  EXPECT_EQ(result.first_bad_seq, 3);
}

// DESIGN "a broken chain does not stop jitd": new events chain from the
// stored head as it is.
TEST(SqliteStoreTest, NewEventsChainFromABrokenHead) {
  const std::string path = NewDbPath();
  std::unique_ptr<SqliteStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendEvents(*store, 3).ok());
  const std::string forged(64, 'f');
  SqliteConnection other = SecondConnection(path);
  ASSERT_TRUE(other.Exec("DROP TRIGGER audit_no_update").ok());
  StatusOr<SqliteStatement> edit = SqliteStatement::Prepare(
      other.get(), "UPDATE audit SET hash = ?1 WHERE seq = 3");
  ASSERT_TRUE(edit.ok());
  edit->BindText(1, forged);
  ASSERT_TRUE(edit->Run().ok());
  ChangeSet cs;
  cs.events = {Event(AuditType::kGrantExpired, "jitd")};
  ASSERT_TRUE(store->Commit(cs).ok());
  EXPECT_EQ(cs.events[0].seq, 4);
  EXPECT_EQ(cs.events[0].prev_hash, forged);
  EXPECT_EQ(Verify(*store).first_bad_seq, 3);
}

// Group commit: 64 callers at once, a quarter of them losing a
// compare-and-set and an eighth colliding on an insert after a write of
// their own. Each failure rolls back only its own ChangeSet; every success
// is durable (seen by a new process), numbered as returned, and chained.
TEST(SqliteStoreTest, ConcurrentCommitsFailAloneAndTheRestAreDurable) {
  constexpr int kThreads = 64;
  constexpr int kRounds = 4;
  const std::string path = NewDbPath();
  std::unique_ptr<SqliteStore> store = OpenOrDie(path);
  ASSERT_NE(store, nullptr);
  ChangeSet setup;
  for (int i = 0; i < kThreads * kRounds; ++i) {
    setup.requests.push_back(
        {PendingRequest("req_" + std::to_string(i)), std::nullopt});
  }
  ASSERT_TRUE(store->Commit(setup).ok());

  struct Outcome {
    ChangeSet cs;
    Status status;
  };
  std::vector<Outcome> outcomes(kThreads * kRounds);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int round = 0; round < kRounds; ++round) {
        const int i = t * kRounds + round;
        const std::string n = std::to_string(i);
        ChangeSet& cs = outcomes[i].cs;
        cs.requests.push_back({PendingRequest("new_" + n), std::nullopt});
        Request approved = PendingRequest("req_" + n);
        approved.state = RequestState::kApproved;
        // i % 4 == 0 expects the wrong state: a lost compare-and-set.
        cs.requests.push_back({approved, i % 4 == 0 ? RequestState::kDenied
                                                    : RequestState::kPending});
        // i % 8 == 1 inserts an id that exists: a collision.
        if (i % 8 == 1) {
          cs.requests.push_back({PendingRequest("req_0"), std::nullopt});
        }
        cs.events = {Event(AuditType::kRequestCreated, "writer-" + n),
                     Event(AuditType::kRequestApproved, "writer-" + n)};
        outcomes[i].status = store->Commit(cs);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  store.reset();

  store = OpenOrDie(path);  // what a restarted process finds
  ASSERT_NE(store, nullptr);
  StatusOr<std::vector<AuditEvent>> audit = store->ReadAudit(0, 100000);
  ASSERT_TRUE(audit.ok()) << audit.status().ToString();
  int successes = 0;
  for (int i = 0; i < kThreads * kRounds; ++i) {
    const std::string n = std::to_string(i);
    const Outcome& o = outcomes[i];
    SCOPED_TRACE("commit " + n);
    if (i % 4 == 0 || i % 8 == 1) {
      EXPECT_EQ(o.status.code(),
                i % 4 == 0 ? StatusCode::kAborted : StatusCode::kAlreadyExists);
      EXPECT_EQ(store->GetRequest("new_" + n).status().code(),
                StatusCode::kNotFound);
      EXPECT_EQ(store->GetRequest("req_" + n)->state, RequestState::kPending);
      EXPECT_EQ(o.cs.events[0].seq, 0);  // left as it was
      continue;
    }
    ASSERT_TRUE(o.status.ok()) << o.status.ToString();
    ++successes;
    EXPECT_TRUE(store->GetRequest("new_" + n).ok());
    EXPECT_EQ(store->GetRequest("req_" + n)->state, RequestState::kApproved);
    ASSERT_EQ(o.cs.events.size(), 2u);
    EXPECT_EQ(o.cs.events[1].seq, o.cs.events[0].seq + 1);
    for (const AuditEvent& e : o.cs.events) {
      ASSERT_GE(e.seq, 1);
      ASSERT_LE(e.seq, static_cast<int64_t>(audit->size()));
      const AuditEvent& stored = (*audit)[e.seq - 1];
      EXPECT_EQ(stored.actor, "writer-" + n);
      EXPECT_EQ(stored.hash, e.hash);
      EXPECT_EQ(stored.prev_hash, e.prev_hash);
    }
  }
  EXPECT_EQ(successes, kThreads * kRounds * 5 / 8);
  EXPECT_EQ(audit->size(), static_cast<size_t>(2 * successes));
  VerifyResult chain = Verify(*store);
  EXPECT_TRUE(chain.ok) << chain.reason;
  EXPECT_EQ(chain.events, 2 * successes);
}

// Past the sorted path's limit (a mass expiry), DueRevokes still answers
// oldest first, retries merged in.
TEST(SqliteStoreTest, DueRevokesOfAMassExpiryAreOldestFirst) {
  constexpr int kGrants = 10'050;
  std::unique_ptr<SqliteStore> store = OpenOrDie(NewDbPath());
  ASSERT_NE(store, nullptr);
  const SystemTime now = kT0 + std::chrono::hours(1);
  ChangeSet cs;
  for (int i = 0; i < kGrants; ++i) {
    Grant g;
    g.id = "grt_" + std::to_string(i);
    g.request_id = "req_" + std::to_string(i);
    // Later-created grants expired earlier: expiry order is not the answer.
    g.expires_at = now - std::chrono::milliseconds(i);
    if (i % 10 == 3) {
      g.state = GrantState::kRevokePending;
      g.next_attempt_at = now;
    }
    if (i % 10 == 7) g.expires_at = now + std::chrono::minutes(1);
    cs.grants.push_back({g, std::nullopt});
  }
  ASSERT_TRUE(store->Commit(cs).ok());
  StatusOr<std::vector<Grant>> due = store->DueRevokes(now, 25);
  ASSERT_TRUE(due.ok()) << due.status().ToString();
  std::vector<std::string> want;
  for (int i = 0; static_cast<int>(want.size()) < 25; ++i) {
    if (i % 10 != 7) want.push_back("grt_" + std::to_string(i));
  }
  std::vector<std::string> got;
  for (const Grant& g : *due) got.push_back(g.id);
  EXPECT_EQ(got, want);
}

TEST(SqliteStoreTest, InvalidUtf8GroupIsInvalidArgument) {
  std::unique_ptr<SqliteStore> store = OpenOrDie(NewDbPath());
  ASSERT_NE(store, nullptr);
  Request r = PendingRequest("req_1");
  r.subject_groups = {"bad\xff"};
  ChangeSet cs;
  cs.requests.push_back({r, std::nullopt});
  EXPECT_EQ(store->Commit(cs).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetRequest("req_1").status().code(), StatusCode::kNotFound);
}

// --- Statement cache -------------------------------------------------------

SqliteConnection MemoryConnection() {
  StatusOr<SqliteConnection> db = SqliteConnection::Open(":memory:");
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  EXPECT_TRUE(db->Exec("CREATE TABLE t (v TEXT)").ok());
  return std::move(db).value();
}

TEST(SqliteStatementCacheTest, StatementGoesBackResetAndIsReused) {
  SqliteConnection db = MemoryConnection();
  SqliteStatementCache cache;
  sqlite3_stmt* first = nullptr;
  {
    StatusOr<SqliteStatement> insert =
        cache.Take(db.get(), "INSERT INTO t (v) VALUES (?1)");
    ASSERT_TRUE(insert.ok()) << insert.status().ToString();
    insert->BindText(1, "a");
    ASSERT_TRUE(insert->Run().ok());
    EXPECT_EQ(cache.size(), 0u);  // in use: not in the cache
  }
  EXPECT_EQ(cache.size(), 1u);
  {
    StatusOr<SqliteStatement> again =
        cache.Take(db.get(), "INSERT INTO t (v) VALUES (?1)");
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(cache.size(), 0u);
    // Bindings were cleared on the way back: unbound is NULL.
    ASSERT_TRUE(again->Run().ok());
    first = sqlite3_next_stmt(db.get(), nullptr);
    EXPECT_NE(first, nullptr);
  }
  StatusOr<SqliteStatement> rows =
      cache.Take(db.get(), "SELECT count(*), count(v) FROM t");
  ASSERT_TRUE(rows.ok());
  ASSERT_TRUE(*rows->Step());
  EXPECT_EQ(rows->Int(0), 2);
  EXPECT_EQ(rows->Int(1), 1);
}

TEST(SqliteStatementCacheTest, NestedTakeOfTheSameSqlGetsItsOwnStatement) {
  SqliteConnection db = MemoryConnection();
  ASSERT_TRUE(db.Exec("INSERT INTO t VALUES ('x'), ('y')").ok());
  SqliteStatementCache cache;
  const char* sql = "SELECT v FROM t ORDER BY v";
  StatusOr<SqliteStatement> outer = cache.Take(db.get(), sql);
  ASSERT_TRUE(outer.ok());
  ASSERT_TRUE(*outer->Step());
  EXPECT_EQ(outer->Text(0), "x");
  {
    StatusOr<SqliteStatement> inner = cache.Take(db.get(), sql);
    ASSERT_TRUE(inner.ok());
    ASSERT_TRUE(*inner->Step());
    EXPECT_EQ(inner->Text(0), "x");
  }
  // The inner one went back; the outer one kept its place.
  ASSERT_TRUE(*outer->Step());
  EXPECT_EQ(outer->Text(0), "y");
}

TEST(SqliteStatementCacheTest, KeepsAtMostItsCapacity) {
  SqliteConnection db = MemoryConnection();
  SqliteStatementCache cache(/*capacity=*/2);
  for (int i = 0; i < 5; ++i) {
    StatusOr<SqliteStatement> s =
        cache.Take(db.get(), "SELECT " + std::to_string(i));
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(*s->Step());
    EXPECT_EQ(s->Int(0), i);
  }
  EXPECT_EQ(cache.size(), 2u);
}

TEST(SqliteStatementCacheTest, BadSqlIsAnErrorAndNothingIsKept) {
  SqliteConnection db = MemoryConnection();
  SqliteStatementCache cache;
  StatusOr<SqliteStatement> bad = cache.Take(db.get(), "SELEKT 1");
  EXPECT_EQ(bad.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(SqliteStatementCacheTest, MovedStatementGoesBackOnce) {
  SqliteConnection db = MemoryConnection();
  SqliteStatementCache cache;
  {
    StatusOr<SqliteStatement> a = cache.Take(db.get(), "SELECT 1");
    ASSERT_TRUE(a.ok());
    SqliteStatement moved = std::move(a).value();
    StatusOr<SqliteStatement> b = cache.Take(db.get(), "SELECT 2");
    ASSERT_TRUE(b.ok());
    moved = std::move(b).value();  // "SELECT 1" goes back here
    EXPECT_EQ(cache.size(), 1u);
  }
  EXPECT_EQ(cache.size(), 2u);
}

}  // namespace
}  // namespace jit
