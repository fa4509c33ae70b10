// Three real jitd replicas on one real PostgreSQL 15 (issue 9, "Done when"):
// requests and approvals through all three, 64 concurrent approvals of one
// request spread across them, and an expiry storm during which one replica
// is killed with SIGKILL.
//
// The storm's grants live in ONE target shared by the three replicas (an
// exec connector whose privileges are files, see kSharedTarget), so what
// each grant saw in its target is counted outside jitd: a revoke call can
// only be at-least-once across a kill -9 (nobody can know whether the dead
// process's last calls reached the target), the effect must be exactly once.
//
// The storm has 1 000 grants here; the `soak` label runs the same test
// with 10 000 (JIT_REPLICAS_STORM).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "jit/storage/postgres/postgres_store.h"
#include "jit/workflow/grant_lifecycle.h"
#include "tests/integration/fixture.h"
#include "tests/support/postgres_server.h"

namespace jit::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr int kReplicas = 3;

int StormSize() {
  const char* n = std::getenv("JIT_REPLICAS_STORM");
  if (n == nullptr) return 1000;
  return std::clamp(std::atoi(n), 1, 100'000);
}

// Seeding and revoking take longer as the storm grows: its time bounds are
// those of the 1 000-grant storm plus `each` per further grant.
milliseconds ForLargerStorm(int n, milliseconds each) {
  return std::max(0, n - 1000) * each;
}

// "revoke GRANT_ID EFFECT" lines of one call log, as grant id -> count.
std::map<std::string, int> RevokeCalls(const std::string& log) {
  std::map<std::string, int> out;
  std::ifstream in(log);
  std::string op, id, effect;
  while (in >> op >> id >> effect) {
    if (op == "revoke") ++out[id];
  }
  return out;
}

// The target every replica's `target` connector revokes in: a privilege is
// the file DIR/held/GRANT_ID. unlink(2) is atomic, so of any number of
// revoke calls for one grant, from any process, exactly one removes the
// file. Each call appends "removed|absent GRANT_ID CALLER" to
// DIR/revokes.log in one short O_APPEND write; CALLER comes from the
// connector's env. The script runs in its own process group, so a call in
// flight when its jitd is killed still finishes and logs.
constexpr char kSharedTarget[] = R"(#!/bin/sh
set -eu
action="$1"; dir="$2"; grant="$3"
case "$action" in
  grant) echo "$JIT_USER" > "$dir/held/$grant" ;;
  revoke)
    if rm "$dir/held/$grant" 2>/dev/null; then effect=removed
    elif [ -e "$dir/held/$grant" ]; then echo "cannot remove" >&2; exit 1
    else effect=absent; fi
    echo "$effect $grant $TARGET_CALLER" >> "$dir/revokes.log" ;;
  check) test -e "$dir/held/$grant" ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
)";

// One revoke call as the shared target logged it.
struct TargetCall {
  bool removed = false;  // this call took the privilege away
  std::string grant_id;
  int replica = -1;  // index of the calling replica
};

std::vector<TargetCall> TargetCalls(const std::string& log) {
  std::vector<TargetCall> out;
  std::ifstream in(log);
  std::string effect, id, caller;
  while (in >> effect >> id >> caller) {
    TargetCall call;
    call.removed = effect == "removed";
    EXPECT_TRUE(call.removed || effect == "absent") << effect;
    call.grant_id = id;
    if (caller.rfind("replica", 0) == 0) call.replica = std::atoi(&caller[7]);
    EXPECT_GE(call.replica, 0) << caller;
    out.push_back(std::move(call));
  }
  return out;
}

// Stops and joins threads however the test leaves (an ASSERT returns).
struct JoinOnExit {
  std::atomic<bool>& running;
  std::vector<std::thread>& threads;
  ~JoinOnExit() {
    running.store(false);
    for (std::thread& t : threads) {
      if (t.joinable()) t.join();
    }
  }
};

// Space-separated words of `text`.
std::set<std::string> Words(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  std::string word;
  while (in >> word) out.insert(word);
  return out;
}

class ReplicasItTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresInstalled()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    auto pg = PostgresServer::Start();
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(*pg);
    ASSERT_TRUE(pg_->Exec("CREATE ROLE jitd LOGIN").ok());
    ASSERT_TRUE(pg_->Exec("CREATE DATABASE jitd_store OWNER jitd").ok());
    const std::string dsn = pg_->Dsn("jitd", "jitd_store");
    target_ = tmp_.path() + "/target";
    std::filesystem::create_directories(target_ + "/held");
    const std::string script = tmp_.path() + "/shared_target.sh";
    std::ofstream(script) << kSharedTarget;
    for (int i = 0; i < kReplicas; ++i) {
      const std::string dir = tmp_.path() + "/replica" + std::to_string(i);
      std::filesystem::create_directories(dir);
      std::string config = TestConfig(target_);
      Replace(config, "storage: sqlite\n",
              "storage: {postgres: \"" + dsn + "\"}\n");
      Replace(config, "{name: demo, type: fake}",
              "{name: demo, type: fake, call_log: " + dir + "/calls.log}");
      for (int k = 0; k < 3; ++k) {  // grant, revoke, check
        Replace(config, std::string(JIT_IT_TESTDATA) + "/target.sh", script);
      }
      Replace(config, "    timeout: 10s\n",
              "    timeout: 10s\n    env: {TARGET_CALLER: replica" +
                  std::to_string(i) + "}\n");
      replicas_.push_back(std::make_unique<JitdProcess>(dir, config));
      Status s = replicas_.back()->Start();
      ASSERT_TRUE(s.ok()) << s.ToString() << replicas_.back()->log();
    }
    auto store = PostgresStore::Open(dsn);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  static void Replace(std::string& text, const std::string& from,
                      const std::string& to) {
    size_t at = text.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    text.replace(at, from.size(), to);
  }

  JitdProcess& R(int i) { return *replicas_[i % kReplicas]; }

  bool Allowed(int replica, const std::string& subject,
               const std::string& entitlement) {
    Reply r =
        R(replica).Post("/v1/check", kEnforcer,
                        {{"subject", subject}, {"entitlement", entitlement}});
    return r.status == 200 && r.body["allowed"].get<bool>();
  }

  std::string Query(const std::string& sql) {
    StatusOr<std::string> v = pg_->QueryValue(sql, "jitd_store");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : "";
  }

  TempDir tmp_;
  std::string target_;  // the shared target's directory
  std::unique_ptr<PostgresServer> pg_;
  std::vector<std::unique_ptr<JitdProcess>> replicas_;
  std::unique_ptr<PostgresStore> store_;
};

TEST_F(ReplicasItTest, RequestsApprovalsAndChecksThroughEveryReplica) {
  for (int i = 0; i < kReplicas * 2; ++i) {
    Reply asked = R(i).Post("/v1/requests", kAlice,
                            {{"entitlement", "admin"},
                             {"duration", "10m"},
                             {"justification", "rotate the replica keys now"},
                             {"ticket", "OPS-" + std::to_string(i + 1)}});
    ASSERT_EQ(asked.status, 201) << asked.raw;
    const std::string id = asked.body["id"];
    Reply approved = R(i + 1).Post("/v1/requests/" + id + "/approve", kBob,
                                   nlohmann::json::object());
    ASSERT_EQ(approved.status, 200) << approved.raw;
    EXPECT_EQ(approved.body["state"], "active") << approved.raw;
    Reply seen = R(i + 2).Get("/v1/requests/" + id, kAlice);
    EXPECT_EQ(seen.body["state"], "active") << seen.raw;
  }
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(
        WaitUntil([&] { return Allowed(i, "alice", "admin"); }, seconds(2)))
        << "replica " << i;
  }
}

