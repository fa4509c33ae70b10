// PostgresStore against a real PostgreSQL 15 (tests/support/postgres_server.h):
// the shared Store contract suite plus what only this backend has
// (migrations, reconnecting, several stores on one database). One server per
// test process, a fresh database per store. The store logs in as `jitd`, the
// owner of its database but not a superuser, as in production; tampering
// and fault injection use the superuser.
#include "jit/storage/postgres/postgres_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "jit/audit/verifier.h"
#include "jit/base/duration.h"
#include "jit/storage/postgres/pg_listener.h"
#include "jit/storage/store_contract_test.h"
#include "jit/storage/store_util.h"
#include "tests/support/postgres_server.h"

namespace jit {
namespace {

using ::jit::testing::PostgresServer;

constexpr SystemTime kT0{std::chrono::milliseconds(1'800'000'000'000)};

// The server of this process, started on first use and stopped at exit.
class ServerHolder : public ::testing::Environment {
 public:
  static PostgresServer* Get() {
    if (server_ == nullptr && !failed_) {
      auto started = PostgresServer::Start();
      if (!started.ok()) {
        failed_ = true;
        ADD_FAILURE() << started.status().ToString();
        return nullptr;
      }
      server_ = std::move(started).value();
      Status s = server_->Exec("CREATE ROLE jitd LOGIN");
      if (!s.ok()) ADD_FAILURE() << s.ToString();
    }
    return server_.get();
  }
  void TearDown() override { server_.reset(); }

 private:
  static inline std::unique_ptr<PostgresServer> server_;
  static inline bool failed_ = false;
};

::testing::Environment* const kServerHolder =
    ::testing::AddGlobalTestEnvironment(new ServerHolder);

// A new empty database owned by `jitd`; its name.
std::string NewDatabase() {
  static int counter = 0;
  std::string name =
      "jit_store_" + std::to_string(getpid()) + "_" + std::to_string(++counter);
  PostgresServer* pg = ServerHolder::Get();
  if (pg == nullptr) return name;
  Status s = pg->Exec("CREATE DATABASE " + name + " OWNER jitd");
  EXPECT_TRUE(s.ok()) << s.ToString();
  return name;
}

std::string JitdDsn(const std::string& db) {
  PostgresServer* pg = ServerHolder::Get();
  return pg == nullptr ? "" : pg->Dsn("jitd", db);
}

std::unique_ptr<PostgresStore> OpenOrDie(const std::string& db) {
  StatusOr<std::unique_ptr<PostgresStore>> store =
      PostgresStore::Open(JitdDsn(db));
  EXPECT_TRUE(store.ok()) << store.status().ToString();
  return store.ok() ? std::move(store).value() : nullptr;
}

std::unique_ptr<Store> MakePostgresStore() {
  if (ServerHolder::Get() == nullptr) return nullptr;
  return OpenOrDie(NewDatabase());
}

// Without the server binaries there is nothing to run the suite against;
// the fixture tests below say so by skipping.
std::vector<StoreFactory> FactoriesIfInstalled() {
  if (!testing::PostgresInstalled()) return {};
  return {&MakePostgresStore};
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(StoreContractTest);
INSTANTIATE_TEST_SUITE_P(Postgres, StoreContractTest,
                         ::testing::ValuesIn(FactoriesIfInstalled()));

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

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::PostgresInstalled()) {
      GTEST_SKIP() << "PostgreSQL 15 server binaries are not installed";
    }
    pg_ = ServerHolder::Get();
    ASSERT_NE(pg_, nullptr);
    db_ = NewDatabase();
  }

