#include "jit/connectors/ssh_cert/sshd_sessions.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

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

constexpr char kAccepted[] =
    "Accepted publickey for bob from 10.0.0.5 port 40000 ssh2: ED25519-CERT "
    "SHA256:x ID grt_b (serial 12) CA ED25519 SHA256:y";

TEST(ParseSshdLogTest, MessagesOnlyCountAtLineStartOrAfterSshdTag) {
  for (const std::string& line : {
           // Client-chosen text sshd logs, with a login inside.
           std::string("Invalid user x ") + kAccepted,
           // `logger`: another program's tag, the sshd tag in the message.
           std::string("Nov 23 22:26:01 host alice: sshd[3825]: ") + kAccepted,
           std::string("Nov 23 22:26:01 host sshd: ") + kAccepted,
           std::string("Nov 23 22:26:01 host sshd[0]: ") + kAccepted,
           std::string("Nov 23 22:26:01 host sshd[12]x: ") + kAccepted,
           std::string("Nov 23 22:26:01 host xsshd[12]: ") + kAccepted,
       }) {
    EXPECT_THAT(ParseSshdLog(line), IsEmpty()) << line;
  }
  std::vector<SshdCertLogin> tagged = ParseSshdLog(
      std::string("2026-11-23T22:26:01.5+00:00 host sshd-session[77]: ") +
      kAccepted);
  ASSERT_EQ(tagged.size(), 1u);
  EXPECT_EQ(tagged[0].sshd_pid, 77);
  ASSERT_EQ(ParseSshdLog(kAccepted).size(), 1u);
  EXPECT_EQ(ParseSshdLog(kAccepted)[0].sshd_pid, 0);
}

// Syslog lines can be forged by any local user (`logger -t 'sshd[PID]'`):
// they may add logins, never remove one.
TEST(ParseSshdLogTest, TaggedLinesNeverForgetALogin) {
  const std::string real =
      std::string("Nov 23 22:26:01 host sshd[3825]: ") + kAccepted + "\n";
  const std::string forged_connection =
      "Nov 23 22:26:05 host sshd[3825]: Connection from 10.0.0.5 port 40000 "
      "on 10.0.0.1 port 22 rdomain \"\"\n";
  EXPECT_THAT(ParseSshdLog(real + forged_connection),
              ElementsAre(Field(&SshdCertLogin::key_id, "grt_b")));
  const std::string forged_login =
      "Nov 23 22:26:06 host sshd[3825]: Accepted publickey for bob from "
      "10.0.0.5 port 40000 ssh2: ED25519-CERT SHA256:x ID grt_other (serial "
      "1) CA ED25519 SHA256:y\n";
  EXPECT_THAT(ParseSshdLog(real + forged_login),
              ::testing::UnorderedElementsAre(
                  Field(&SshdCertLogin::key_id, "grt_b"),
                  Field(&SshdCertLogin::key_id, "grt_other")));
}

TEST(FindLiveSshdSessionsTest, NoLoginsNoSessions) {
  StatusOr<std::vector<SshdSession>> s = FindLiveSshdSessions({});
  ASSERT_TRUE(s.ok());
  EXPECT_THAT(*s, IsEmpty());
}

// A child that waits to be killed; reaped by the destructor.
class PausedChild {
 public:
  PausedChild() : pid_(::fork()) {
    if (pid_ == 0) {
      ::pause();
      ::_exit(0);
    }
  }
  ~PausedChild() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  pid_t pid() const { return pid_; }
  // Whether it was ended by `sig` within `limit` (polling a real process).
  bool EndedBy(int sig, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      int status = 0;
      if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFSIGNALED(status) && WTERMSIG(status) == sig;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

 private:
  pid_t pid_;
};

TEST(SshCertSignalTest, ReusedPidIsNotSignalled) {
  PausedChild child;
  ASSERT_GT(child.pid(), 0);
  std::optional<ProcessIdentity> id = IdentifyProcess(child.pid());
  ASSERT_TRUE(id.has_value());
  // Same pid, another start time: what a reused pid looks like.
  ProcessIdentity other = *id;
  other.start_ticks += 1;
  EXPECT_FALSE(SignalIfSame(other, SIGTERM));
  EXPECT_FALSE(child.EndedBy(SIGTERM, std::chrono::milliseconds(200)));
  EXPECT_TRUE(SignalIfSame(*id, SIGTERM));
  EXPECT_TRUE(child.EndedBy(SIGTERM, std::chrono::seconds(5)));
}

TEST(SshCertSignalTest, SignalProcessTreesEndsTheTree) {
  PausedChild child;
  ASSERT_GT(child.pid(), 0);
  ASSERT_TRUE(IdentifyProcess(child.pid()).has_value());
  SignalProcessTrees({child.pid()}, SIGTERM);
  EXPECT_TRUE(child.EndedBy(SIGTERM, std::chrono::seconds(5)));
}

}  // namespace
}  // namespace jit
