// The real jitd on the PostgreSQL store (`storage: {postgres: {dsn_file:}}`)
// of a real PostgreSQL 15 that requires a password: a grant made through
// the API is in the database, and survives a restart of jitd with its audit
// chain intact.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "tests/integration/fixture.h"
#include "tests/support/postgres_server.h"

namespace jit::testing {
namespace {

// A fixture value for a throwaway cluster, not a secret.
constexpr char kStorePassword[] = "pg-store-it-password";

class PgStoreItTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!PostgresInstalled()) GTEST_SKIP() << "PostgreSQL 15 is not installed";
    PostgresServerOptions options;
    options.hba_lines = {"host jitd_store jitd 127.0.0.1/32 scram-sha-256"};
    auto pg = PostgresServer::Start(options);
    ASSERT_TRUE(pg.ok()) << pg.status().ToString();
    pg_ = std::move(*pg);
    Status s = pg_->Exec(std::string("CREATE ROLE jitd LOGIN PASSWORD '") +
                         kStorePassword + "'");
    ASSERT_TRUE(s.ok()) << s.ToString();
    s = pg_->Exec("CREATE DATABASE jitd_store OWNER jitd");
    ASSERT_TRUE(s.ok()) << s.ToString();

    target_dir_ = tmp_.path() + "/target";
    std::filesystem::create_directories(target_dir_ + "/held");
    const std::string dsn_file = tmp_.path() + "/store.dsn";
    std::ofstream(dsn_file) << pg_->Dsn("jitd", "jitd_store")
                            << " password=" << kStorePassword << "\n";
    ASSERT_EQ(chmod(dsn_file.c_str(), 0600), 0);
    std::string config = TestConfig(target_dir_);
    const std::string sqlite = "storage: sqlite\n";
    ASSERT_EQ(config.find(sqlite), 0u);
    config.replace(0, sqlite.size(),
                   "storage:\n  postgres: {dsn_file: " + dsn_file + "}\n");
    jitd_ = std::make_unique<JitdProcess>(tmp_.path(), config);
    s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString() << jitd_->log();
  }

  bool Allowed() {
    Reply r = jitd_->Post("/v1/check", kAlice,
                          {{"subject", "alice"}, {"entitlement", "box"}});
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.status == 200 && r.body["allowed"].get<bool>();
  }
  std::string StoredState(const std::string& grant_id) {
    StatusOr<std::string> v = pg_->QueryValue(
        "SELECT state FROM grants WHERE id = '" + grant_id + "'", "jitd_store");
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : "";
  }

  TempDir tmp_;
  std::string target_dir_;
  std::unique_ptr<PostgresServer> pg_;
  std::unique_ptr<JitdProcess> jitd_;
};

TEST_F(PgStoreItTest, GrantLivesInPostgresAndSurvivesARestart) {
  Reply asked = jitd_->Post("/v1/requests", kAlice,
                            {{"entitlement", "box"},
                             {"duration", "10m"},
                             {"justification", "deploy hotfix"}});
  ASSERT_EQ(asked.status, 201) << asked.raw;
  ASSERT_EQ(asked.body["state"], "active") << asked.raw;
  const std::string grant_id = asked.body["grant_id"];
  EXPECT_TRUE(std::filesystem::exists(target_dir_ + "/held/" + grant_id));
  EXPECT_TRUE(Allowed());
  // The record is in PostgreSQL, and no SQLite file was made beside it.
  EXPECT_EQ(StoredState(grant_id), "active");
  EXPECT_FALSE(std::filesystem::exists(jitd_->db_path()));
  const std::string events_before =
      *pg_->QueryValue("SELECT count(*) FROM audit", "jitd_store");

  jitd_->Stop();
  ASSERT_TRUE(jitd_->Start().ok()) << jitd_->log();
  EXPECT_TRUE(Allowed());
  Reply grant = jitd_->Get("/v1/grants/" + grant_id, kAlice);
  ASSERT_EQ(grant.status, 200) << grant.raw;
  EXPECT_EQ(grant.body["state"], "active");
  Reply verify = jitd_->Get("/v1/audit/verify", kAuditor);
  ASSERT_EQ(verify.status, 200) << verify.raw;
  EXPECT_TRUE(verify.body["ok"].get<bool>()) << verify.raw;
  EXPECT_GE(std::stoi(events_before), 2);
  EXPECT_GE(verify.body["events"].get<int>(), std::stoi(events_before))
      << verify.raw;
}

TEST_F(PgStoreItTest, StoreRefusesTheWrongPassword) {
  jitd_->Stop();
  const std::string dsn_file = tmp_.path() + "/store.dsn";
  std::ofstream(dsn_file) << pg_->Dsn("jitd", "jitd_store")
                          << " password=wrong-password\n";
  auto exited = jitd_->RunToExit();
  ASSERT_TRUE(exited.ok()) << exited.status().ToString();
  EXPECT_NE(exited->first, 0);
  EXPECT_NE(exited->second.find("password authentication failed"),
            std::string::npos)
      << exited->second;
  EXPECT_EQ(exited->second.find("wrong-password"), std::string::npos);
}

}  // namespace
}  // namespace jit::testing