  // Runs `sql` as the superuser in this test's database.
  void Superuser(const std::string& sql) {
    Status s = pg_->Exec(sql, db_);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string Value(const std::string& sql) {
    StatusOr<std::string> v = pg_->QueryValue(sql, db_);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : "";
  }

  PostgresServer* pg_ = nullptr;
  std::string db_;
};

TEST_F(PostgresStoreTest, MigrationsApplyOnceAndReopeningChangesNothing) {
  {
    std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(*store->SchemaVersion(), PostgresStore::kSchemaVersion);
    ChangeSet cs;
    cs.requests.push_back({PendingRequest("req_1"), std::nullopt});
    cs.events = {Event(AuditType::kRequestCreated, "alice")};
    ASSERT_TRUE(store->Commit(cs).ok());
  }
  const std::string applied_at =
      Value("SELECT applied_at FROM schema_migrations WHERE version = 1");
  for (int i = 0; i < 2; ++i) {
    std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(*store->SchemaVersion(), PostgresStore::kSchemaVersion);
    EXPECT_EQ(store->GetRequest("req_1")->subject_groups,
              std::vector<std::string>{"dev"});
    EXPECT_EQ(store->GetAuditHead()->seq, 1);
  }
  EXPECT_EQ(Value("SELECT count(*) FROM schema_migrations"),
            std::to_string(PostgresStore::kSchemaVersion));
  EXPECT_EQ(Value("SELECT applied_at FROM schema_migrations WHERE version = 1"),
            applied_at);
}

TEST_F(PostgresStoreTest, ReplicasStartingTogetherMigrateOnce) {
  constexpr int kReplicas = 4;
  std::vector<StatusCode> codes(kReplicas, StatusCode::kInternal);
  std::latch start(kReplicas);
  std::vector<std::thread> threads;
  const std::string dsn = JitdDsn(db_);
  for (int i = 0; i < kReplicas; ++i) {
    threads.emplace_back([&, i] {
      start.arrive_and_wait();
      codes[i] = PostgresStore::Open(dsn).status().code();
    });
  }
  for (std::thread& t : threads) t.join();
  for (StatusCode code : codes) EXPECT_EQ(code, StatusCode::kOk);
  EXPECT_EQ(Value("SELECT count(*) FROM schema_migrations"),
            std::to_string(PostgresStore::kSchemaVersion));
  EXPECT_EQ(Value("SELECT count(*) FROM audit_writer"), "1");
}

TEST_F(PostgresStoreTest, DatabaseOfANewerVersionIsRefused) {
  ASSERT_NE(OpenOrDie(db_), nullptr);
  const int newer = PostgresStore::kSchemaVersion + 1;
  Superuser("INSERT INTO schema_migrations (version) VALUES (" +
            std::to_string(newer) + ")");
  Status s = PostgresStore::Open(JitdDsn(db_)).status();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("newer than this jitd"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find(std::to_string(newer)), std::string::npos);
}

TEST_F(PostgresStoreTest, UnreachableServerIsUnavailable) {
  const std::string dsn =
      "host=127.0.0.1 port=" + std::to_string(testing::FreeLocalPort()) +
      " user=jitd dbname=" + db_;
  EXPECT_EQ(PostgresStore::Open(dsn).status().code(), StatusCode::kUnavailable);
}

TEST_F(PostgresStoreTest, ServerDownIsUnavailableAndTheStoreRecovers) {
  std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
  ASSERT_NE(store, nullptr);
  ChangeSet create;
  create.requests.push_back({PendingRequest("req_1"), std::nullopt});
  create.events = {Event(AuditType::kRequestCreated, "alice")};
  ASSERT_TRUE(store->Commit(create).ok());
  // Several pooled connections were open when the server went away.
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([&] { EXPECT_TRUE(store->GetRequest("req_1").ok()); });
  }
  for (std::thread& t : readers) t.join();

  ASSERT_TRUE(pg_->Stop().ok());
  EXPECT_EQ(store->GetRequest("req_1").status().code(),
            StatusCode::kUnavailable);
  ChangeSet approve;
  Request approved = PendingRequest("req_1");
  approved.state = RequestState::kApproved;
  approve.requests.push_back({approved, RequestState::kPending});
  approve.events = {Event(AuditType::kRequestApproved, "bob")};
  EXPECT_EQ(store->Commit(approve).code(), StatusCode::kUnavailable);
  EXPECT_EQ(approve.events[0].seq, 0);  // untouched, may be retried
  EXPECT_EQ(store->GetAuditHead().status().code(), StatusCode::kUnavailable);

