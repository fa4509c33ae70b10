// MFA step-up with TOTP end to end: the real jitd with static tokens (the
// embedded default) and the real `jit` CLI. A person enrolls (QR code and
// otpauth URI), confirms, then a policy with require.mfa takes a current
// code once; a replayed or wrong code is refused, and wrong codes count
// toward the failed-authentication rate limit.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <regex>
#include <set>

#include "jit/identity/totp.h"
#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

using std::chrono::seconds;

// mallory has no groups: only this policy lets her read, with a code.
std::string MfaConfig(const std::string& target_dir, int failures) {
  std::string config = TestConfig(target_dir) + R"(  - name: mallory-read-mfa
    subjects: {users: [mallory]}
    entitlements: [read]
    max_duration: 15m
    require: {mfa: true}
    approval: {auto: true}
)";
  const std::string auth = "auth:\n";
  config.replace(config.find(auth), auth.size(),
                 auth + "  rate_limit: {failures: " + std::to_string(failures) +
                     ", per: 10m}\n");
  return config;
}

std::string CodeAt(const std::string& seed, seconds offset) {
  return *TotpCode(seed, std::chrono::system_clock::now() + offset);
}

// A code matching none of the steps the server may accept now.
std::string WrongCode(const std::string& seed) {
  std::set<std::string> near;
  for (int step = -3; step <= 3; ++step)
    near.insert(CodeAt(seed, seconds(30 * step)));
  for (std::string candidate : {"000000", "111111", "222222", "333333"}) {
    if (!near.count(candidate)) return candidate;
  }
  return "444444";
}

