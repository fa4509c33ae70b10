#include "jit/connectors/ssh_cert/sshd_sessions.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;

// Lines as sshd 9.2 writes them with -E and LogLevel VERBOSE.
constexpr char kLog[] =
    "Server listening on 127.0.0.1 port 22999.\n"
    "Connection from 127.0.0.1 port 57624 on 127.0.0.1 port 22999 rdomain "
    "\"\"\n"
    "Accepted certificate ID \"grt_abc\" (serial 7) signed by ED25519 CA "
    "SHA256:uqmZ via /tmp/x/ca.pub\n"
    "Postponed publickey for jt01 from 127.0.0.1 port 57624 ssh2 [preauth]\n"
    "Accepted publickey for jt01 from 127.0.0.1 port 57624 ssh2: "
    "ED25519-CERT SHA256:ICVo ID grt_abc (serial 7) CA ED25519 SHA256:uqmZ\n"
    "User child is on pid 3827\n"
    "Starting session: command for jt01 from 127.0.0.1 port 57624 id 0\n";

TEST(ParseSshdLogTest, ReadsCertificateLoginWithBothEnds) {
  std::vector<SshdCertLogin> logins = ParseSshdLog(kLog);
  ASSERT_EQ(logins.size(), 1u);
  EXPECT_EQ(logins[0].user, "jt01");
  EXPECT_EQ(logins[0].key_id, "grt_abc");
  EXPECT_EQ(logins[0].serial, 7u);
  EXPECT_EQ(logins[0].client_address, "127.0.0.1");
  EXPECT_EQ(logins[0].client_port, 57624);
  EXPECT_EQ(logins[0].server_address, "127.0.0.1");
  EXPECT_EQ(logins[0].server_port, 22999);
}

TEST(ParseSshdLogTest, ReadsSyslogPrefixedLinesAndIpv6) {
  std::string log =
      "Nov 23 22:26:01 host sshd[3825]: Connection from ::ffff:10.0.0.5 port "
      "40000 on 10.0.0.1 port 22 rdomain \"\"\n"
      "Nov 23 22:26:01 host sshd[3825]: Accepted publickey for bob from "
      "10.0.0.5 port 40000 ssh2: ED25519-CERT SHA256:x ID grt_b (serial 12) "
      "CA ED25519 SHA256:y\n"
      "Nov 23 22:26:02 host sshd[3900]: Accepted publickey for eve from "
      "2001:db8::1 port 5000 ssh2: ED25519-CERT SHA256:x ID grt_c (serial 3) "
      "CA ED25519 SHA256:y\n";
  std::vector<SshdCertLogin> logins = ParseSshdLog(log);
  ASSERT_EQ(logins.size(), 2u);
  EXPECT_EQ(logins[0].key_id, "grt_b");
  EXPECT_EQ(logins[0].client_address, "10.0.0.5");
  EXPECT_EQ(logins[0].server_port, 22);
  EXPECT_EQ(logins[1].key_id, "grt_c");
  EXPECT_EQ(logins[1].client_address, "2001:db8::1");
  EXPECT_EQ(logins[1].server_port, 0);  // no Connection line seen
}

TEST(ParseSshdLogTest, PlainKeyLoginsAreNotCertificateLogins) {
  EXPECT_THAT(ParseSshdLog("Accepted publickey for bob from 10.0.0.5 port 1 "
                           "ssh2: ED25519 SHA256:abc\n"),
              IsEmpty());
}

TEST(ParseSshdLogTest, NewConnectionOnSameClientPortForgetsOldLogin) {
  std::string log = std::string(kLog) +
                    "Connection from 127.0.0.1 port 57624 on 127.0.0.1 port "
                    "22999 rdomain \"\"\n";
  EXPECT_THAT(ParseSshdLog(log), IsEmpty());
  log +=
      "Accepted publickey for jt02 from 127.0.0.1 port 57624 ssh2: "
      "ED25519-CERT SHA256:a ID grt_new (serial 8) CA ED25519 SHA256:b\n";
  EXPECT_THAT(ParseSshdLog(log),
              ElementsAre(Field(&SshdCertLogin::key_id, "grt_new")));
}

TEST(ParseSshdLogTest, MalformedLinesAreSkipped) {
  EXPECT_THAT(ParseSshdLog("Accepted publickey for\n"
                           "Accepted publickey for x from nowhere port 1 "
                           "ssh2: T F ID k (serial 1) CA\n"
                           "Accepted publickey for x from 1.2.3.4 port 99999 "
                           "ssh2: T F ID k (serial 1) CA\n"
                           "Accepted publickey for x from 1.2.3.4 port 9 "
                           "ssh2: T F ID k (serial -1) CA\n"),
              IsEmpty());
}

TEST(FindLiveSshdSessionsTest, NoLoginsNoSessions) {
  StatusOr<std::vector<SshdSession>> s = FindLiveSshdSessions({});
  ASSERT_TRUE(s.ok());
  EXPECT_THAT(*s, IsEmpty());
}

}  // namespace
}  // namespace jit