  ASSERT_TRUE(pg_->StartAgain().ok()) << pg_->LogTail();
  // The first call after the restart already works: no stale connection.
  StatusOr<Request> got = store->GetRequest("req_1");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->state, RequestState::kPending);
  Status s = store->Commit(approve);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(approve.events[0].seq, 2);
  EXPECT_EQ(store->GetRequest("req_1")->state, RequestState::kApproved);
  EXPECT_TRUE(Verify(*store).ok);
}

// Two stores stand for two jitd replicas: their commits interleave on the
// server, and the audit chain must still be one line.
TEST_F(PostgresStoreTest, ConcurrentCommitsOfTwoStoresKeepOneLinearChain) {
  constexpr int kThreads = 8;
  constexpr int kCommitsEach = 12;
  std::unique_ptr<PostgresStore> stores[2] = {OpenOrDie(db_), OpenOrDie(db_)};
  ASSERT_NE(stores[0], nullptr);
  ASSERT_NE(stores[1], nullptr);
  ChangeSet create;
  create.requests.push_back({PendingRequest("req_contested"), std::nullopt});
  ASSERT_TRUE(stores[0]->Commit(create).ok());

  std::atomic<int> contested_wins{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      Store& store = *stores[i % 2];
      start.arrive_and_wait();
      for (int j = 0; j < kCommitsEach; ++j) {
        ChangeSet cs;
        const std::string id =
            "req_" + std::to_string(i) + "_" + std::to_string(j);
        cs.requests.push_back({PendingRequest(id), std::nullopt});
        cs.events = {Event(AuditType::kRequestCreated, "writer"),
                     Event(AuditType::kRequestApproved, "writer")};
        Status s = store.Commit(cs);
        EXPECT_TRUE(s.ok()) << s.ToString();
        EXPECT_EQ(cs.events[1].seq, cs.events[0].seq + 1);
      }
      Request won = PendingRequest("req_contested");
      won.state = RequestState::kApproved;
      Status s = TransitionRequest(store, won, RequestState::kPending,
                                   Event(AuditType::kRequestApproved, "race"));
      if (s.ok()) {
        ++contested_wins;
      } else {
        EXPECT_EQ(s.code(), StatusCode::kAborted) << s.ToString();
      }
    });
  }
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(contested_wins.load(), 1);
  VerifyResult result = Verify(*stores[1]);
  EXPECT_TRUE(result.ok) << result.reason;
  EXPECT_EQ(result.events, kThreads * kCommitsEach * 2 + 1);
  EXPECT_EQ(stores[0]->GetAuditHead()->hash, result.head);
}

TEST_F(PostgresStoreTest, AuditRowsCannotBeChangedThroughSql) {
  std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendEvents(*store, 3).ok());
  // Not even by the superuser, as long as the triggers are in place.
  EXPECT_FALSE(pg_->Exec("UPDATE audit SET actor = 'mallory'", db_).ok());
  EXPECT_FALSE(pg_->Exec("DELETE FROM audit WHERE seq = 1", db_).ok());
  EXPECT_FALSE(pg_->Exec("TRUNCATE audit", db_).ok());
  VerifyResult result = Verify(*store);
  EXPECT_TRUE(result.ok) << result.reason;
  EXPECT_EQ(result.events, 3);
}

// THREATS T21 and DESIGN "a broken chain does not stop jitd".
TEST_F(PostgresStoreTest, EditedRowIsNamedAndNewEventsChainFromTheStoredHead) {
  std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendEvents(*store, 3).ok());
  const std::string forged(64, 'f');
  Superuser(
      "ALTER TABLE audit DISABLE TRIGGER audit_no_update_or_delete; "
      "UPDATE audit SET hash = '" +
      forged + "' WHERE seq = 3");
  ChangeSet cs;
  cs.events = {Event(AuditType::kGrantExpired, "jitd")};
  ASSERT_TRUE(store->Commit(cs).ok());
  EXPECT_EQ(cs.events[0].seq, 4);
  EXPECT_EQ(cs.events[0].prev_hash, forged);
  EXPECT_EQ(Verify(*store).first_bad_seq, 3);
}

