#include "jit/api/http_server.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "jit/base/command_runner.h"
#include "jit/base/ids.h"

namespace jit {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using nlohmann::json;
using namespace std::chrono_literals;

// Upper bound for any single network step in these tests; reached only when
// the server misbehaves.
constexpr auto kWait = 10s;

// A blocking HTTP client over Beast whose every step gives up after kWait.
class TestClient {
 public:
  explicit TestClient(uint16_t port) : port_(port) {}

  error_code Connect() {
    tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port_);
    return Await(
        [&](auto handler) { socket_.async_connect(endpoint, handler); });
  }

  error_code SendRaw(std::string_view bytes) {
    return Await([&](auto handler) {
      net::async_write(socket_, net::buffer(bytes), handler);
    });
  }

  error_code Send(http::request<http::string_body>& request) {
    request.prepare_payload();
    return Await(
        [&](auto handler) { http::async_write(socket_, request, handler); });
  }

  error_code Read(http::response<http::string_body>& response) {
    return Await([&](auto handler) {
      http::async_read(socket_, buffer_, response, handler);
    });
  }

  error_code ReadHeader(http::response_parser<http::string_body>& parser) {
    return Await([&](auto handler) {
      http::async_read_header(socket_, buffer_, parser, handler);
    });
  }

  // Reads until the server closes; returns how the read ended.
  error_code ReadToEnd() {
    std::string ignored;
    return Await([&](auto handler) {
      net::async_read(socket_, net::dynamic_buffer(ignored), handler);
    });
  }

  // Sends `request` and reads the response on this connection.
  http::response<http::string_body> RoundTrip(
      http::request<http::string_body> request) {
    request.set(http::field::host, "127.0.0.1");
    http::response<http::string_body> response;
    error_code ec = Send(request);
    if (!ec) ec = Read(response);
    EXPECT_FALSE(ec) << ec.message();
    return response;
  }

 private:
  template <class Start>
  error_code Await(const Start& start) {
    std::optional<error_code> result;
    start([&result](error_code ec, auto&&...) { result = ec; });
    io_.restart();
    io_.run_for(kWait);
    if (result) return *result;
    error_code ignored;
    socket_.close(ignored);
    io_.restart();
    io_.run();
    return net::error::timed_out;
  }

  uint16_t port_;
  net::io_context io_;
  tcp::socket socket_{io_};
  boost::beast::flat_buffer buffer_;
};

HttpResponse Echo(const HttpRequest& request) {
  json out = {{"method", request.method}, {"path", request.path},
              {"query", request.query},   {"headers", request.headers},
              {"body", request.body},     {"remote", request.remote_address}};
  HttpResponse response;
  response.body = out.dump();
  return response;
}

http::request<http::string_body> Request(http::verb verb,
                                         std::string_view target,
                                         std::string body = "") {
  http::request<http::string_body> request(
      verb, boost::beast::string_view(target.data(), target.size()), 11);
  request.body() = std::move(body);
  return request;
}

// A started server whose handler is `handler`, counting calls.
class ServerFixture : public testing::Test {
 protected:
  void StartServer(HttpHandler handler, HttpServerOptions options = {}) {
    options.address = "127.0.0.1";
    options.port = 0;
    server_ = std::make_unique<HttpServer>(
        options, [this, handler = std::move(handler)](const HttpRequest& r) {
          ++calls_;
          return handler(r);
        });
    Status started = server_->Start();
    ASSERT_TRUE(started.ok()) << started.ToString();
  }

  std::unique_ptr<TestClient> Connected() {
    auto client = std::make_unique<TestClient>(server_->port());
    error_code ec = client->Connect();
    EXPECT_FALSE(ec) << ec.message();
    return client;
  }

  std::unique_ptr<HttpServer> server_;
  std::atomic<int> calls_{0};
};

using HttpServerTest = ServerFixture;

TEST_F(HttpServerTest, GetRoundTripDecodesPathQueryAndLowerCasesHeaders) {
  StartServer(&Echo);
  auto client = Connected();
  auto request =
      Request(http::verb::get, "/v1/a%20b/c%2Fd?x=1&msg=hello+world%21&e=");
  request.set("X-Custom-Thing", "Value");

  auto response = client->RoundTrip(std::move(request));

  ASSERT_EQ(response.result_int(), 200);
  json body = json::parse(response.body());
  EXPECT_EQ(body["method"], "GET");
  EXPECT_EQ(body["path"], "/v1/a b/c/d");
  EXPECT_EQ(body["query"],
            json({{"x", "1"}, {"msg", "hello world!"}, {"e", ""}}));
  EXPECT_EQ(body["headers"]["x-custom-thing"], "Value");
  EXPECT_EQ(body["remote"], "127.0.0.1");
}

