#include "jit/workflow/syslog_forwarder.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "jit/base/command_runner.h"
#include "jit/base/duration.h"
#include "jit/storage/memory/memory_store.h"

namespace jit {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
using net::ip::tcp;
using nlohmann::json;
using namespace std::chrono_literals;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const SystemTime kT0 = ParseTime("2026-11-23T12:00:00Z").value();

// <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG
const std::regex kSyslog(
    R"(<(\d{1,3})>1 (\S+) (\S+) jitd - (\S+) (\[(?:[^\]\\]|\\.)*\]) (.*))");

// A syslog collector on 127.0.0.1 (RFC 6587 octet counting, plain TCP or
// TLS with the given certificate). Keeps every message it got, in order,
// across Stop() and Start(); a frame it cannot parse is kept as "BAD".
class TestCollector {
 public:
  TestCollector(std::string cert = "", std::string key = "")
      : cert_(std::move(cert)), key_(std::move(key)) {}
  ~TestCollector() { Stop(); }

  // Listens on `port` (0: any free one).
  void Start(uint16_t port = 0) {
    io_ = std::make_unique<net::io_context>();
    if (!cert_.empty()) {
      tls_ = std::make_unique<ssl::context>(ssl::context::tls_server);
      tls_->use_certificate_chain_file(cert_);
      tls_->use_private_key_file(key_, ssl::context::pem);
    }
    acceptor_ = std::make_unique<tcp::acceptor>(*io_);
    tcp::endpoint at(net::ip::make_address("127.0.0.1"), port);
    acceptor_->open(at.protocol());
    acceptor_->set_option(tcp::acceptor::reuse_address(true));
    acceptor_->bind(at);
    acceptor_->listen();
    port_ = acceptor_->local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_->run(); });
  }

  // Closes the listener and every connection.
  void Stop() {
    if (!io_) return;
    io_->stop();
    thread_.join();
    acceptor_.reset();
    sessions_.clear();
    io_.reset();
  }

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  std::vector<std::string> Messages() const {
    std::lock_guard lock(mu_);
    return messages_;
  }
  // Bounded wait until `n` messages arrived; false on timeout.
  bool WaitFor(size_t n, std::chrono::seconds max = 10s) const {
    std::unique_lock lock(mu_);
    return got_.wait_for(lock, max, [&] { return messages_.size() >= n; });
  }

 private:
  struct Session {
    explicit Session(net::io_context& io, ssl::context* tls) : socket(io) {
      if (tls)
        stream = std::make_unique<ssl::stream<tcp::socket&>>(socket, *tls);
    }
    tcp::socket socket;
    std::unique_ptr<ssl::stream<tcp::socket&>> stream;
    std::array<char, 4096> buffer{};
    std::string pending;
  };

  void Accept() {
    auto session = std::make_shared<Session>(*io_, tls_.get());
    acceptor_->async_accept(session->socket, [this, session](auto ec) {
      if (ec) return;
      sessions_.push_back(session);
      if (session->stream) {
        session->stream->async_handshake(ssl::stream_base::server,
                                         [this, session](auto hec) {
                                           if (!hec) Read(session);
                                         });
      } else {
        Read(session);
      }
      Accept();
    });
  }

  void Read(std::shared_ptr<Session> s) {
    auto on_read = [this, s](boost::system::error_code ec, size_t n) {
      if (ec) return;
      s->pending.append(s->buffer.data(), n);
      Frames(*s);
      Read(s);
    };
    if (s->stream) {
      s->stream->async_read_some(net::buffer(s->buffer), on_read);
    } else {
      s->socket.async_read_some(net::buffer(s->buffer), on_read);
    }
  }

  // Takes every complete "LEN SP MSG" frame off the front of `pending`.
  void Frames(Session& s) {
    while (true) {
      const size_t space = s.pending.find(' ');
      if (space == std::string::npos) return;
      const std::string digits = s.pending.substr(0, space);
      if (digits.empty() || digits.size() > 9 ||
          digits.find_first_not_of("0123456789") != std::string::npos) {
        Keep("BAD");
        s.pending.clear();
        return;
      }
      const size_t len = std::stoul(digits);
      if (s.pending.size() < space + 1 + len) return;
      Keep(s.pending.substr(space + 1, len));
      s.pending.erase(0, space + 1 + len);
    }
  }

  void Keep(std::string message) {
    {
      std::lock_guard lock(mu_);
      messages_.push_back(std::move(message));
    }
    got_.notify_all();
  }

  const std::string cert_, key_;
  std::unique_ptr<net::io_context> io_;
  std::unique_ptr<ssl::context> tls_;
  std::unique_ptr<tcp::acceptor> acceptor_;
  std::vector<std::shared_ptr<Session>> sessions_;  // io thread only
  std::thread thread_;
  uint16_t port_ = 0;
  mutable std::mutex mu_;
  mutable std::condition_variable got_;
  std::vector<std::string> messages_;  // guarded by mu_
};

