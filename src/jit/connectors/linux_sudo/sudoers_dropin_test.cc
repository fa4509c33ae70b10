#include "jit/connectors/linux_sudo/sudoers_dropin.h"

#include <stdlib.h>
#include <time.h>

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

// 2026-11-23T19:00:00Z
const SystemTime kT0 = SystemTime(std::chrono::seconds(1'795'460'400));

// Sets TZ for the test's lifetime (this binary runs tests one at a time).
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    const char* old = ::getenv("TZ");
    if (old != nullptr) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (old_) {
      ::setenv("TZ", old_->c_str(), 1);
    } else {
      ::unsetenv("TZ");
    }
    ::tzset();
  }

 private:
  std::optional<std::string> old_;
};

SudoRule Rule() {
  SudoRule r;
  r.grant_id = "grt_0123456789abcdef0123456789abcdef";
  r.user = "alice";
  r.runas = "root";
  r.commands = {"/usr/bin/systemctl", "/usr/bin/journalctl -u nginx"};
  r.expires_at = kT0 + 30min;
  r.logfile = "/var/log/jitd/sudo_alice.log";
  return r;
}

TEST(SudoersDropInTest, RendersOneUserSpecWithUtcNotAfter) {
  EXPECT_EQ(RenderDropIn(Rule()),
            "# Written by jitd for grant grt_0123456789abcdef0123456789abcdef;"
            " removed when the grant ends.\n"
            "# expires_at 2026-11-23T19:30:00.000Z\n"
            "Defaults:alice logfile=/var/log/jitd/sudo_alice.log, "
            "log_format=json\n"
            "alice ALL=(root) NOTAFTER=20261123192959Z NOPASSWD: "
            "/usr/bin/systemctl, /usr/bin/journalctl -u nginx\n");
}

TEST(SudoersDropInTest, AddsPamServiceWhenConfigured) {
  SudoRule r = Rule();
  r.pam_service = "jitd-sudo";
  EXPECT_THAT(RenderDropIn(r),
              HasSubstr("\nDefaults:alice pam_service=jitd-sudo\n"));
}

TEST(SudoersDropInTest, NotAfterEndsBeforeExpiry) {
  // sudo still allows during the NOTAFTER second: it must end before
  // expires_at, also when expires_at is not on a whole second.
  EXPECT_EQ(NotAfterFor(kT0), kT0 - 1s);
  EXPECT_EQ(NotAfterFor(kT0 + 999ms), kT0 - 1s);
  EXPECT_EQ(NotAfterFor(kT0 + 1s), kT0);
}

TEST(SudoersDropInTest, NotAfterIsUtcWhateverTheTimeZone) {  // THREATS T26
  for (const char* tz :
       {"UTC", "Pacific/Kiritimati", "Etc/GMT+12", "Pacific/Pago_Pago",
        "Asia/Kathmandu", "<+1430>-14:30", "<-2459>+24:59"}) {
    ScopedTz scoped(tz);
    EXPECT_EQ(FormatNotAfter(kT0), "20261123190000Z") << tz;
    EXPECT_THAT(RenderDropIn(Rule()), HasSubstr("NOTAFTER=20261123192959Z "))
        << tz;
  }
}

TEST(SudoersDropInTest, ReadsBackTheNotAfterItWrote) {
  ScopedTz scoped("Pacific/Kiritimati");
  StatusOr<std::optional<SystemTime>> t = ReadNotAfter(RenderDropIn(Rule()));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_TRUE(t->has_value());
  EXPECT_EQ(**t, kT0 + 30min - 1s);
}

TEST(SudoersDropInTest, NoNotAfterIsNullopt) {
  StatusOr<std::optional<SystemTime>> t =
      ReadNotAfter("alice ALL=(root) NOPASSWD: ALL\n");
  ASSERT_TRUE(t.ok());
  EXPECT_FALSE(t->has_value());
}