class MfaTotpTest : public JitdTest {
 protected:
  void StartWithLimit(int failures) {
    target_dir_ = tmp_.path() + "/target";
    std::filesystem::create_directories(target_dir_ + "/held");
    jitd_ = std::make_unique<JitdProcess>(tmp_.path(),
                                          MfaConfig(target_dir_, failures));
    Status s = jitd_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void SetUp() override { StartWithLimit(100); }

  ProgramResult Jit(const std::string& token, std::vector<std::string> args) {
    args.insert(args.begin(), JIT_BIN);
    return RunProgram(args, {{"JIT_SERVER", jitd_->url()},
                             {"JIT_TOKEN", token},
                             {"HOME", tmp_.path()}});
  }

  Reply AskRead(const std::string& code) {
    nlohmann::json body = {{"entitlement", "read"},
                           {"duration", "10m"},
                           {"justification", "read the slow query log"}};
    if (!code.empty()) body["mfa_code"] = code;
    return jitd_->Post("/v1/requests", kMallory, body);
  }

  // Enrolls mallory through the CLI and confirms with the current code;
  // returns the raw seed.
  std::string EnrollMallory() {
    ProgramResult enrolled = Jit(kMallory, {"mfa", "enroll"});
    EXPECT_EQ(enrolled.exit_code, 0) << enrolled.out << enrolled.err;
    // The QR code is drawn with half blocks; the URI is printed beside it.
    EXPECT_NE(enrolled.out.find("\u2580"), std::string::npos);
    std::smatch m;
    std::regex uri(
        "otpauth://totp/jitd:mallory\\?secret=([A-Z2-7]+)&issuer=jitd");
    EXPECT_TRUE(std::regex_search(enrolled.out, m, uri)) << enrolled.out;
    if (m.empty()) return "";
    std::string seed = *TotpSecretFromBase32(m[1].str());
    seed_base32_ = m[1].str();
    ProgramResult confirmed =
        Jit(kMallory, {"mfa", "confirm", CodeAt(seed, seconds(0))});
    EXPECT_EQ(confirmed.exit_code, 0) << confirmed.out << confirmed.err;
    return seed;
  }

  std::string seed_base32_;
};

TEST_F(MfaTotpTest, EnrollConfirmThenACodeWorksOnceAndWrongCodesFail) {
  Reply without = AskRead("");
  ASSERT_EQ(without.status, 403) << without.raw;
  EXPECT_EQ(without.body["error"]["code"], "policy_denied");
  EXPECT_NE(without.raw.find("policy mallory-read-mfa requires a second "
                             "factor: sign in again with MFA or give a TOTP "
                             "code"),
            std::string::npos)
      << without.raw;

  std::string seed = EnrollMallory();
  ASSERT_FALSE(seed.empty());
  ProgramResult status = Jit(kMallory, {"mfa", "status"});
  EXPECT_NE(status.out.find("TOTP: active since"), std::string::npos)
      << status.out << status.err;

  // The confirming code is used up; the next step's code is still inside
  // the accepted window whichever step the server is in now.
  std::string code = CodeAt(seed, seconds(30));
  ProgramResult asked =
      Jit(kMallory, {"request", "read", "--for", "10m", "--reason",
                     "read the slow query log", "--mfa-code", code, "--json"});
  ASSERT_EQ(asked.exit_code, 0) << asked.out << asked.err;
  auto req = nlohmann::json::parse(asked.out);
  EXPECT_EQ(req["state"], "active") << asked.out;
  EXPECT_EQ(req["policy"], "mallory-read-mfa");

  Reply replayed = AskRead(code);
  EXPECT_EQ(replayed.status, 403) << replayed.raw;
  EXPECT_EQ(replayed.body["error"]["code"], "mfa_failed") << replayed.raw;
  EXPECT_NE(replayed.raw.find("used already"), std::string::npos);

  Reply wrong = AskRead(WrongCode(seed));
  EXPECT_EQ(wrong.status, 403) << wrong.raw;
  EXPECT_EQ(wrong.body["error"]["code"], "mfa_failed") << wrong.raw;

  // Only the first request exists; the refused ones changed nothing.
  EXPECT_EQ(CountEvents("request.created"), 1);
  EXPECT_EQ(CountEvents("mfa.totp_enrolled"), 1);
  EXPECT_EQ(CountEvents("mfa.totp_confirmed"), 1);
}

TEST_F(MfaTotpTest, SeedIsSealedInTheDatabaseWithAKeyBesideIt) {
  std::string seed = EnrollMallory();
  ASSERT_FALSE(seed.empty());
  std::string rows = Sqlite(jitd_->db_path(),
                            "SELECT kind, sealed_secret FROM credentials "
                            "WHERE kind LIKE 'totp%';");
  EXPECT_NE(rows.find("totp|v1."), std::string::npos) << rows;
  EXPECT_EQ(rows.find(seed_base32_), std::string::npos) << rows;
  std::string dump = Sqlite(jitd_->db_path(), ".dump");
  EXPECT_EQ(dump.find(seed_base32_), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((tmp_.path() + "/data/mfa.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(st.st_size, 32);
  for (const auto& e : AuditEvents())
    EXPECT_EQ(e.dump().find(seed_base32_), std::string::npos) << e.dump();
}

TEST_F(MfaTotpTest, ConfirmedSeedSurvivesARestart) {
  std::string seed = EnrollMallory();
  ASSERT_FALSE(seed.empty());
  jitd_->Stop();
  Status s = jitd_->Start();
  ASSERT_TRUE(s.ok()) << s.ToString();
  Reply r = AskRead(CodeAt(seed, seconds(30)));
  EXPECT_EQ(r.status, 201) << r.raw;
}

TEST_F(MfaTotpTest, WrongCodesCountTowardTheRateLimit) {
  jitd_.reset();
  StartWithLimit(3);
  std::string seed = EnrollMallory();
  ASSERT_FALSE(seed.empty());
  std::string wrong = WrongCode(seed);
  for (int i = 0; i < 3; ++i) {
    Reply r = AskRead(wrong);
    ASSERT_EQ(r.status, 403) << i << " " << r.raw;
  }
  // Limited now: even a right code is refused, and says when to retry.
  Reply limited = AskRead(CodeAt(seed, seconds(30)));
  EXPECT_EQ(limited.status, 429) << limited.raw;
  EXPECT_EQ(limited.body["error"]["code"], "rate_limited") << limited.raw;
  // Requests without a code are not held up by it.
  EXPECT_EQ(AskRead("").status, 403);
}

}  // namespace
}  // namespace jit::testing
