// Machine identities end to end: the real jitd and the real `jit` CLI. An
// admin issues a token, a CI job uses it to get an auto-approved grant, the
// revoke takes effect on the next call, and the secret is nowhere but in
// the hands of whoever received it.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

std::string MachineConfig(const std::string& target_dir) {
  return TestConfig(target_dir) + R"(  - name: ci-deploy-box
    subjects: {tokens: [ci-deploy]}
    entitlements: [box]
    max_duration: 15m
    approval: {auto: true}
)";
}

std::string FileText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class MachineTokenTest : public JitdTest {
 protected:
  void SetUp() override {
    target_dir_ = tmp_.path() + "/target";
    std::filesystem::create_directories(target_dir_ + "/held");
    jitd_ =
        std::make_unique<JitdProcess>(tmp_.path(), MachineConfig(target_dir_));
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  ProgramResult Jit(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), JIT_BIN);
    return RunProgram(args, {{"JIT_SERVER", jitd_->url()},
                             {"JIT_TOKEN", token},
                             {"HOME", tmp_.path()}});
  }
};

TEST_F(MachineTokenTest, CiJobGetsAnAutoApprovedGrantUntilItsTokenIsRevoked) {
  ProgramResult created =
      Jit(kAdmin, {"token", "create", "--name", "ci-deploy", "--groups", "ci",
                   "--ttl", "30d", "--note", "deploys box"});
  ASSERT_EQ(created.exit_code, 0) << created.out << created.err;
  std::string token = created.out;
  while (!token.empty() && token.back() == '\n') token.pop_back();
  ASSERT_TRUE(token.starts_with("jit_m_")) << token;
  ASSERT_GE(token.size(), 6u + 64u);

  ProgramResult ls = Jit(kAdmin, {"token", "ls"});
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("ci-deploy"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("adam"), std::string::npos) << ls.out;
  EXPECT_EQ(ls.out.find(token), std::string::npos);

  ProgramResult asked =
      Jit(token, {"request", "box", "--for", "10m", "--reason",
                  "deploy build 42 to box", "--wait", "--json"});
  ASSERT_EQ(asked.exit_code, 0) << asked.out << asked.err;
  auto req = nlohmann::json::parse(asked.out);
  EXPECT_EQ(req["state"], "active") << asked.out;
  EXPECT_EQ(req["subject"], "ci-deploy");
  std::string grant_id = req["grant_id"];
  EXPECT_TRUE(Held(grant_id));
  int approved = 0;
  for (const auto& e : AuditEvents()) {
    if (e["type"] == "request.approved" && e["request_id"] == req["id"]) {
      EXPECT_EQ(e["actor"], "policy");
      ++approved;
    }
  }
  EXPECT_EQ(approved, 1);

  // The machine is no admin and cannot ask beyond its policy.
  EXPECT_EQ(Ask(token, "box", "30m", "deploy build 43 to box").status, 403);
  EXPECT_EQ(jitd_->Get("/v1/tokens", token).status, 403);

  ProgramResult revoked = Jit(kAdmin, {"token", "revoke", "ci-deploy"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.out << revoked.err;
  Reply after = jitd_->Get("/v1/grants", token);
  EXPECT_EQ(after.status, 401) << after.raw;
  ProgramResult done = Jit(token, {"done", grant_id});
  EXPECT_NE(done.exit_code, 0);
  EXPECT_EQ(CountEvents("token.created"), 1);
  EXPECT_EQ(CountEvents("token.revoked"), 1);

  // Nowhere but with the caller: not in the audit log, jitd's stderr, or
  // the database file.
  std::string audit = jitd_->Get("/v1/audit?limit=1000", kAuditor).raw;
  std::string secret = token.substr(6);
  EXPECT_EQ(audit.find(secret), std::string::npos);
  EXPECT_EQ(jitd_->log().find(secret), std::string::npos);
  EXPECT_EQ(FileText(jitd_->db_path()).find(secret), std::string::npos);
  EXPECT_EQ(FileText(jitd_->db_path() + "-wal").find(secret),
            std::string::npos);
}

TEST_F(MachineTokenTest, OnlyAdminsCreateTokensAndNamesDoNotCollide) {
  Reply by_alice =
      jitd_->Post("/v1/tokens", kAlice,
                  {{"name", "sneaky"}, {"groups", {"dev"}}, {"ttl", "1d"}});
  EXPECT_EQ(by_alice.status, 403) << by_alice.raw;
  ProgramResult cli = Jit(kAlice, {"token", "create", "--name", "sneaky"});
  EXPECT_NE(cli.exit_code, 0);
  EXPECT_NE((cli.out + cli.err).find("forbidden"), std::string::npos)
      << cli.out << cli.err;

  Reply clash =
      jitd_->Post("/v1/tokens", kAdmin, {{"name", "alice"}, {"ttl", "1d"}});
  EXPECT_EQ(clash.status, 409) << clash.raw;
  Reply too_long =
      jitd_->Post("/v1/tokens", kAdmin, {{"name", "ci"}, {"ttl", "91d"}});
  EXPECT_EQ(too_long.status, 400) << too_long.raw;
  Reply bad_name =
      jitd_->Post("/v1/tokens", kAdmin, {{"name", "../x"}, {"ttl", "1d"}});
  EXPECT_EQ(bad_name.status, 400) << bad_name.raw;
  Reply made =
      jitd_->Post("/v1/tokens", kAdmin,
                  {{"name", "ci"}, {"groups", {"dev"}}, {"ttl", "1d"}});
  ASSERT_EQ(made.status, 201) << made.raw;
  Reply again =
      jitd_->Post("/v1/tokens", kAdmin, {{"name", "ci"}, {"ttl", "1d"}});
  EXPECT_EQ(again.status, 409) << again.raw;
  EXPECT_EQ(CountEvents("token.created"), 1);
  EXPECT_EQ(jitd_->Get("/v1/tokens", kAlice).status, 403);
  EXPECT_EQ(
      jitd_->Post("/v1/tokens/ci/revoke", kAlice, nlohmann::json::object())
          .status,
      403);
  // A machine token named like a person is still no person: it is
  // covered by its groups (dev: auto-read), never by subjects.users.
  std::string token = made.body["token"];
  Reply read = Ask(token, "read", "5m", "nightly export job");
  EXPECT_EQ(read.status, 201) << read.raw;
  EXPECT_EQ(read.body["state"], "active") << read.raw;
}

}  // namespace
}  // namespace jit::testing
