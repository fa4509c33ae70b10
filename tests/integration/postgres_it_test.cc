// The postgres connector end to end: the real jitd binary granting a role in
// a real PostgreSQL 15, checked with the real psql client as the target
// user (THREATS T11, T12).
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "jit/base/duration.h"
#include "tests/integration/jitd_process.h"
#include "tests/support/postgres_server.h"

namespace jit::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kAliceToken = "pg-it-alice-token-0000";
const std::string kAdminToken = "pg-it-admin-token-0000";

constexpr char kSetupSql[] = R"sql(
CREATE ROLE app_admin NOLOGIN;
CREATE ROLE jitd LOGIN CREATEROLE;
GRANT pg_signal_backend TO jitd;
CREATE ROLE alice LOGIN;
CREATE TABLE secret (v int);
INSERT INTO secret VALUES (42);
ALTER TABLE secret OWNER TO app_admin;
)sql";

// `discovery` is the connector's discovery block ("" = none).
// `extra` adds connector lines ("    key: value\n").
std::string Config(const std::string& dsn, const std::string& discovery = "",
                   const std::string& extra = "") {
  return R"(storage: sqlite
auth:
  tokens:
    - {subject: alice, groups: [dev], token: ")" +
         kAliceToken + R"("}
    - {subject: adam, groups: [secops], token: ")" +
         kAdminToken + R"("}
roles: {admin: [secops], auditor: [secops], enforcer: [secops]}
connectors:
  - name: db
    type: postgres
    dsn: ")" +
         dsn + R"("
    managed_roles: [app_admin]
    timeout: 3s
)" + (discovery.empty() ? "" : "    discovery: " + discovery + "\n") +
         extra +
         R"(entitlements:
  - {name: db-admin, connector: db, params: {role: app_admin}, max_duration: 1h}
policies:
  - name: auto-db
    subjects: {groups: [dev]}
    entitlements: [db-admin]
    max_duration: 1h
    approval: {auto: true}
)";
}

class PostgresItTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresInstalled()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    auto pg = PostgresServer::Start(ServerOptions());
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(*pg);
    ASSERT_TRUE(pg_->Exec(kSetupSql).ok());
    ASSERT_TRUE(pg_->Exec(ExtraSetupSql()).ok());
    jitd_ = std::make_unique<JitdProcess>(
        tmp_.path(), Config(pg_->Dsn("jitd"), "", ConnectorExtra()));
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  virtual PostgresServerOptions ServerOptions() { return {}; }
  virtual std::string ExtraSetupSql() { return "SELECT 1"; }
  virtual std::string ConnectorExtra() { return ""; }

  // A one-shot `psql -c` as alice; its exit code and output.
  ProgramResult PsqlAsAlice(const std::string& sql) {
    return RunProgram({"/usr/bin/psql", "-X", "-v", "ON_ERROR_STOP=1",
                       pg_->Dsn("alice"), "-c", sql},
                      {});
  }
  bool AliceReadsSecret() {
    ProgramResult r = PsqlAsAlice("SELECT 'got' || v FROM secret");
    if (r.exit_code == 0 && r.out.find("got42") != std::string::npos)
      return true;
    EXPECT_NE(r.err.find("permission denied for table secret"),
              std::string::npos)
        << r.out << r.err;
    return false;
  }
  bool AliceIsMember() {
    auto n = pg_->QueryValue(
        "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = "
        "m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = "
        "'app_admin' AND u.rolname = 'alice'");
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() && *n == "1";
  }
  int AliceBackends() {
    auto n = pg_->QueryValue(
        "SELECT count(*) FROM pg_stat_activity WHERE usename = 'alice'");
    return n.ok() ? std::stoi(*n) : -1;
  }
  // An auto-approved grant; its id.
  std::string Activate(const std::string& duration) {
    Reply r = jitd_->Post("/v1/requests", kAliceToken,
                          {{"entitlement", "db-admin"},
                           {"duration", duration},
                           {"justification", "fix the stuck invoice batch"}});
    EXPECT_EQ(r.status, 201) << r.raw;
    EXPECT_EQ(r.body["state"], "active") << r.raw;
    return r.body.value("grant_id", "");
  }
  std::string GrantState(const std::string& id) {
    return jitd_->Get("/v1/grants/" + id, kAdminToken).body.value("state", "");
  }
  bool Allowed() {
    Reply r = jitd_->Post("/v1/check", kAliceToken,
                          {{"subject", "alice"}, {"entitlement", "db-admin"}});
    return r.status == 200 && r.body["allowed"].get<bool>();
  }

  TempDir tmp_;
  std::unique_ptr<PostgresServer> pg_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(PostgresItTest, DeniedBeforeAllowedWhileGrantedDeniedAfterExpiry) {
  EXPECT_FALSE(AliceReadsSecret());
  std::string id = Activate("3s");
  ASSERT_FALSE(id.empty());
  EXPECT_TRUE(AliceIsMember());
  EXPECT_TRUE(AliceReadsSecret());
  ASSERT_TRUE(WaitUntil([&] { return GrantState(id) == "ended"; }, 15s))
      << jitd_->log();
  EXPECT_FALSE(AliceReadsSecret());
  EXPECT_FALSE(AliceIsMember());
}