// DESIGN invariant 2: no state change without its audit event.
TEST_F(PostgresStoreTest, RefusedAuditInsertFailsClosed) {
  std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
  ASSERT_NE(store, nullptr);
  ChangeSet create;
  create.requests.push_back({PendingRequest("req_1"), std::nullopt});
  create.events = {Event(AuditType::kRequestCreated, "alice")};
  ASSERT_TRUE(store->Commit(create).ok());
  Superuser(
      "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
      "$$ BEGIN RAISE EXCEPTION 'disk says no'; END $$; "
      "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit "
      "FOR EACH ROW EXECUTE FUNCTION refuse()");

  ChangeSet approve;
  Request approved = PendingRequest("req_1");
  approved.state = RequestState::kApproved;
  approve.requests.push_back({approved, RequestState::kPending});
  approve.events = {Event(AuditType::kRequestApproved, "bob")};
  Status s = store->Commit(approve);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("audit log is not writable"), std::string::npos)
      << s.message();
  EXPECT_EQ(store->GetRequest("req_1")->state, RequestState::kPending);
  EXPECT_EQ(store->GetAuditHead()->seq, 1);
  EXPECT_EQ(approve.events[0].seq, 0);

  Superuser("DROP TRIGGER refuse_audit ON audit");
  ASSERT_TRUE(store->Commit(approve).ok());
  EXPECT_EQ(store->GetRequest("req_1")->state, RequestState::kApproved);
  EXPECT_EQ(approve.events[0].seq, 2);
}