TEST_F(HttpServerTest, EveryResponseCarriesServerAndSecurityHeaders) {
  StartServer(&Echo);
  auto client = Connected();

  auto response = client->RoundTrip(Request(http::verb::get, "/"));

  EXPECT_EQ(response[http::field::server], "jitd");
  EXPECT_EQ(response["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(response[http::field::cache_control], "no-store");
  EXPECT_EQ(response[http::field::content_type], "application/json");
  EXPECT_EQ(response[http::field::content_length],
            std::to_string(response.body().size()));
}

TEST_F(HttpServerTest, PostBodyReachesHandler) {
  StartServer(&Echo);
  auto client = Connected();

  auto response = client->RoundTrip(
      Request(http::verb::post, "/v1/requests", R"({"entitlement":"db"})"));

  ASSERT_EQ(response.result_int(), 200);
  json body = json::parse(response.body());
  EXPECT_EQ(body["method"], "POST");
  EXPECT_EQ(body["body"], R"({"entitlement":"db"})");
}

TEST_F(HttpServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  StartServer(&Echo);
  auto client = Connected();

  auto first = client->RoundTrip(Request(http::verb::get, "/one"));
  auto second = client->RoundTrip(Request(http::verb::get, "/two"));

  EXPECT_TRUE(first.keep_alive());
  EXPECT_EQ(json::parse(first.body())["path"], "/one");
  EXPECT_EQ(json::parse(second.body())["path"], "/two");
}

TEST_F(HttpServerTest, HandlerHeadersAndStatusAreSent) {
  StartServer([](const HttpRequest&) {
    HttpResponse response;
    response.status = 201;
    response.content_type = "text/plain";
    response.body = "made";
    response.headers["Location"] = "/v1/requests/7";
    response.headers["Content-Length"] = "999";  // framing stays the server's
    return response;
  });
  auto client = Connected();

  auto response = client->RoundTrip(Request(http::verb::post, "/x", "{}"));

  EXPECT_EQ(response.result_int(), 201);
  EXPECT_EQ(response[http::field::location], "/v1/requests/7");
  EXPECT_EQ(response[http::field::content_type], "text/plain");
  EXPECT_EQ(response.body(), "made");
}

TEST_F(HttpServerTest, BodyOverLimitIs413AndHandlerNotCalled) {
  StartServer(&Echo);
  auto client = Connected();

  auto response = client->RoundTrip(
      Request(http::verb::post, "/v1/requests", std::string(70 * 1024, 'a')));

  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(
      response.body(),
      R"({"error":{"code":"too_large","message":"body exceeds 65536 bytes"}})");
  EXPECT_FALSE(response.keep_alive());
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, ChunkedBodyOverLimitIs413) {
  StartServer(&Echo);
  auto client = Connected();
  std::string raw =
      "POST /v1/requests HTTP/1.1\r\nHost: x\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 70; ++i)
    raw += "400\r\n" + std::string(1024, 'b') + "\r\n";
  raw += "0\r\n\r\n";
  ASSERT_FALSE(client->SendRaw(raw));

  http::response<http::string_body> response;
  ASSERT_FALSE(client->Read(response));

  EXPECT_EQ(response.result_int(), 413);
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, GarbageBytesGet400AndClose) {
  StartServer(&Echo);
  auto client = Connected();
  ASSERT_FALSE(client->SendRaw("\x01\x02 not http at all\r\n\r\n"));

  http::response<http::string_body> response;
  ASSERT_FALSE(client->Read(response));

  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(
      response.body(),
      R"({"error":{"code":"invalid_request","message":"malformed HTTP request"}})");
  EXPECT_EQ(client->ReadToEnd(), net::error::eof);
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, BrokenPercentEscapeIs400) {
  StartServer(&Echo);
  auto client = Connected();

  auto response = client->RoundTrip(Request(http::verb::get, "/a%zz"));

  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, EncodedNulInQueryIs400) {
  StartServer(&Echo);
  auto client = Connected();

  auto response = client->RoundTrip(Request(http::verb::get, "/a?x=%00"));

  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, RepeatedQueryParameterIs400) {
  StartServer(&Echo);
  auto client = Connected();

  auto response = client->RoundTrip(
      Request(http::verb::get, "/v1/grants?subject=a&subject=b"));

  EXPECT_EQ(response.result_int(), 400);
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, HeaderSectionOverLimitIs431) {
  StartServer(&Echo);
  auto client = Connected();
  auto request = Request(http::verb::get, "/");
  request.set("X-Big", std::string(20 * 1024, 'h'));

  auto response = client->RoundTrip(std::move(request));

  EXPECT_EQ(response.result_int(), 431);
  EXPECT_EQ(calls_, 0);
}

TEST_F(HttpServerTest, ExpectContinueGetsInterimResponse) {
  StartServer(&Echo);
  auto client = Connected();
  ASSERT_FALSE(
      client->SendRaw("POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                      "Expect: 100-continue\r\n\r\n"));
  http::response<http::string_body> interim;
  ASSERT_FALSE(client->Read(interim));
  EXPECT_EQ(interim.result_int(), 100);

  ASSERT_FALSE(client->SendRaw("{}"));
  http::response<http::string_body> response;
  ASSERT_FALSE(client->Read(response));

  EXPECT_EQ(response.result_int(), 200);
  EXPECT_EQ(json::parse(response.body())["body"], "{}");
}

TEST_F(HttpServerTest, HandlerExceptionIs500) {
  StartServer([](const HttpRequest&) -> HttpResponse {
    throw std::runtime_error("boom");
  });
  auto client = Connected();

  auto response = client->RoundTrip(Request(http::verb::get, "/"));

  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(json::parse(response.body())["error"]["code"], "internal");
}

TEST_F(HttpServerTest, HeaderValueWithNewlineIs500NotInjected) {
  StartServer([](const HttpRequest&) {
    HttpResponse response;
    response.headers["X-Note"] = "a\r\nSet-Cookie: stolen=1";
    return response;
  });
  auto client = Connected();

  auto response = client->RoundTrip(Request(http::verb::get, "/"));

  EXPECT_EQ(response.result_int(), 500);
  EXPECT_EQ(response.find(http::field::set_cookie), response.end());
}

HttpResponse ThreeEvents(const HttpRequest&) {
  HttpResponse response;
  response.content_type = "text/event-stream";
  response.stream = [](const StreamWriter& write) {
    for (int i = 1; i <= 3; ++i) {
      if (!write("id: " + std::to_string(i) + "\ndata: event " +
                 std::to_string(i) + "\n\n")) {
        return;
      }
    }
  };
  return response;
}

TEST_F(HttpServerTest, StreamDeliversAllChunksThenCloses) {
  StartServer(&ThreeEvents);
  auto client = Connected();

  auto response =
      client->RoundTrip(Request(http::verb::get, "/v1/audit/stream"));

  EXPECT_EQ(response.result_int(), 200);
  EXPECT_TRUE(response.chunked());
  EXPECT_EQ(response[http::field::content_type], "text/event-stream");
  EXPECT_EQ(response[http::field::cache_control], "no-store");
  EXPECT_EQ(response.body(),
            "id: 1\ndata: event 1\n\nid: 2\ndata: event 2\n\n"
            "id: 3\ndata: event 3\n\n");
  EXPECT_EQ(client->ReadToEnd(), net::error::eof);
}

TEST_F(HttpServerTest, StopWhileStreamIsOpenEndsStreamAndReturns) {
  std::promise<void> streaming;
  std::promise<void> writer_failed;
  StartServer([&](const HttpRequest&) {
    HttpResponse response;
    response.content_type = "text/event-stream";
    response.stream = [&](const StreamWriter& write) {
      write("data: first\n\n");
      streaming.set_value();
      // The client never reads, so this blocks once the socket buffers fill;
      // Stop() must wake it.
      const std::string comment = ": " + std::string(4096, 'k') + "\n\n";
      while (write(comment)) {
      }
      writer_failed.set_value();
    };
    return response;
  });
  auto client = Connected();
  auto request = Request(http::verb::get, "/v1/audit/stream");
  request.set(http::field::host, "x");
  ASSERT_FALSE(client->Send(request));
  http::response_parser<http::string_body> parser;
  ASSERT_FALSE(client->ReadHeader(parser));
  ASSERT_EQ(streaming.get_future().wait_for(kWait), std::future_status::ready);

  auto stopped = std::async(std::launch::async, [&] { server_->Stop(); });

  EXPECT_EQ(stopped.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(writer_failed.get_future().wait_for(kWait),
            std::future_status::ready);
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnections) {
  StartServer(&Echo);
  auto client = Connected();
  client->RoundTrip(Request(http::verb::get, "/"));

  auto stopped = std::async(std::launch::async, [&] { server_->Stop(); });

  ASSERT_EQ(stopped.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(client->ReadToEnd(), net::error::eof);
}

TEST_F(HttpServerTest, IdleConnectionIsClosedAfterReadTimeout) {
  HttpServerOptions options;
  options.read_timeout_seconds = 1;
  StartServer(&Echo, options);
  auto client = Connected();

  EXPECT_EQ(client->ReadToEnd(), net::error::eof);  // not timed_out (kWait)
}

TEST_F(HttpServerTest, ConnectionsOverTheCapAreClosed) {
  HttpServerOptions options;
  options.max_connections = 1;
  StartServer(&Echo, options);
  auto first = Connected();
  first->RoundTrip(Request(http::verb::get, "/"));  // now surely admitted

  auto second = Connected();
  auto request = Request(http::verb::get, "/");
  request.set(http::field::host, "x");
  error_code sent = second->Send(request);
  http::response<http::string_body> response;
  error_code read = sent ? sent : second->Read(response);

  EXPECT_TRUE(read == http::error::end_of_stream ||
              read == net::error::connection_reset || read == net::error::eof ||
              read == net::error::broken_pipe)
      << read.message();
  EXPECT_EQ(calls_, 1);
}

size_t VirtualMemoryBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmSize:", 0) == 0) {
      return std::stoul(line.substr(7)) * 1024;  // the value is in kB
    }
  }
  return 0;
}

// Each connection thread owns an 8 MiB stack until joined: were finished
// threads never joined, 500 connections would add about 4 GiB.
TEST_F(HttpServerTest, ManySequentialConnectionsDoNotAccumulateThreads) {
  StartServer(&Echo);
  size_t before = VirtualMemoryBytes();
  ASSERT_GT(before, 0u);

  for (int i = 0; i < 500; ++i) {
    auto client = Connected();
    auto request = Request(http::verb::get, "/");
    request.keep_alive(false);
    ASSERT_EQ(client->RoundTrip(std::move(request)).result_int(), 200);
    ASSERT_EQ(client->ReadToEnd(), net::error::eof);
  }

  EXPECT_LT(VirtualMemoryBytes() - before, size_t{1} << 30);
  auto stopped = std::async(std::launch::async, [&] { server_->Stop(); });
  EXPECT_EQ(stopped.wait_for(kWait), std::future_status::ready);
  EXPECT_EQ(calls_, 500);
}

TEST(HttpServerStartTest, PortInUseIsUnavailableWithAddress) {
  HttpServerOptions options;
  options.port = 0;
  HttpServer first(options, &Echo);
  ASSERT_TRUE(first.Start().ok());
  options.port = first.port();
  HttpServer second(options, &Echo);

  Status started = second.Start();

  EXPECT_EQ(started.code(), StatusCode::kUnavailable);
  EXPECT_NE(started.message().find("cannot listen on 127.0.0.1:" +
                                   std::to_string(first.port())),
            std::string::npos)
      << started.message();
}

TEST(HttpServerStartTest, BadAddressIsUnavailable) {
  HttpServerOptions options;
  options.address = "not-an-address";
  options.port = 0;
  HttpServer server(options, &Echo);

  Status started = server.Start();

  EXPECT_EQ(started.code(), StatusCode::kUnavailable);
  EXPECT_NE(started.message().find("not-an-address"), std::string::npos);
}

TEST(HttpServerStartTest, PortZeroPicksAFreePort) {
  HttpServerOptions options;
  options.port = 0;
  HttpServer server(options, &Echo);

  ASSERT_TRUE(server.Start().ok());

  EXPECT_NE(server.port(), 0);
}

TEST(HttpServerStartTest, StopWithoutStartAndTwiceIsHarmless) {
  HttpServer idle(HttpServerOptions{}, &Echo);
  idle.Stop();
  HttpServerOptions options;
  options.port = 0;
  HttpServer server(options, &Echo);
  ASSERT_TRUE(server.Start().ok());

  server.Stop();
  server.Stop();

  EXPECT_EQ(server.Start().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace jit

namespace jit {
namespace {

// One request over a Unix-domain socket; every step bounded by kWait.
StatusOr<http::response<http::string_body>> AskUnix(const std::string& path,
                                                    std::string target) {
  net::io_context io;
  net::local::stream_protocol::socket socket(io);
  error_code result = net::error::timed_out;
  socket.async_connect(net::local::stream_protocol::endpoint(path),
                       [&](error_code ec) { result = ec; });
  io.run_for(kWait);
  if (result) return UnavailableError("connect: " + result.message());
  auto request = Request(http::verb::post, target, "{}");
  request.prepare_payload();
  http::response<http::string_body> response;
  boost::beast::flat_buffer buffer;
  result = net::error::timed_out;
  http::async_write(socket, request, [&](error_code ec, size_t) {
    if (ec) {
      result = ec;
      return;
    }
    http::async_read(socket, buffer, response,
                     [&](error_code ec2, size_t) { result = ec2; });
  });
  io.restart();
  io.run_for(kWait);
  if (result) return UnavailableError("exchange: " + result.message());
  return response;
}

TEST(HttpServerUnixTest, ServesOnAPrivateSocketAndTellsThePeerUid) {
  std::string dir = testing::TempDir() + "/jitd-unix-" + RandomHex(4);
  std::filesystem::create_directories(dir);
  std::string path = dir + "/check.sock";
  HttpServerOptions options;
  options.unix_socket = path;
  std::optional<uint32_t> seen_uid;
  std::string seen_remote;
  HttpServer server(options, [&](const HttpRequest& r) {
    seen_uid = r.peer_uid;
    seen_remote = r.remote_address;
    return Echo(r);
  });
  ASSERT_TRUE(server.Start().ok());
  auto st = std::filesystem::status(path);
  EXPECT_TRUE(std::filesystem::is_socket(st));
  EXPECT_EQ(
      st.permissions() & std::filesystem::perms::all,
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);

  auto response = AskUnix(path, "/v1/check");
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->result_int(), 200);
  ASSERT_TRUE(seen_uid.has_value());
  EXPECT_EQ(*seen_uid, static_cast<uint32_t>(geteuid()));
  EXPECT_EQ(seen_remote, "unix");

  server.Stop();
  EXPECT_FALSE(std::filesystem::exists(path));
  std::filesystem::remove_all(dir);
}

TEST(HttpServerUnixTest, ReplacesAStaleSocketButNotAnotherFile) {
  std::string dir = testing::TempDir() + "/jitd-unix-" + RandomHex(4);
  std::filesystem::create_directories(dir);
  std::string path = dir + "/check.sock";
  HttpServerOptions options;
  options.unix_socket = path;
  {
    // A socket file left behind, as by a process that was killed.
    net::io_context io;
    net::local::stream_protocol::acceptor stale(io);
    stale.open();
    stale.bind(net::local::stream_protocol::endpoint(path));
  }
  ASSERT_TRUE(std::filesystem::is_socket(path));
  HttpServer second(options, &Echo);
  EXPECT_TRUE(second.Start().ok());
  second.Stop();

  std::ofstream(path) << "not a socket";
  HttpServer third(options, &Echo);
  Status refused = third.Start();
  EXPECT_EQ(refused.code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.message().find("not a socket"), std::string::npos);
  std::filesystem::remove_all(dir);
}

TEST_F(HttpServerTest, TcpRequestsCarryNoPeerUid) {
  std::optional<uint32_t> seen_uid = 7;
  StartServer([&](const HttpRequest& r) {
    seen_uid = r.peer_uid;
    return Echo(r);
  });
  auto client = Connected();
  auto request = Request(http::verb::get, "/x");
  ASSERT_FALSE(client->Send(request));
  http::response<http::string_body> response;
  ASSERT_FALSE(client->Read(response));
  EXPECT_FALSE(seen_uid.has_value());
}

// A self-signed certificate for 127.0.0.1 from the openssl CLI:
// DIR/NAME.pem and DIR/NAME.key (mode 0600).
void MakeSelfSigned(const std::string& dir, const std::string& name) {
  PosixCommandRunner runner;
  auto r = runner.Run(
      {"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
       "ec_paramgen_curve:P-256", "-nodes", "-keyout",
       dir + "/" + name + ".key", "-out", dir + "/" + name + ".pem", "-days",
       "1", "-subj", "/CN=" + name, "-addext", "subjectAltName=IP:127.0.0.1"},
      {{"PATH", "/usr/bin:/bin"}}, std::chrono::seconds(30));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->exit_code, 0) << r->err;
  std::filesystem::permissions(
      dir + "/" + name + ".key",
      std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

// One HTTPS request trusting only `ca_file`; every step bounded by kWait.
// The error of the first step that failed, else the response.
struct TlsReply {
  error_code ec;
  http::response<http::string_body> response;
};

TlsReply TlsGet(uint16_t port, const std::string& ca_file,
                const std::string& target) {
  namespace ssl = net::ssl;
  net::io_context io;
  ssl::context ctx(ssl::context::tls_client);
  ctx.load_verify_file(ca_file);
  ssl::stream<tcp::socket> stream(io, ctx);
  stream.set_verify_mode(ssl::verify_peer);
  TlsReply out;
  boost::beast::flat_buffer buffer;
  auto request = Request(http::verb::get, target);
  request.set(http::field::host, "127.0.0.1");
  tcp::endpoint endpoint(net::ip::make_address("127.0.0.1"), port);
  stream.next_layer().async_connect(endpoint, [&](error_code ec) {
    if (ec) {
      out.ec = ec;
      return;
    }
    stream.async_handshake(ssl::stream_base::client, [&](error_code ec) {
      if (ec) {
        out.ec = ec;
        return;
      }
      http::async_write(stream, request, [&](error_code ec, size_t) {
        if (ec) {
          out.ec = ec;
          return;
        }
        http::async_read(stream, buffer, out.response,
                         [&](error_code ec, size_t) { out.ec = ec; });
      });
    });
  });
  if (io.run_for(kWait) == 0 || !io.stopped()) {
    out.ec = net::error::timed_out;
  }
  return out;
}

class TlsServerTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jit-tls-" + std::to_string(getpid()) + "-" +
            testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    MakeSelfSigned(dir_, "one");
    MakeSelfSigned(dir_, "two");
  }
  void TearDown() override {
    if (server_) server_->Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  TlsFiles Files(const std::string& cert, const std::string& key) const {
    return TlsFiles{dir_ + "/" + cert + ".pem", dir_ + "/" + key + ".key"};
  }

  Status Start(const TlsFiles& files, HttpHandler handler = &Echo) {
    HttpServerOptions options;
    options.address = "127.0.0.1";
    options.port = 0;
    options.tls = files;
    server_ = std::make_unique<HttpServer>(options, std::move(handler));
    return server_->Start();
  }

  std::string dir_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsServerTest, HstsAndHardenedCookiesOverTls) {
  std::atomic<bool> saw_tls{false};
  ASSERT_TRUE(Start(Files("one", "one"), [&](const HttpRequest& r) {
                saw_tls = r.transport == Transport::kTls;
                HttpResponse out;
                out.headers["Set-Cookie"] = "sid=abc; SameSite=Lax; secure";
                return out;
              }).ok());
  TlsReply reply = TlsGet(server_->port(), dir_ + "/one.pem", "/x");
  ASSERT_FALSE(reply.ec) << reply.ec.message();
  EXPECT_EQ(reply.response.result_int(), 200);
  EXPECT_TRUE(saw_tls);
  EXPECT_EQ(reply.response[http::field::strict_transport_security],
            "max-age=31536000");
  EXPECT_EQ(reply.response[http::field::set_cookie],
            "sid=abc; Secure; HttpOnly; SameSite=Strict");
}

TEST_F(HttpServerTest, PlainHttpHasNoHstsAndKeepsCookies) {
  std::atomic<bool> saw_plain{false};
  StartServer([&](const HttpRequest& r) {
    saw_plain = r.transport == Transport::kPlain;
    HttpResponse out;
    out.headers["Set-Cookie"] = "sid=abc; HttpOnly";
    return out;
  });
  auto response = Connected()->RoundTrip(Request(http::verb::get, "/x"));
  EXPECT_TRUE(saw_plain);
  EXPECT_EQ(response.count(http::field::strict_transport_security), 0u);
  EXPECT_EQ(response[http::field::set_cookie], "sid=abc; HttpOnly");
}

TEST_F(TlsServerTest, AnUntrustedCertificateFailsTheHandshake) {
  ASSERT_TRUE(Start(Files("one", "one")).ok());
  TlsReply reply = TlsGet(server_->port(), dir_ + "/two.pem", "/x");
  EXPECT_TRUE(reply.ec);
  EXPECT_NE(reply.ec, net::error::timed_out);
}

TEST_F(TlsServerTest, UnusableKeysAreRefusedAtStart) {
  std::filesystem::permissions(dir_ + "/one.key",
                               std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  Status readable = Start(Files("one", "one"));
  EXPECT_EQ(readable.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(readable.message().find("readable by others"), std::string::npos)
      << readable.message();
  Status mismatch = Start(Files("one", "two"));
  EXPECT_EQ(mismatch.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(mismatch.message().find("mismatch"), std::string::npos)
      << mismatch.message();
  Status missing = Start(TlsFiles{dir_ + "/none.pem", dir_ + "/two.key"});
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("none.pem"), std::string::npos);
}

TEST_F(TlsServerTest, ReloadTlsSwapsFilesAndKeepsTheOldOnError) {
  ASSERT_TRUE(Start(Files("one", "one")).ok());
  EXPECT_EQ(server_->ReloadTls(Files("two", "one")).code(),
            StatusCode::kInvalidArgument);
  EXPECT_FALSE(TlsGet(server_->port(), dir_ + "/one.pem", "/x").ec);
  ASSERT_TRUE(server_->ReloadTls(Files("two", "two")).ok());
  EXPECT_FALSE(TlsGet(server_->port(), dir_ + "/two.pem", "/x").ec);
  EXPECT_TRUE(TlsGet(server_->port(), dir_ + "/one.pem", "/x").ec);
}

TEST_F(TlsServerTest, SilentPeerIsDroppedAfterTheHandshakeTimeout) {
  HttpServerOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.tls = Files("one", "one");
  options.tls_handshake_timeout = std::chrono::seconds(1);
  server_ = std::make_unique<HttpServer>(options, &Echo);
  ASSERT_TRUE(server_->Start().ok());
  TestClient silent(server_->port());
  ASSERT_FALSE(silent.Connect());
  // Ends (EOF or reset) long before kWait.
  error_code ec = silent.ReadToEnd();
  EXPECT_NE(ec, net::error::timed_out);
  EXPECT_FALSE(TlsGet(server_->port(), dir_ + "/one.pem", "/x").ec);
}

TEST(HttpServerTlsTest, ReloadWithoutTlsIsAPreconditionError) {
  HttpServer server(HttpServerOptions{}, &Echo);
  EXPECT_EQ(server.ReloadTls(TlsFiles{"a", "b"}).code(),
            StatusCode::kFailedPrecondition);
}

TEST(SessionCookieTest, SecureOnlyOverTls) {
  StatusOr<std::string> tls = SessionCookie(
      "jitd_session", "abc123", std::chrono::seconds(3600), Transport::kTls);
  ASSERT_TRUE(tls.ok());
  EXPECT_EQ(*tls,
            "jitd_session=abc123; Path=/; Max-Age=3600; Secure; HttpOnly; "
            "SameSite=Strict");
  StatusOr<std::string> plain = SessionCookie(
      "jitd_session", "abc123", std::chrono::seconds(60), Transport::kPlain);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(*plain,
            "jitd_session=abc123; Path=/; Max-Age=60; HttpOnly; "
            "SameSite=Strict");
}

TEST(SessionCookieTest, RefusesInjection) {
  EXPECT_FALSE(SessionCookie("s", "a; Domain=evil", std::chrono::seconds(1),
                             Transport::kTls)
                   .ok());
  EXPECT_FALSE(
      SessionCookie("s", "a\r\nX: y", std::chrono::seconds(1), Transport::kTls)
          .ok());
  EXPECT_FALSE(
      SessionCookie("", "a", std::chrono::seconds(1), Transport::kTls).ok());
  EXPECT_FALSE(
      SessionCookie("a b", "a", std::chrono::seconds(1), Transport::kTls).ok());
}

}  // namespace
}  // namespace jit