TEST_F(PostgresItTest, EarlyRevokeEndsAnOpenPsqlWithinTenSeconds) {
  std::string id = Activate("1h");
  ASSERT_FALSE(id.empty());
  PsqlProcess psql(pg_->Dsn("alice"), tmp_.path() + "/psql.out");
  psql.Send("SELECT 'in' || v FROM secret;\n");
  ASSERT_TRUE(WaitUntil(
      [&] { return psql.Output().find("in42") != std::string::npos; }, 10s))
      << psql.Output();

  const auto start = std::chrono::steady_clock::now();
  Reply r = jitd_->Post("/v1/grants/" + id + "/revoke", kAliceToken,
                        {{"reason", "task done"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_TRUE(WaitUntil([&] { return AliceBackends() == 0; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  psql.Send("SELECT 'still' || v FROM secret;\n");
  std::optional<int> code = psql.WaitExit(10s);
  ASSERT_TRUE(code.has_value()) << "psql still running";
  EXPECT_NE(*code, 0);
  EXPECT_EQ(psql.Output().find("still42"), std::string::npos);
  EXPECT_FALSE(AliceIsMember());
  EXPECT_FALSE(AliceReadsSecret());
  EXPECT_TRUE(WaitUntil([&] { return GrantState(id) == "ended"; }, 5s));
}

TEST_F(PostgresItTest, ExpiredWhileJitdWasDownIsRevokedBeforeReady) {
  std::string id = Activate("2s");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(AliceIsMember());
  jitd_->Kill9();
  const auto expired = std::chrono::steady_clock::now() + 2500ms;
  ASSERT_TRUE(WaitUntil(
      [&] { return std::chrono::steady_clock::now() >= expired; }, 5s));
  EXPECT_TRUE(AliceIsMember());  // nobody revoked it yet
  Status s = jitd_->Start();     // returns once /readyz is 200
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_FALSE(AliceIsMember()) << jitd_->log();
  EXPECT_EQ(GrantState(id), "ended");
}

TEST_F(PostgresItTest, PostgresDownAtRevokeIsRetriedUntilItIsBack) {
  std::string id = Activate("1h");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(pg_->Stop().ok());
  Reply r = jitd_->Post("/v1/grants/" + id + "/revoke", kAliceToken,
                        {{"reason", "task done"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(GrantState(id), "revoke_pending");
  EXPECT_FALSE(Allowed());
  ASSERT_TRUE(pg_->StartAgain().ok());
  EXPECT_TRUE(WaitUntil([&] { return GrantState(id) == "ended"; }, 20s))
      << jitd_->log();
  EXPECT_FALSE(AliceIsMember());
  EXPECT_FALSE(AliceReadsSecret());
}

}  // namespace
}  // namespace jit::testing

namespace jit::testing {
namespace {

// Standing privileges planted by hand are found; enforce mode removes them,
// and privileges jitd granted are never taken for drift.
class PostgresDriftItTest : public PostgresItTest {
 protected:
  void Restart(const std::string& discovery) {
    jitd_->Stop();
    jitd_->RewriteConfig(Config(pg_->Dsn("jitd"), discovery));
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::vector<json> DriftEvents() {
    std::vector<json> out;
    Reply r = jitd_->Get("/v1/audit?limit=1000", kAdminToken);
    for (const json& e : r.body["items"]) {
      if (e["type"] == "drift.found") out.push_back(e);
    }
    return out;
  }
  bool IsMember(const std::string& user) {
    auto n = pg_->QueryValue(
        "SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = "
        "m.roleid JOIN pg_roles u ON u.oid = m.member WHERE r.rolname = "
        "'app_admin' AND u.rolname = '" +
        user + "'");
    return n.ok() && *n == "1";
  }
};

TEST_F(PostgresDriftItTest, PlantedMembershipIsReportedThenRevokedInEnforce) {
  ASSERT_TRUE(
      pg_->Exec("CREATE ROLE carol LOGIN; GRANT app_admin TO carol;").ok());
  std::string id = Activate("1h");
  ASSERT_FALSE(id.empty());

  Restart("{mode: report, every: 1s}");
  ASSERT_TRUE(WaitUntil([&] { return !DriftEvents().empty(); }, 15s))
      << jitd_->log();
  std::vector<json> found = DriftEvents();
  ASSERT_EQ(found.size(), 1u) << found.size();
  json data = found[0]["data"];
  if (data.is_string()) data = json::parse(data.get<std::string>());
  EXPECT_EQ(data["target_user"], "carol");
  EXPECT_EQ(data["privilege"], "app_admin");
  EXPECT_EQ(data["connector"], "db");
  EXPECT_EQ(data["action"], "reported");
  EXPECT_TRUE(IsMember("carol"));  // report mode changes nothing
  EXPECT_TRUE(IsMember("alice"));

  Restart("{mode: enforce, every: 1s}");
  ASSERT_TRUE(WaitUntil([&] { return !IsMember("carol"); }, 15s))
      << jitd_->log();
  // The target changes first, then its event is committed: wait for both.
  auto revoked_event = [&] {
    bool found = false;
    for (json e : DriftEvents()) {
      json d = e["data"].is_string() ? json::parse(e["data"].get<std::string>())
                                     : e["data"];
      if (d["action"] == "revoked" && d["target_user"] == "carol") found = true;
      EXPECT_NE(d["target_user"], "alice");  // jitd's own grant is not drift
    }
    return found;
  };
  EXPECT_TRUE(WaitUntil(revoked_event, 15s)) << jitd_->log();
  EXPECT_TRUE(IsMember("alice"));
  EXPECT_EQ(GrantState(id), "active");
  EXPECT_TRUE(jitd_->Get("/v1/audit/verify", kAdminToken).body["ok"]);
}

}  // namespace
}  // namespace jit::testing

namespace jit::testing {
namespace {

// With pgaudit, what the elevated user ran joins the grant's audit trail
// when the grant ends.
class PostgresActivityItTest : public PostgresItTest {
 protected:
  void SetUp() override {
    if (!PgauditInstalled()) GTEST_SKIP() << "pgaudit is not installed";
    PostgresItTest::SetUp();
  }
  PostgresServerOptions ServerOptions() override {
    PostgresServerOptions o;
    o.pgaudit = true;
    return o;
  }
  std::string ExtraSetupSql() override {
    return "GRANT EXECUTE ON FUNCTION pg_read_file(text, bigint, bigint, "
           "boolean), pg_stat_file(text, boolean) TO jitd;"
           "ALTER ROLE alice SET pgaudit.log = 'all'";
  }
  std::string ConnectorExtra() override { return "    pgaudit: true\n"; }
};

TEST_F(PostgresActivityItTest, StatementsRunUnderTheGrantAreInItsTrail) {
  std::string id = Activate("1h");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(AliceReadsSecret());
  ASSERT_EQ(
      PsqlAsAlice("SELECT 'audit-marker-' || count(*) FROM secret").exit_code,
      0);
  Reply revoked = jitd_->Post("/v1/grants/" + id + "/revoke", kAdminToken,
                              {{"reason", "done"}});
  ASSERT_EQ(revoked.status, 200) << revoked.raw;
  ASSERT_TRUE(WaitUntil([&] { return GrantState(id) == "ended"; }, 15s));
  std::vector<std::string> statements;
  Reply audit = jitd_->Get("/v1/audit?limit=1000", kAdminToken);
  for (const json& e : audit.body["items"]) {
    if (e["type"] != "grant.activity" || e["grant_id"] != id) continue;
    json data = e["data"].is_string()
                    ? json::parse(e["data"].get<std::string>())
                    : e["data"];
    for (const json& item : data["items"]) {
      EXPECT_EQ(item["kind"], "statement");
      statements.push_back(item["text"]);
    }
  }
  bool marker = false;
  for (const std::string& s : statements)
    marker = marker || s.find("audit-marker-") != std::string::npos;
  EXPECT_TRUE(marker) << "statements: " << json(statements).dump();
}

}  // namespace
}  // namespace jit::testing

namespace jit::testing {
namespace {

// Two live grants of one role to one user share one membership: ending the
// first leaves it (and alice's sessions) for the second; ending the second
// takes it away.
TEST_F(PostgresItTest, TheLastOfTwoGrantsOfARoleTakesItAway) {
  std::string first = Activate("1h");
  std::string second = Activate("1h");
  ASSERT_FALSE(first.empty());
  ASSERT_FALSE(second.empty());
  PsqlProcess open(pg_->Dsn("alice"), tmp_.path() + "/psql.out");
  ASSERT_TRUE(WaitUntil([&] { return AliceBackends() == 1; }, 10s));

  ASSERT_EQ(jitd_
                ->Post("/v1/grants/" + first + "/revoke", kAdminToken,
                       {{"reason", "first task done"}})
                .status,
            200);
  ASSERT_TRUE(WaitUntil([&] { return GrantState(first) == "ended"; }, 15s));
  EXPECT_TRUE(AliceIsMember());
  EXPECT_TRUE(AliceReadsSecret());
  EXPECT_TRUE(Allowed());
  EXPECT_GE(AliceBackends(), 1);  // the open session belongs to both
  bool kept = false;
  std::string seen;
  Reply audit = jitd_->Get("/v1/audit?limit=1000", kAdminToken);
  for (const json& e : audit.body["items"]) {
    if (e["type"] != "grant.sessions_killed" || e["grant_id"] != first)
      continue;
    json d = e["data"].is_string() ? json::parse(e["data"].get<std::string>())
                                   : e["data"];
    seen = d.dump();
    kept = d["revoked_in_target"] == false &&
           d["kept_for_grants"] == json::array({second});
  }
  EXPECT_TRUE(kept) << seen;

  ASSERT_EQ(jitd_
                ->Post("/v1/grants/" + second + "/revoke", kAdminToken,
                       {{"reason", "second task done"}})
                .status,
            200);
  ASSERT_TRUE(WaitUntil([&] { return GrantState(second) == "ended"; }, 15s));
  EXPECT_FALSE(AliceIsMember());
  EXPECT_FALSE(AliceReadsSecret());
  EXPECT_TRUE(WaitUntil([&] { return AliceBackends() == 0; }, 10s));
}

}  // namespace
}  // namespace jit::testing
