#include "jit/client/http_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jit/api/http_server.h"

namespace jit {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr auto kWait = 10s;

HttpResponse Echo(const HttpRequest& request) {
  json out = {{"method", request.method},
              {"path", request.path},
              {"query", request.query},
              {"headers", request.headers},
              {"body", request.body}};
  HttpResponse response;
  response.body = out.dump();
  return response;
}

// An HttpServer on 127.0.0.1 with a free port, and a client pointed at it.
class ClientFixture : public testing::Test {
 protected:
  void StartServer(HttpHandler handler) {
    HttpServerOptions options;
    options.port = 0;
    server_ = std::make_unique<HttpServer>(
        options, [this, handler = std::move(handler)](const HttpRequest& r) {
          ++calls_;
          return handler(r);
        });
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  std::string BaseUrl() const {
    return "http://127.0.0.1:" + std::to_string(server_->port());
  }

  HttpClient Client(std::string suffix = "",
                    std::chrono::milliseconds timeout = kWait) const {
    StatusOr<HttpClient> client =
        HttpClient::Create(BaseUrl() + suffix, timeout);
    EXPECT_TRUE(client.ok()) << client.status().ToString();
    return *client;
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> calls_{0};
};

using HttpClientTest = ClientFixture;

TEST(HttpClientCreateTest, AcceptsHostPortAndPrefix) {
  StatusOr<HttpClient> client =
      HttpClient::Create("http://example.org:8420/jit/");

  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ(client->host(), "example.org");
  EXPECT_EQ(client->port(), "8420");
}

TEST(HttpClientCreateTest, DefaultPortIs80) {
  StatusOr<HttpClient> client = HttpClient::Create("HTTP://localhost");

  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ(client->port(), "80");
}

TEST(HttpClientCreateTest, AcceptsBracketedIpv6) {
  StatusOr<HttpClient> client = HttpClient::Create("http://[::1]:9000");

  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_EQ(client->host(), "::1");
  EXPECT_EQ(client->port(), "9000");
}

TEST(HttpClientCreateTest, HttpsDefaultPortIs443) {
  StatusOr<HttpClient> client = HttpClient::Create("https://jitd.example");

  ASSERT_TRUE(client.ok()) << client.status().ToString();
  EXPECT_TRUE(client->https());
  EXPECT_EQ(client->port(), "443");
}

TEST(HttpClientCreateTest, UnreadableCaFileIsInvalidArgument) {
  StatusOr<HttpClient> client =
      HttpClient::Create("https://jitd.example", std::chrono::seconds(5),
                         TlsOptions{"/nonexistent/ca.pem"});

  EXPECT_EQ(client.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(client.status().message().find("/nonexistent/ca.pem"),
            std::string::npos);
}

TEST(HttpClientCreateTest, MalformedUrlsAreInvalidArgument) {
  for (const char* url :
       {"", "127.0.0.1:8420", "ftp://host", "http://", "http://:8420",
        "http://host:", "http://host:0", "http://host:70000", "http://host:8x",
        "http://user@host", "http://host/?q=1", "http://host/#f",
        "http://ho st", "http://[::1", "http://[::1]x", "http://a:1:2"}) {
    EXPECT_EQ(HttpClient::Create(url).status().code(),
              StatusCode::kInvalidArgument)
        << url;
  }
}

TEST(HttpClientCreateTest, NonPositiveTimeoutIsInvalidArgument) {
  EXPECT_EQ(HttpClient::Create("http://h", 0ms).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(HttpClientTest, DoSendsMethodTargetBodyAndHeaders) {
  StartServer(&Echo);

  StatusOr<ClientResponse> response =
      Client().Do("POST", "/v1/requests?x=a%20b", "tok-123", R"({"a":1})",
                  {{"X-Extra", "yes"}});

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->headers.at("content-type"), "application/json");
  json echo = json::parse(response->body);
  EXPECT_EQ(echo["method"], "POST");
  EXPECT_EQ(echo["path"], "/v1/requests");
  EXPECT_EQ(echo["query"]["x"], "a b");
  EXPECT_EQ(echo["body"], R"({"a":1})");
  EXPECT_EQ(echo["headers"]["authorization"], "Bearer tok-123");
  EXPECT_EQ(echo["headers"]["content-type"], "application/json");
  EXPECT_EQ(echo["headers"]["host"],
            "127.0.0.1:" + std::to_string(server_->port()));
  EXPECT_EQ(echo["headers"]["x-extra"], "yes");
}

TEST_F(HttpClientTest, DoWithoutTokenOrBodySendsNeither) {
  StartServer(&Echo);

  StatusOr<ClientResponse> response = Client().Do("GET", "/healthz");

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  json headers = json::parse(response->body)["headers"];
  EXPECT_FALSE(headers.contains("authorization"));
  EXPECT_FALSE(headers.contains("content-type"));
}

TEST_F(HttpClientTest, PathPrefixOfBaseUrlIsPrepended) {
  StartServer(&Echo);

  StatusOr<ClientResponse> response = Client("/jit/").Do("GET", "/v1/grants");

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(json::parse(response->body)["path"], "/jit/v1/grants");
}

TEST_F(HttpClientTest, ErrorStatusIsAResponseNotAnError) {
  StartServer([](const HttpRequest&) {
    HttpResponse response;
    response.status = 404;
    response.body = R"({"error":{"code":"not_found","message":"no"}})";
    return response;
  });

  StatusOr<ClientResponse> response = Client().Do("GET", "/v1/requests/x");

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 404);
  EXPECT_EQ(json::parse(response->body)["error"]["code"], "not_found");
}

TEST_F(HttpClientTest, HeaderInjectionIsRefusedBeforeSending) {
  StartServer(&Echo);
  HttpClient client = Client();

  EXPECT_EQ(client.Do("GET", "/", "tok\r\nX-Evil: 1").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      client.Do("GET", "/", "", "", {{"X-A", "v\nX-Evil: 1"}}).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(client.Do("GET", "/a b HTTP/1.1").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(client.Do("GET", "no-slash").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(calls_, 0);
}

TEST(HttpClientConnectTest, ConnectionRefusedIsUnavailable) {
  // A bound socket that does not listen refuses connections on its port.
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor bound(io);
  bound.open(boost::asio::ip::tcp::v4());
  bound.bind({boost::asio::ip::make_address("127.0.0.1"), 0});
  uint16_t port = bound.local_endpoint().port();
  StatusOr<HttpClient> client =
      HttpClient::Create("http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(client.ok());

  StatusOr<ClientResponse> response = client->Do("GET", "/healthz");

  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(response.status().message().find("cannot connect"),
            std::string::npos)
      << response.status().message();
}

TEST_F(HttpClientTest, SlowServerIsDeadlineExceeded) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  StartServer([released](const HttpRequest& r) {
    released.wait_for(kWait);
    return Echo(r);
  });

  StatusOr<ClientResponse> response =
      Client("", /*timeout=*/200ms).Do("GET", "/slow");
  release.set_value();

  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded)
      << response.status().ToString();
}

struct Received {
  std::string id;
  std::string event;
  std::string data;
};

HttpResponse SseResponse(std::function<void(const StreamWriter&)> stream) {
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.stream = std::move(stream);
  return response;
}

TEST_F(HttpClientTest, StreamDeliversEveryEventUntilServerCloses) {
  std::atomic<bool> asked_for_sse{false};
  StartServer([&](const HttpRequest& r) {
    asked_for_sse = r.Header("accept") == "text/event-stream" &&
                    r.Header("authorization") == "Bearer t";
    return SseResponse([](const StreamWriter& write) {
      write(": hello\n\n");
      write("id: 1\nevent: audit\ndata: one\n\n");
      write("id: 2\nevent: audit\ndata: line a\n");
      write("data: line b\n\n");  // an event split over two chunks
      write("id: 3\ndata: three\n\n");
    });
  });
  std::vector<Received> got;

  Status streamed =
      Client().Stream("/v1/audit/stream", "t",
                      [&](const std::string& id, const std::string& event,
                          const std::string& data) {
                        got.push_back({id, event, data});
                        return true;
                      });

  ASSERT_TRUE(streamed.ok()) << streamed.ToString();
  EXPECT_TRUE(asked_for_sse);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].id, "1");
  EXPECT_EQ(got[0].event, "audit");
  EXPECT_EQ(got[0].data, "one");
  EXPECT_EQ(got[1].data, "line a\nline b");
  EXPECT_EQ(got[2].id, "3");
  EXPECT_EQ(got[2].event, "");
  EXPECT_EQ(got[2].data, "three");
}

TEST_F(HttpClientTest, StreamStopsWhenCallbackReturnsFalse) {
  std::promise<void> server_stream_ended;
  StartServer([&](const HttpRequest&) {
    return SseResponse([&](const StreamWriter& write) {
      // Never ends on its own: only the client leaving stops it.
      for (int i = 0; write("data: " + std::to_string(i) + "\n\n"); ++i) {
      }
      server_stream_ended.set_value();
    });
  });
  int seen = 0;

  Status streamed = Client().Stream(
      "/v1/audit/stream", "",
      [&](const std::string&, const std::string&, const std::string& data) {
        EXPECT_EQ(data, std::to_string(seen));
        return ++seen < 2;
      });

  ASSERT_TRUE(streamed.ok()) << streamed.ToString();
  EXPECT_EQ(seen, 2);
  EXPECT_EQ(server_stream_ended.get_future().wait_for(kWait),
            std::future_status::ready);
}

TEST_F(HttpClientTest, StreamRefusedByServerMapsStatus) {
  StartServer([](const HttpRequest&) {
    HttpResponse response;
    response.status = 401;
    response.body = R"({"error":{"code":"unauthenticated","message":"no"}})";
    return response;
  });

  Status streamed = Client().Stream(
      "/v1/audit/stream", "bad",
      [](const std::string&, const std::string&, const std::string&) {
        ADD_FAILURE() << "no event expected";
        return true;
      });

  EXPECT_EQ(streamed.code(), StatusCode::kUnauthenticated)
      << streamed.ToString();
  EXPECT_NE(streamed.message().find("unauthenticated"), std::string::npos);
}

TEST_F(HttpClientTest, SilentStreamEndsWithDeadlineExceeded) {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  StartServer([released](const HttpRequest&) {
    return SseResponse([released](const StreamWriter& write) {
      write("data: only\n\n");
      released.wait_for(kWait);
    });
  });
  int seen = 0;

  Status streamed = Client("", /*timeout=*/200ms)
                        .Stream("/v1/audit/stream", "",
                                [&](const std::string&, const std::string&,
                                    const std::string&) {
                                  ++seen;
                                  return true;
                                });
  release.set_value();

  EXPECT_EQ(seen, 1);
  EXPECT_EQ(streamed.code(), StatusCode::kDeadlineExceeded)
      << streamed.ToString();
}

}  // namespace
}  // namespace jit