TEST(SudoersDropInTest, UnreadableNotAfterIsAnError) {
  EXPECT_EQ(ReadNotAfter("NOTAFTER=2026x123192959Z").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ReadNotAfter("NOTAFTER=2026").status().code(),
            StatusCode::kInvalidArgument);
}

TEST(SudoersDropInTest, AcceptsPlainCommands) {
  EXPECT_TRUE(ValidateCommands({"/usr/bin/systemctl"}).ok());
  EXPECT_TRUE(ValidateCommands({"/usr/bin/systemctl restart nginx.service",
                                "/bin/sleep 60", "/usr/bin/id"})
                  .ok());
  EXPECT_TRUE(ValidateCommands({"ALL"}).ok());
}

TEST(SudoersDropInTest, RefusesCommandsThatInjectSudoersSyntax) {
  for (const std::string& c : std::vector<std::string>{
           "/usr/bin/id, /bin/sh",              // a second command
           "/usr/bin/id\nalice ALL=(ALL) ALL",  // a second rule
           "/usr/bin/id\\",                     // escape
           "/usr/bin/id : ALL",                 // a second runas/tag block
           "/usr/bin/env A=B",                  // '=' in arguments
           "/usr/bin/id #1000",                 // uid syntax / comment
           "/usr/bin/*",                        // wildcard
           "/usr/bin/id ?",                     // wildcard
           "/usr/bin/id [a]",                   // wildcard
           "/usr/bin/id \"\"",                  // quotes
           "!/bin/sh",                          // negation
           "/usr/bin/",                         // a whole directory
           "/usr/../bin/sh",                    // not normalised
           "/usr//bin/sh",                      // not normalised
           "/usr/./bin/sh",                     // not normalised
           "usr/bin/id",                        // relative
           "sudoedit /etc/shadow",              // special command
           "/usr/bin/id  -u",                   // double space
           "/usr/bin/id ",                      // trailing space
           "/usr/bin/id\t-u",                   // tab
           std::string("/usr/bin/id\0-u", 14),  // NUL
           "",                                  // empty
           "all",                               // not the ALL keyword
       }) {
    Status s = ValidateCommands({c});
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << "accepted: " << c;
  }
}

TEST(SudoersDropInTest, AllOnlyAlone) {
  EXPECT_EQ(ValidateCommands({"ALL", "/usr/bin/id"}).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateCommands({}).code(), StatusCode::kInvalidArgument);
}

TEST(SudoersDropInTest, UserNamesAreStrict) {
  EXPECT_TRUE(ValidateUserName("alice", "user").ok());
  EXPECT_TRUE(ValidateUserName("_svc-adm2", "user").ok());
  for (const std::string& u : std::vector<std::string>{
           "", "ALL", "Alice", "alice,bob", "alice ALL=(ALL) ALL", "%sudo",
           "#0", "+netgroup", "alice:x", "alice=", "alice\n", "-alice",
           "1alice", "ali.ce", "alice$", "a23456789012345678901234567890123"}) {
    EXPECT_EQ(ValidateUserName(u, "user").code(), StatusCode::kInvalidArgument)
        << "accepted: " << u;
  }
}

TEST(SudoersDropInTest, GrantIdsNameOnlyFilesSudoReads) {
  EXPECT_TRUE(ValidateGrantId("grt_0123456789abcdef").ok());
  for (const std::string& id :
       std::vector<std::string>{"", "grt.1", "grt~", "../x", "a/b", "a b"}) {
    EXPECT_EQ(ValidateGrantId(id).code(), StatusCode::kInvalidArgument) << id;
  }
}

TEST(SudoersDropInTest, PathsAndPamServices) {
  EXPECT_TRUE(ValidateSudoersPath("/var/log/jitd", "log_dir").ok());
  EXPECT_EQ(ValidateSudoersPath("/var/log/jit d", "log_dir").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSudoersPath("/var/log,x", "log_dir").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidateSudoersPath("var/log", "log_dir").code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidatePamServiceName("jitd-sudo").ok());
  EXPECT_EQ(ValidatePamServiceName("sudo, env_reset").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ValidatePamServiceName("../sudo").code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jit