TEST_F(PostgresStoreTest, TextPostgresCannotHoldIsInvalidArgument) {
  std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
  ASSERT_NE(store, nullptr);
  Request not_utf8 = PendingRequest("req_1");
  not_utf8.justification = "bad \xff byte";
  Request nul = PendingRequest("req_2");
  nul.justification = std::string("cut\0here", 8);
  for (const Request& r : {not_utf8, nul}) {
    ChangeSet cs;
    cs.requests.push_back({r, std::nullopt});
    cs.events = {Event(AuditType::kRequestCreated, "alice")};
    EXPECT_EQ(store->Commit(cs).code(), StatusCode::kInvalidArgument) << r.id;
    EXPECT_EQ(store->GetRequest(r.id).status().code(), StatusCode::kNotFound);
  }
  ASSERT_TRUE(AppendEvents(*store, 1).ok());
  // A lookup key with a NUL must not silently match a shorter id.
  EXPECT_EQ(store->GetRequest(std::string("req_1\0x", 7)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetAuditHead()->seq, 1);
}

TEST_F(PostgresStoreTest, MissingAuditWriterRowRefusesEvents) {
  std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
  ASSERT_NE(store, nullptr);
  Superuser("DELETE FROM audit_writer");
  ChangeSet cs;
  cs.requests.push_back({PendingRequest("req_1"), std::nullopt});
  cs.events = {Event(AuditType::kRequestCreated, "alice")};
  EXPECT_EQ(store->Commit(cs).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store->GetRequest("req_1").status().code(), StatusCode::kNotFound);
}

Grant ExpiredGrant(const std::string& id, SystemTime now) {
  Grant g;
  g.id = id;
  g.request_id = "req_" + id;
  g.subject = "alice";
  g.entitlement = "prod-db-read";
  g.connector = "prod-pg";
  g.starts_at = now - std::chrono::minutes(30);
  g.expires_at = now;
  return g;
}

Status InsertGrant(Store& store, const Grant& g) {
  ChangeSet cs;
  cs.grants.push_back({g, std::nullopt});
  return store.Commit(cs);
}

// Two stores stand for two replicas claiming the same expiry storm at once:
// FOR UPDATE SKIP LOCKED hands each grant to exactly one of them.
TEST_F(PostgresStoreTest, ReplicasClaimingTogetherGetDisjointSets) {
  constexpr int kGrants = 300;
  const SystemTime now = kT0 + std::chrono::hours(1);
  std::unique_ptr<PostgresStore> stores[2] = {OpenOrDie(db_), OpenOrDie(db_)};
  ASSERT_NE(stores[0], nullptr);
  ASSERT_NE(stores[1], nullptr);
  ChangeSet seed;
  for (int i = 0; i < kGrants; ++i) {
    seed.grants.push_back(
        {ExpiredGrant("grt_storm_" + std::to_string(i), now), std::nullopt});
  }
  ASSERT_TRUE(stores[0]->Commit(seed).ok());

  constexpr int kThreads = 6;
  std::vector<std::vector<std::string>> got(kThreads);
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      start.arrive_and_wait();
      for (int round = 0; round < kGrants; ++round) {  // bounded
        StatusOr<std::vector<Grant>> batch =
            stores[t % 2]->ClaimDueRevokes(now, 7, std::chrono::seconds(60));
        ASSERT_TRUE(batch.ok()) << batch.status().ToString();
        if (batch->empty()) return;
        for (const Grant& g : *batch) got[t].push_back(g.id);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::multiset<std::string> all;
  for (const auto& ids : got) all.insert(ids.begin(), ids.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kGrants));
  for (int i = 0; i < kGrants; ++i) {
    EXPECT_EQ(all.count("grt_storm_" + std::to_string(i)), 1u) << i;
  }
}

// THREATS T25: replica B read the grant, then replica A claimed and ended
// it. B's end, retry or re-grant written on what it read is refused, and
// B's claim finds nothing to claim.
TEST_F(PostgresStoreTest, StaleReplicaCannotEndOrReGrant) {
  const SystemTime now = kT0 + std::chrono::hours(1);
  std::unique_ptr<PostgresStore> a = OpenOrDie(db_);
  std::unique_ptr<PostgresStore> b = OpenOrDie(db_);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(InsertGrant(*a, ExpiredGrant("grt_contested", now)).ok());
  StatusOr<Grant> seen_by_b = b->GetGrant("grt_contested");
  ASSERT_TRUE(seen_by_b.ok());

  StatusOr<std::vector<Grant>> claimed =
      a->ClaimDueRevokes(now, 10, std::chrono::seconds(60));
  ASSERT_TRUE(claimed.ok());
  ASSERT_EQ(claimed->size(), 1u);
  EXPECT_TRUE(b->ClaimDueRevokes(now, 10, std::chrono::seconds(60))->empty());

  Grant b_end = *seen_by_b;
  b_end.state = GrantState::kRevokePending;
  b_end.generation = seen_by_b->generation + 1;
  ChangeSet b_cs;
  b_cs.grants.push_back({b_end, GrantState::kActive});
  EXPECT_EQ(b->Commit(b_cs).code(), StatusCode::kAborted);

  Grant a_end = claimed->front();
  a_end.state = GrantState::kRevokePending;
  a_end.generation = claimed->front().generation + 1;
  ChangeSet a_cs;
  a_cs.grants.push_back({a_end, GrantState::kActive});
  ASSERT_TRUE(a->Commit(a_cs).ok());

  // B, still holding its old read, tries to keep the grant alive.
  Grant b_regrant = *seen_by_b;
  b_regrant.expires_at = now + std::chrono::hours(1);
  b_regrant.generation = seen_by_b->generation + 1;
  ChangeSet regrant;
  regrant.grants.push_back({b_regrant, GrantState::kActive});
  EXPECT_EQ(b->Commit(regrant).code(), StatusCode::kAborted);
  EXPECT_EQ(b->GetGrant("grt_contested")->state, GrantState::kRevokePending);
}

// What one PgGrantListener saw, for polling from the test thread.
class Seen {
 public:
  PgGrantListener::Callbacks Callbacks() {
    PgGrantListener::Callbacks cb;
    cb.changed = [this](const std::string& id) {
      std::lock_guard lock(mu_);
      ids_.push_back({id, std::chrono::steady_clock::now()});
    };
    cb.resynced = [this] { ++resyncs_; };
    cb.lost = [this](const Status&) { ++losses_; };
    return cb;
  }
  // When `id` was first seen, waiting up to `limit` for it.
  std::optional<std::chrono::steady_clock::time_point> WaitFor(
      const std::string& id, std::chrono::milliseconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      {
        std::lock_guard lock(mu_);
        for (const auto& [seen, at] : ids_) {
          if (seen == id) return at;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::nullopt;
  }
  bool Saw(const std::string& id) {
    std::lock_guard lock(mu_);
    for (const auto& [seen, at] : ids_) {
      if (seen == id) return true;
    }
    return false;
  }
  std::atomic<int> resyncs_{0};
  std::atomic<int> losses_{0};

 private:
  std::mutex mu_;
  std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>>
      ids_;
};

// Polls `done` every millisecond for up to `limit` (bounded waits on the
// listener's own thread).
template <typename Pred>
bool WaitUntil(Pred done, std::chrono::milliseconds limit) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

TEST_F(PostgresStoreTest, ListenerHearsCommittedGrantChangesFast) {
  std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
  ASSERT_NE(store, nullptr);
  Seen seen;
  PgGrantListener listener(JitdDsn(db_), seen.Callbacks());
  listener.Start();
  ASSERT_TRUE(WaitUntil([&] { return seen.resyncs_.load() == 1; },
                        std::chrono::seconds(10)));
  const SystemTime now = kT0 + std::chrono::hours(1);
  constexpr int kChanges = 20;
  std::vector<std::chrono::milliseconds> latencies;
  for (int i = 0; i < kChanges; ++i) {
    const std::string id = "grt_heard_" + std::to_string(i);
    auto before = std::chrono::steady_clock::now();
    ASSERT_TRUE(InsertGrant(*store, ExpiredGrant(id, now)).ok());
    auto at = seen.WaitFor(id, std::chrono::seconds(5));
    ASSERT_TRUE(at.has_value()) << id;
    latencies.push_back(
        std::chrono::duration_cast<std::chrono::milliseconds>(*at - before));
  }
  std::sort(latencies.begin(), latencies.end());
  std::printf(
      "notification latency (insert commit to callback): median %lld "
      "ms, max %lld ms\n",
      static_cast<long long>(latencies[kChanges / 2].count()),
      static_cast<long long>(latencies.back().count()));
  EXPECT_LT(latencies[kChanges / 2], std::chrono::milliseconds(100));

  // A compare-and-set that loses writes nothing and notifies nobody; the
  // change committed after it is heard.
  Grant stale = ExpiredGrant("grt_heard_0", now);
  stale.generation = 7;
  ChangeSet lost;
  lost.grants.push_back({stale, GrantState::kActive});
  EXPECT_EQ(store->Commit(lost).code(), StatusCode::kAborted);
  ASSERT_TRUE(InsertGrant(*store, ExpiredGrant("grt_after", now)).ok());
  ASSERT_TRUE(seen.WaitFor("grt_after", std::chrono::seconds(5)).has_value());
  listener.Stop();
  EXPECT_FALSE(listener.connected());
}

TEST_F(PostgresStoreTest, ListenerReconnectsAndResyncsAfterTheServerReturns) {
  std::unique_ptr<PostgresStore> store = OpenOrDie(db_);
  ASSERT_NE(store, nullptr);
  Seen seen;
  PgListenerOptions fast;
  fast.max_backoff = std::chrono::milliseconds(200);
  PgGrantListener listener(JitdDsn(db_), seen.Callbacks(), fast);
  listener.Start();
  ASSERT_TRUE(WaitUntil([&] { return listener.connected(); },
                        std::chrono::seconds(10)));

  ASSERT_TRUE(pg_->Stop().ok());
  EXPECT_TRUE(WaitUntil([&] { return seen.losses_.load() == 1; },
                        std::chrono::seconds(10)));
  EXPECT_FALSE(listener.connected());
  // The store's pooled connection learns of the loss too.
  EXPECT_EQ(store->GetGrant("grt_none").status().code(),
            StatusCode::kUnavailable);
  ASSERT_TRUE(pg_->StartAgain().ok()) << pg_->LogTail();
  EXPECT_TRUE(WaitUntil([&] { return seen.resyncs_.load() == 2; },
                        std::chrono::seconds(10)));
  EXPECT_EQ(listener.connects(), 2);
  const SystemTime now = kT0 + std::chrono::hours(1);
  ASSERT_TRUE(InsertGrant(*store, ExpiredGrant("grt_back", now)).ok());
  EXPECT_TRUE(seen.WaitFor("grt_back", std::chrono::seconds(5)).has_value());
}

}  // namespace
}  // namespace jit