// The seq of each message, after checking that it is RFC 5424 with the
// event JSON as MSG; -1 for one that is not.
std::vector<int64_t> Seqs(const std::vector<std::string>& messages) {
  std::vector<int64_t> seqs;
  for (const std::string& m : messages) {
    std::smatch parts;
    if (!std::regex_match(m, parts, kSyslog)) {
      ADD_FAILURE() << "not RFC 5424: " << m;
      seqs.push_back(-1);
      continue;
    }
    json event = json::parse(parts[6].str(), nullptr, false);
    EXPECT_EQ(event.value("type", ""), parts[4].str());
    seqs.push_back(event.is_object() ? event.value("seq", int64_t{-1}) : -1);
  }
  return seqs;
}

std::vector<int64_t> Range(int64_t first, int64_t last) {
  std::vector<int64_t> out;
  for (int64_t i = first; i <= last; ++i) out.push_back(i);
  return out;
}

// Bounded polling of the forwarder while it talks to a real socket.
bool PollUntil(const std::function<bool()>& done) {
  for (int i = 0; i < 1000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// A self-signed certificate for 127.0.0.1 (the CA and the server at once),
// made with the openssl command.
void MakeCertificate(const std::string& cert, const std::string& key) {
  PosixCommandRunner runner;
  StatusOr<CommandResult> r =
      runner.Run({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec",
                  "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days",
                  "1", "-subj", "/CN=test collector", "-addext",
                  "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert},
                 {{"PATH", "/usr/bin:/bin"}}, 20s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->exit_code, 0) << r->err;
}

class SyslogForwarderTest : public testing::Test {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/jit_syslog_test_XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    state_ = dir_ + "/syslog_forwarded.json";
  }
  void TearDown() override {
    forwarder_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Append(int n, std::string actor = "alice") {
    for (int i = 0; i < n; ++i) {
      ChangeSet cs;
      AuditEvent e;
      e.time = kT0 + std::chrono::seconds(++appended_);
      e.type = appended_ % 2 ? AuditType::kRequestCreated
                             : AuditType::kGrantActivated;
      e.actor = actor;
      e.subject = "bob";
      e.request_id = "req_" + std::to_string(appended_);
      e.data = R"({"entitlement":"prod-db-read"})";
      cs.events.push_back(std::move(e));
      ASSERT_TRUE(store_.Commit(cs).ok());
    }
  }

  SyslogOptions Options(const TestCollector& c, std::string ca = "") {
    SyslogOptions o;
    o.host = "127.0.0.1";
    o.port = c.port();
    o.ca_file = std::move(ca);
    o.hostname = "jit-test";
    o.min_backoff = 20ms;
    o.max_backoff = 200ms;
    o.io_timeout = 5s;
    o.batch = 3;  // several batches per test
    return o;
  }

  void StartForwarder(SyslogOptions o) {
    auto f = SyslogForwarder::Create(store_, feed_, std::move(o), state_);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    forwarder_ = std::move(*f);
    forwarder_->Start();
  }

  std::string dir_, state_;
  MemoryStore base_;
  AuditFeed feed_;
  NotifyingStore store_{base_, feed_};
  int appended_ = 0;
  std::unique_ptr<SyslogForwarder> forwarder_;
};

TEST_F(SyslogForwarderTest, DeliversInOrderExactlyOnceAcrossARestart) {
  TestCollector collector;
  collector.Start();
  Append(4);
  Append(1, "mallory\n5 <0>1 fake] \"frame\"\\");  // cannot break framing
  StartForwarder(Options(collector));
  ASSERT_TRUE(collector.WaitFor(5)) << forwarder_->last_error();
  forwarder_->Stop();
  EXPECT_EQ(forwarder_->forwarded_through(), 5);

  Append(3);  // while stopped
  forwarder_.reset();
  StartForwarder(Options(collector));
  ASSERT_TRUE(collector.WaitFor(8)) << forwarder_->last_error();
  Append(2);  // woken by the feed
  ASSERT_TRUE(collector.WaitFor(10)) << forwarder_->last_error();
  forwarder_->Stop();

  std::vector<std::string> got = collector.Messages();
  EXPECT_THAT(Seqs(got), ElementsAreArray(Range(1, 10)));
  EXPECT_THAT(got[4], HasSubstr("actor=\"mallory\xEF\xBF\xBD"
                                "5 <0>1 fake\\] "
                                "\\\"frame\\\"\\\\\""));
  EXPECT_THAT(got[0], testing::StartsWith("<86>1 2026-11-23T12:00:01.000Z "
                                          "jit-test jitd - request.created "));
  std::ifstream state(state_);
  EXPECT_EQ(json::parse(state)["forwarded_through"], 10);
}

TEST_F(SyslogForwarderTest, HoldsEventsWhileTheCollectorIsDown) {
  TestCollector collector;
  collector.Start();
  StartForwarder(Options(collector));
  Append(2);
  ASSERT_TRUE(collector.WaitFor(2)) << forwarder_->last_error();
  const uint16_t port = collector.port();
  collector.Stop();

  Append(4);
  ASSERT_TRUE(PollUntil([&] { return forwarder_->failed_attempts() >= 2; }));
  EXPECT_THAT(forwarder_->last_error(), HasSubstr("cannot connect"));
  EXPECT_EQ(forwarder_->forwarded_through(), 2);

  collector.Start(port);
  ASSERT_TRUE(collector.WaitFor(6)) << forwarder_->last_error();
  ASSERT_TRUE(PollUntil([&] { return forwarder_->forwarded_through() == 6; }));
  EXPECT_THAT(Seqs(collector.Messages()), ElementsAreArray(Range(1, 6)));
  EXPECT_EQ(forwarder_->last_error(), "");
}

TEST_F(SyslogForwarderTest, SendsOverTlsToACollectorTheCaVouchesFor) {
  const std::string cert = dir_ + "/collector.pem", key = dir_ + "/key.pem";
  MakeCertificate(cert, key);
  TestCollector collector(cert, key);
  collector.Start();
  Append(4);
  StartForwarder(Options(collector, cert));
  ASSERT_TRUE(collector.WaitFor(4)) << forwarder_->last_error();
  Append(1);
  ASSERT_TRUE(collector.WaitFor(5)) << forwarder_->last_error();
  EXPECT_THAT(Seqs(collector.Messages()), ElementsAreArray(Range(1, 5)));
}

TEST_F(SyslogForwarderTest, TlsRefusesACollectorWithAnotherCertificate) {
  const std::string cert = dir_ + "/collector.pem", key = dir_ + "/key.pem";
  const std::string other = dir_ + "/other.pem", other_key = dir_ + "/o.pem";
  MakeCertificate(cert, key);
  MakeCertificate(other, other_key);
  TestCollector collector(cert, key);
  collector.Start();
  Append(2);
  StartForwarder(Options(collector, other));
  ASSERT_TRUE(PollUntil([&] { return forwarder_->failed_attempts() >= 2; }));
  EXPECT_THAT(forwarder_->last_error(), HasSubstr("TLS handshake"));
  EXPECT_EQ(forwarder_->forwarded_through(), 0);
  EXPECT_THAT(collector.Messages(), IsEmpty());
}

TEST_F(SyslogForwarderTest, CreateRefusesABadCaFileOrStateFile) {
  TestCollector collector;
  collector.Start();
  auto bad_ca = SyslogForwarder::Create(
      store_, feed_, Options(collector, dir_ + "/none.pem"), state_);
  EXPECT_EQ(bad_ca.status().code(), StatusCode::kInvalidArgument);
  std::ofstream(state_) << "{\"forwarded_through\": \"x\"}";
  auto bad_state =
      SyslogForwarder::Create(store_, feed_, Options(collector), state_);
  EXPECT_EQ(bad_state.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad_state.status().message(), HasSubstr(state_));
}

}  // namespace
}  // namespace jit
