// The `jit` CLI against the real jitd binary: what a person types.
#include <gtest/gtest.h>

#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

class CliTest : public JitdTest {
 protected:
  ProgramResult Jit(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), JIT_BIN);
    return RunProgram(args, {{"JIT_SERVER", jitd_->url()},
                             {"JIT_TOKEN", token},
                             {"HOME", tmp_.path()}});
  }
};

TEST_F(CliTest, RequestApproveListRevokeAndVerifyFromTheCommandLine) {
  ProgramResult asked = Jit(
      kAlice, {"request", "admin", "--for", "10m", "--reason",
               "rotate the TLS keys on db1", "--ticket", "OPS-9", "--json"});
  ASSERT_EQ(asked.exit_code, 0) << asked.out << asked.err;
  auto req = nlohmann::json::parse(asked.out);
  std::string id = req["id"];
  EXPECT_EQ(req["state"], "pending");

  ProgramResult ls = Jit(kBob, {"ls"});
  EXPECT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find(id), std::string::npos) << ls.out;

  ProgramResult self = Jit(kAlice, {"approve", id});
  EXPECT_NE(self.exit_code, 0);
  EXPECT_NE((self.out + self.err).find("self_approval"), std::string::npos)
      << self.out << self.err;

  ProgramResult approved = Jit(kBob, {"approve", id});
  ASSERT_EQ(approved.exit_code, 0) << approved.out << approved.err;

  ProgramResult grants = Jit(kAlice, {"grants", "--json"});
  ASSERT_EQ(grants.exit_code, 0) << grants.err;
  auto items = nlohmann::json::parse(grants.out)["items"];
  ASSERT_EQ(items.size(), 1u);
  std::string grant_id = items[0]["id"];

  ProgramResult table = Jit(kAlice, {"grants"});
  EXPECT_NE(table.out.find(grant_id), std::string::npos) << table.out;

  ProgramResult revoked =
      Jit(kAlice, {"revoke", grant_id, "--reason", "task done"});
  EXPECT_EQ(revoked.exit_code, 0) << revoked.out << revoked.err;

  ProgramResult verify = Jit(kAuditor, {"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_NE(verify.out.find("ok"), std::string::npos);

  ProgramResult tail = Jit(kAuditor, {"audit", "tail", "-n", "50"});
  EXPECT_EQ(tail.exit_code, 0) << tail.err;
  EXPECT_NE(tail.out.find("grant.revoked"), std::string::npos) << tail.out;
}

TEST_F(CliTest, PolicyDenialPrintsReasonsAndExitsNonZero) {
  ProgramResult r =
      Jit(kAlice, {"request", "admin", "--for", "5h", "--reason", "x"});
  EXPECT_NE(r.exit_code, 0);
  std::string all = r.out + r.err;
  EXPECT_NE(all.find("policy_denied"), std::string::npos) << all;
  EXPECT_NE(all.find("exceeds"), std::string::npos) << all;
}

TEST_F(CliTest, WaitFollowsTheRequestUntilItIsActive) {
  ProgramResult r = Jit(kAlice, {"request", "read", "--for", "5m", "--reason",
                                 "look at the slow query log", "--wait"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("active"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace jit::testing