// 64 approvals of one request, from two approvers, spread over the three
// replicas at once: exactly one activates it; one grant exists.
TEST_F(ReplicasItTest, ConcurrentApprovalsOnAllReplicasHaveOneWinner) {
  Reply asked = R(0).Post("/v1/requests", kAlice,
                          {{"entitlement", "admin"},
                           {"duration", "10m"},
                           {"justification", "contested approval for a test"},
                           {"ticket", "OPS-64"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  const std::string id = asked.body["id"];
  constexpr int kApprovals = 64;
  std::atomic<int> activated{0};
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> approvers;
  for (int i = 0; i < kApprovals; ++i) {
    approvers.emplace_back([&, i] {
      Reply r = R(i).Post("/v1/requests/" + id + "/approve",
                          i % 2 == 0 ? kBob : kCarol, nlohmann::json::object());
      if (r.status == 200 && r.body["state"] == "active") {
        ++activated;
      } else if (r.status == 409) {
        ++refused;
      } else {
        ++other;
        ADD_FAILURE() << r.status << " " << r.raw;
      }
    });
  }
  for (std::thread& t : approvers) t.join();
  EXPECT_EQ(activated.load(), 1);
  EXPECT_EQ(refused.load(), kApprovals - 1);
  EXPECT_EQ(
      Query("SELECT count(*) FROM grants WHERE request_id = '" + id + "'"),
      "1");
  EXPECT_EQ(Query("SELECT count(*) FROM audit WHERE type = 'grant.activated' "
                  "AND request_id = '" +
                  id + "'"),
            "1");
}

// The storm: N grants of one subject expiring in the same millisecond,
// committed together (each notifies every replica) and held in the shared
// target. Every replica allows before and denies after expires_at; one
// replica is killed while revoking; the others take its claims over once
// they run out. Each grant is taken out of the target exactly once and ends
// with exactly one recorded revoke; a second (no-op) call happens only for
// a grant the killed replica had claimed and revoked without living to
// record it.
TEST_F(ReplicasItTest, ExpiryStormWithAReplicaKilledRevokesEveryGrantOnce) {
  const int n = StormSize();
  const SystemTime now = std::chrono::time_point_cast<milliseconds>(
      std::chrono::system_clock::now());
  const SystemTime expiry =
      now + seconds(5) + ForLargerStorm(n, milliseconds(6));
  std::vector<std::string> ids;
  for (int first = 0; first < n; first += 1000) {
    ChangeSet cs;
    for (int i = first; i < std::min(n, first + 1000); ++i) {
      Grant g;
      g.id = fmt::format("grt_{:032x}", 0x5707000 + i);
      g.request_id = fmt::format("req_{:032x}", 0x5707000 + i);
      g.subject = "storm";
      g.entitlement = "box";
      g.connector = "target";
      g.starts_at = now;
      g.expires_at = expiry;
      ids.push_back(g.id);
      std::ofstream(target_ + "/held/" + g.id) << "storm\n";
      cs.grants.push_back({g, std::nullopt});
    }
    Status s = store_->Commit(cs);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  const auto seed_ms = std::chrono::duration_cast<milliseconds>(
                           std::chrono::system_clock::now() - now)
                           .count();
  for (int i = 0; i < kReplicas; ++i) {
    EXPECT_TRUE(
        WaitUntil([&] { return Allowed(i, "storm", "box"); }, seconds(3)))
        << "replica " << i << " never allowed a storm grant";
  }

  // Checks on every replica across the expiry: an allow asked after
  // expires_at is a violation. A checker leaves its replica alone once it
  // is killed (`dead`): only this thread kills and reaps it.
  std::atomic<int> dead{-1};
  std::atomic<int> allowed_before{0};
  std::atomic<int> allowed_after{0};
  std::atomic<int> asked_after{0};
  std::atomic<bool> checking{true};
  std::vector<std::thread> checkers;
  JoinOnExit join_checkers{checking, checkers};
  for (int i = 0; i < kReplicas; ++i) {
    checkers.emplace_back([&, i] {
      auto until = std::chrono::steady_clock::now() + seconds(60) +
                   ForLargerStorm(n, milliseconds(40));  // bound
      while (checking.load() && std::chrono::steady_clock::now() < until) {
        if (dead.load() == i) return;
        SystemTime asked = std::chrono::system_clock::now();
        Reply r = R(i).Post("/v1/check", kEnforcer,
                            {{"subject", "storm"}, {"entitlement", "box"}});
        if (r.status != 200) continue;
        bool allowed = r.body["allowed"].get<bool>();
        if (asked >= expiry) {
          ++asked_after;
          if (allowed) ++allowed_after;
        } else if (allowed) {
          ++allowed_before;
        }
      }
    });
  }

  // Kill the first replica seen revoking in the target, in the middle of
  // its batch.
  const std::string log = target_ + "/revokes.log";
  int killed = -1;
  ASSERT_TRUE(WaitUntil(
      [&] {
        std::vector<TargetCall> calls = TargetCalls(log);
        if (calls.empty()) return false;
        killed = calls.front().replica;
        return true;
      },
      std::chrono::duration_cast<milliseconds>(
          expiry - std::chrono::system_clock::now()) +
          seconds(30)));
  ASSERT_TRUE(killed >= 0 && killed < kReplicas) << killed;
  dead.store(killed);
  R(killed).Kill9();
  const auto killed_at = std::chrono::steady_clock::now();
  // Claimed and not yet ended right after the kill: holds every claim of
  // the killed replica (they stay until kRevokeClaimLease runs out).
  const std::set<std::string> claimed_at_kill = Words(
      Query("SELECT coalesce(string_agg(id, ' '), '') FROM grants WHERE "
            "subject = 'storm' AND state <> 'ended' AND next_attempt_at IS "
            "NOT NULL"));

  const std::string not_ended =
      "SELECT count(*) FROM grants WHERE subject = 'storm' AND state <> "
      "'ended'";
  bool all_ended = WaitUntil(
      [&] { return Query(not_ended) == "0"; },
      kRevokeClaimLease + seconds(30) + ForLargerStorm(n, milliseconds(30)));
  const auto done_ms = std::chrono::duration_cast<milliseconds>(
                           std::chrono::steady_clock::now() - killed_at)
                           .count();
  checking.store(false);
  for (std::thread& t : checkers) t.join();
  ASSERT_TRUE(all_ended) << Query(not_ended) << " storm grants not ended";

  EXPECT_GT(allowed_before.load(), 0);
  EXPECT_GT(asked_after.load(), 0);
  EXPECT_EQ(allowed_after.load(), 0) << "allowed after expires_at";

  // Recorded: one revoke (grant.sessions_killed) per grant, each done in
  // the target.
  EXPECT_EQ(Query("SELECT count(*) FROM audit WHERE type = "
                  "'grant.sessions_killed' AND subject = 'storm'"),
            std::to_string(n));
  EXPECT_EQ(Query("SELECT count(DISTINCT grant_id) FROM audit WHERE type = "
                  "'grant.sessions_killed' AND subject = 'storm'"),
            std::to_string(n));
  EXPECT_EQ(Query("SELECT count(*) FROM audit WHERE type = "
                  "'grant.sessions_killed' AND subject = 'storm' AND "
                  "(data::jsonb ->> 'revoked_in_target') = 'true'"),
            std::to_string(n));

  // In the target. Calls: the surviving replicas called revoke at most once
  // per grant, and together with the killed one at least once. Effect:
  // exactly one call per grant removed it, and nothing of it is held.
  std::map<std::string, int> survivor_calls, killed_calls, removals;
  std::map<std::string, int> remover;  // grant id -> replica that removed it
  std::vector<TargetCall> no_ops;
  for (const TargetCall& call : TargetCalls(log)) {
    ++(call.replica == killed ? killed_calls : survivor_calls)[call.grant_id];
    if (call.removed) {
      ++removals[call.grant_id];
      remover[call.grant_id] = call.replica;
    } else {
      no_ops.push_back(call);
    }
  }
  int exactly_once = 0;
  int again_after_kill = 0;
  for (const std::string& id : ids) {
    int mine = survivor_calls.count(id) ? survivor_calls[id] : 0;
    int dead = killed_calls.count(id) ? killed_calls[id] : 0;
    EXPECT_LE(mine, 1) << id;
    EXPECT_LE(dead, 1) << id;
    EXPECT_GE(mine + dead, 1) << id;
    if (mine + dead == 1) ++exactly_once;
    if (mine + dead == 2) ++again_after_kill;
    EXPECT_EQ(removals.count(id) ? removals[id] : 0, 1) << id;
    EXPECT_FALSE(std::filesystem::exists(target_ + "/held/" + id)) << id;
  }
  // A no-op call repeats a removal the killed replica made without living
  // to record it: that grant was still claimed when it died, and only a
  // survivor, after the claim ran out, calls again.
  for (const TargetCall& call : no_ops) {
    EXPECT_NE(call.replica, killed) << call.grant_id;
    EXPECT_EQ(remover[call.grant_id], killed) << call.grant_id;
    EXPECT_TRUE(claimed_at_kill.count(call.grant_id)) << call.grant_id;
  }
  std::printf(
      "storm: %d grants seeded in %lld ms, replica %d killed (%zu grants "
      "claimed at the kill); all ended %lld ms after the kill; %d revoked "
      "exactly once, %d revoked again after the kill; removed in the target: "
      "%zu, no-op calls: %zu; checks after expiry: %d, allowed: %d\n",
      n, static_cast<long long>(seed_ms), killed, claimed_at_kill.size(),
      static_cast<long long>(done_ms), exactly_once, again_after_kill,
      removals.size(), no_ops.size(), asked_after.load(), allowed_after.load());
  EXPECT_EQ(exactly_once + again_after_kill, n);
  EXPECT_EQ(static_cast<int>(no_ops.size()), again_after_kill);
}

// PostgreSQL stopped under three running replicas: requests and approvals
// answer 503, check keeps answering from each index and denies after
// expires_at; once the server is back the overdue revoke runs (once).
TEST_F(ReplicasItTest, PostgresDownFailsClosedAndOverdueRevokesRunOnReturn) {
  Reply pending =
      R(0).Post("/v1/requests", kAlice,
                {{"entitlement", "admin"},
                 {"duration", "10m"},
                 {"justification", "approved while the store is down"},
                 {"ticket", "OPS-503"}});
  ASSERT_EQ(pending.status, 201) << pending.raw;
  const SystemTime expiry = std::chrono::time_point_cast<milliseconds>(
                                std::chrono::system_clock::now()) +
                            seconds(4);
  Grant g;
  g.id = fmt::format("grt_{:032x}", 0xd0e);
  g.request_id = fmt::format("req_{:032x}", 0xd0e);
  g.subject = "downtime";
  g.entitlement = "read";
  g.connector = "demo";
  g.starts_at = expiry - seconds(10);
  g.expires_at = expiry;
  ChangeSet cs;
  cs.grants.push_back({g, std::nullopt});
  ASSERT_TRUE(store_->Commit(cs).ok());
  for (int i = 0; i < kReplicas; ++i) {
    ASSERT_TRUE(
        WaitUntil([&] { return Allowed(i, "downtime", "read"); }, seconds(2)))
        << "replica " << i;
  }

  ASSERT_TRUE(pg_->Stop().ok());
  for (int i = 0; i < kReplicas; ++i) {
    Reply asked = R(i).Post("/v1/requests", kAlice,
                            {{"entitlement", "read"},
                             {"duration", "10m"},
                             {"justification", "while the store is down"}});
    EXPECT_EQ(asked.status, 503) << asked.raw;
    EXPECT_EQ(asked.body["error"]["code"], "unavailable") << asked.raw;
    Reply approved = R(i).Post(
        "/v1/requests/" + pending.body["id"].get<std::string>() + "/approve",
        kBob, nlohmann::json::object());
    EXPECT_EQ(approved.status, 503) << approved.raw;
  }
  // Across the expiry, from the indexes alone.
  int after = 0;
  while (std::chrono::system_clock::now() < expiry + seconds(1)) {
    for (int i = 0; i < kReplicas; ++i) {
      SystemTime asked = std::chrono::system_clock::now();
      bool allowed = Allowed(i, "downtime", "read");
      if (asked < expiry) continue;
      ++after;
      EXPECT_FALSE(allowed) << "replica " << i << " allowed after expiry";
    }
  }
  EXPECT_GT(after, 0);

  ASSERT_TRUE(pg_->StartAgain().ok()) << pg_->LogTail();
  EXPECT_TRUE(WaitUntil(
      [&] {
        return Query("SELECT state FROM grants WHERE id = '" + g.id + "'") ==
               "ended";
      },
      seconds(20)));
  int calls = 0;
  for (int i = 0; i < kReplicas; ++i) {
    auto revokes = RevokeCalls(R(i).dir() + "/calls.log");
    calls += revokes.count(g.id) ? revokes[g.id] : 0;
  }
  EXPECT_EQ(calls, 1);
  Reply back = R(1).Post(
      "/v1/requests/" + pending.body["id"].get<std::string>() + "/approve",
      kBob, nlohmann::json::object());
  EXPECT_EQ(back.status, 200) << back.raw;
}

}  // namespace
}  // namespace jit::testing
