#include "jit/connectors/webhook/webhook_transport.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/connectors/webhook/host_resolver.h"
#include "jit/connectors/webhook/test_http_receiver.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::Contains;
using ::testing::HasSubstr;
namespace ip = boost::asio::ip;

// Name lookups for tests; no DNS server is asked. Names in `stuck` block
// until Release() (or, so a broken test cannot hang, 60 s); every other
// name answers `answer` at once.
class GatedLookup {
 public:
  explicit GatedLookup(std::set<std::string> stuck, AddressList answer)
      : stuck_(std::move(stuck)), answer_(std::move(answer)) {}

  StatusOr<AddressList> Lookup(const std::string& host) {
    std::unique_lock lock(mu_);
    ++started_;
    if (stuck_.count(host) > 0 || stuck_.count("*") > 0) {
      released_cv_.wait_for(lock, 60s, [this] { return released_; });
    }
    if (host == "nx.example") return UnavailableError("cannot resolve " + host);
    return answer_;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      released_ = true;
    }
    released_cv_.notify_all();
  }
  bool released() {
    std::lock_guard lock(mu_);
    return released_;
  }
  int started() {
    std::lock_guard lock(mu_);
    return started_;
  }

 private:
  const std::set<std::string> stuck_;
  const AddressList answer_;
  std::mutex mu_;
  std::condition_variable released_cv_;
  bool released_ = false;  // guarded by mu_
  int started_ = 0;        // guarded by mu_
};

const AddressList kLoopback = {ip::make_address("127.0.0.1")};

class WebhookTransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    TestHttpReceiverOptions options;
    options.secret = "whsec-test-0123456789abcdef";
    receiver_ = std::make_unique<TestHttpReceiver>(options);
    Status s = receiver_->Start();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // Lookups blocked by the test are let go before the transport (whose
  // destructor waits for them) goes.
  void TearDown() override {
    if (gate_) gate_->Release();
    transport_.reset();
  }

  WebhookTransport& Transport(std::set<std::string> stuck,
                              AddressList answer = kLoopback) {
    gate_ = std::make_shared<GatedLookup>(std::move(stuck), std::move(answer));
    std::shared_ptr<GatedLookup> gate = gate_;
    StatusOr<std::unique_ptr<WebhookTransport>> t = WebhookTransport::Create(
        "", PrivateAddresses::kAllow,
        [gate](const std::string& host) { return gate->Lookup(host); });
    EXPECT_TRUE(t.ok()) << t.status().ToString();
    transport_ = *std::move(t);
    return *transport_;
  }

  static WebhookUrl Url(const std::string& text) {
    StatusOr<WebhookUrl> url = ParseWebhookUrl(text);
    EXPECT_TRUE(url.ok()) << url.status().ToString();
    return *url;
  }
  WebhookUrl ReceiverUrl() const { return Url(receiver_->Url()); }

  std::unique_ptr<TestHttpReceiver> receiver_;
  std::shared_ptr<GatedLookup> gate_;
  std::unique_ptr<WebhookTransport> transport_;
};

TEST_F(WebhookTransportTest, DeadlineHoldsWhileTheNameLookupBlocks) {
  WebhookTransport& transport = Transport({"localhost"});
  StatusOr<WebhookAnswer> answer =
      transport.Post(ReceiverUrl(), {}, "{}", 200ms);
  // Post came back although the lookup is still blocked: it did not wait.
  EXPECT_FALSE(gate_->released());
  EXPECT_EQ(answer.status().code(), StatusCode::kDeadlineExceeded)
      << answer.status().ToString();
  EXPECT_THAT(answer.status().message(), HasSubstr("resolving"));
  EXPECT_EQ(receiver_->connections(), 0);

  // The late answer is dropped; the next call looks the name up afresh.
  gate_->Release();
  answer = transport.Post(ReceiverUrl(), {}, "{}", 10s);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->status, 401);  // unsigned: the receiver refuses it
  EXPECT_EQ(receiver_->connections(), 1);
}

TEST_F(WebhookTransportTest, OneStuckNameDoesNotHoldOtherNames) {
  WebhookTransport& transport = Transport({"stuck.example"});
  StatusOr<WebhookAnswer> answer =
      transport.Post(Url("https://stuck.example/jitd"), {}, "{}", 100ms);
  EXPECT_EQ(answer.status().code(), StatusCode::kDeadlineExceeded);
  answer = transport.Post(ReceiverUrl(), {}, "{}", 10s);
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_FALSE(gate_->released());
}

TEST_F(WebhookTransportTest, PendingLookupsAreBoundedAndShared) {
  WebhookTransport& transport = Transport({"*"});
  for (size_t i = 0; i < kMaxPendingLookups; ++i) {
    StatusOr<WebhookAnswer> answer = transport.Post(
        Url("https://host-" + std::to_string(i) + ".example/"), {}, "{}", 20ms);
    EXPECT_EQ(answer.status().code(), StatusCode::kDeadlineExceeded) << i;
  }
  StatusOr<WebhookAnswer> refused =
      transport.Post(Url("https://one-more.example/"), {}, "{}", 10s);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(), HasSubstr("pending"));
  // A name already being looked up joins that lookup instead.
  StatusOr<WebhookAnswer> joined =
      transport.Post(Url("https://host-0.example/"), {}, "{}", 20ms);
  EXPECT_EQ(joined.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_LE(gate_->started(), static_cast<int>(kMaxLookupThreads));
  EXPECT_FALSE(gate_->released());
}

TEST_F(WebhookTransportTest, NameThatDoesNotResolveIsUnavailable) {
  WebhookTransport& transport = Transport({});
  StatusOr<WebhookAnswer> answer =
      transport.Post(Url("https://nx.example/"), {}, "{}", 10s);
  EXPECT_EQ(answer.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(answer.status().message(), HasSubstr("cannot resolve"));
}

TEST_F(WebhookTransportTest, PlainHttpGoesToLoopbackOnly) {
  // "localhost" answered with a LAN address as well: private addresses are
  // allowed, but not in clear text.
  WebhookTransport& transport = Transport(
      {}, {ip::make_address("127.0.0.1"), ip::make_address("10.1.2.3")});
  StatusOr<WebhookAnswer> answer = transport.Post(ReceiverUrl(), {}, "{}", 10s);
  EXPECT_EQ(answer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(answer.status().message(), HasSubstr("loopback only"));
  EXPECT_EQ(receiver_->connections(), 0);
}

TEST(WebhookSystemHostLookupTest, ResolvesLocalhostFromTheHostsFile) {
  StatusOr<AddressList> addresses = SystemHostLookup("localhost");
  ASSERT_TRUE(addresses.ok()) << addresses.status().ToString();
  bool all_loopback = true;
  for (const ip::address& a : *addresses) all_loopback &= a.is_loopback();
  EXPECT_TRUE(all_loopback);
  EXPECT_FALSE(addresses->empty());
}

TEST(WebhookHostResolverTest, AnswerThatComesInTimeIsReturned) {
  HostResolver resolver(
      [](const std::string&) -> StatusOr<AddressList> { return kLoopback; });
  StatusOr<AddressList> got =
      resolver.Resolve("localhost", std::chrono::steady_clock::now() + 10s);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_THAT(*got, Contains(ip::make_address("127.0.0.1")));
  HostResolver empty([](const std::string&) -> StatusOr<AddressList> {
    return AddressList();
  });
  EXPECT_EQ(empty.Resolve("x.example", std::chrono::steady_clock::now() + 10s)
                .status()
                .code(),
            StatusCode::kUnavailable);
}

}  // namespace
}  // namespace jit
