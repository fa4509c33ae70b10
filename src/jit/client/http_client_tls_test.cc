// https in HttpClient against a real TLS server on 127.0.0.1 whose
// certificates the test makes.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "jit/client/http_client.h"
#include "jit/client/http_client_test_certs.h"

namespace jit {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

// An https server on 127.0.0.1 answering every request with 200 and the
// request target. Each connection is served on the server thread with
// blocking calls bounded by socket timeouts.
class TlsServer {
 public:
  explicit TlsServer(const testing::TestPki& pki) {
    context_.use_certificate_chain(
        net::buffer(pki.server_cert_pem.data(), pki.server_cert_pem.size()));
    context_.use_private_key(
        net::buffer(pki.server_key_pem.data(), pki.server_key_pem.size()),
        net::ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.bind({net::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    Accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~TlsServer() {
    net::post(io_, [this] { acceptor_.close(); });
    io_.stop();
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int handshakes() const { return handshakes_; }

 private:
  void Accept() {
    acceptor_.async_accept(
        [this](boost::system::error_code ec, tcp::socket socket) {
          if (ec) return;
          Serve(std::move(socket));
          Accept();
        });
  }

  void Serve(tcp::socket socket) {
    timeval limit{5, 0};
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &limit,
               sizeof(limit));
    setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &limit,
               sizeof(limit));
    net::ssl::stream<tcp::socket> tls(std::move(socket), context_);
    boost::system::error_code ec;
    tls.handshake(net::ssl::stream_base::server, ec);
    if (ec) return;
    ++handshakes_;
    boost::beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::read(tls, buffer, request, ec);
    if (ec) return;
    http::response<http::string_body> response(http::status::ok, 11);
    response.body() = std::string(request.target());
    response.prepare_payload();
    http::write(tls, response, ec);
    tls.shutdown(ec);
  }

  net::io_context io_;
  net::ssl::context context_{net::ssl::context::tls_server};
  tcp::acceptor acceptor_{io_};
  uint16_t port_ = 0;
  std::atomic<int> handshakes_{0};
  std::thread thread_;
};

class HttpsClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("jit_https_test_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A server whose certificate names `alt_names`; the CA goes to ca.pem.
  std::unique_ptr<TlsServer> Serve(const std::vector<std::string>& alt_names) {
    StatusOr<testing::TestPki> pki = testing::MakeTestPki(alt_names);
    EXPECT_TRUE(pki.ok()) << pki.status().ToString();
    EXPECT_TRUE(testing::WriteTextFile(CaFile(), pki->ca_cert_pem).ok());
    return std::make_unique<TlsServer>(*pki);
  }
  std::string CaFile() const { return (dir_ / "ca.pem").string(); }

  StatusOr<ClientResponse> Get(const std::string& url,
                               const std::string& ca_file) {
    StatusOr<HttpClient> client = HttpClient::Create(url, 5s, {ca_file});
    if (!client.ok()) return client.status();
    return client->Do("GET", "/hello?x=1");
  }

  std::filesystem::path dir_;
};

TEST_F(HttpsClientTest, RightCaAndIpAddressNameIsAccepted) {
  auto server = Serve({"IP:127.0.0.1"});

  StatusOr<ClientResponse> response =
      Get("https://127.0.0.1:" + std::to_string(server->port()), CaFile());

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, "/hello?x=1");
}

TEST_F(HttpsClientTest, RightCaAndDnsNameIsAccepted) {
  auto server = Serve({"DNS:localhost"});

  StatusOr<ClientResponse> response =
      Get("https://localhost:" + std::to_string(server->port()), CaFile());

  ASSERT_TRUE(response.ok()) << response.status().ToString();
  EXPECT_EQ(response->body, "/hello?x=1");
}

TEST_F(HttpsClientTest, CertificateFromAnotherCaIsRefused) {
  auto server = Serve({"IP:127.0.0.1"});
  StatusOr<testing::TestPki> other = testing::MakeTestPki({"IP:127.0.0.1"});
  ASSERT_TRUE(other.ok());
  std::string other_ca = (dir_ / "other_ca.pem").string();
  ASSERT_TRUE(testing::WriteTextFile(other_ca, other->ca_cert_pem).ok());

  StatusOr<ClientResponse> response =
      Get("https://127.0.0.1:" + std::to_string(server->port()), other_ca);

  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(response.status().message().find("certificate verify failed"),
            std::string::npos)
      << response.status().message();
  EXPECT_EQ(server->handshakes(), 0);
}

TEST_F(HttpsClientTest, SystemStoreDoesNotTrustATestCa) {
  auto server = Serve({"IP:127.0.0.1"});

  StatusOr<ClientResponse> response =
      Get("https://127.0.0.1:" + std::to_string(server->port()), "");

  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(server->handshakes(), 0);
}

TEST_F(HttpsClientTest, CertificateForAnotherHostIsRefused) {
  auto server = Serve({"DNS:jitd.example", "IP:127.0.0.2"});

  StatusOr<ClientResponse> response =
      Get("https://127.0.0.1:" + std::to_string(server->port()), CaFile());

  EXPECT_EQ(response.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(response.status().message().find("mismatch"), std::string::npos)
      << response.status().message();
  EXPECT_EQ(server->handshakes(), 0);
}

TEST_F(HttpsClientTest, SilentServerTimesOutInHandshake) {
  auto unused = Serve({"IP:127.0.0.1"});  // writes ca.pem
  // Accepts TCP (kernel backlog) but never answers the ClientHello.
  net::io_context io;
  tcp::acceptor silent(io, {net::ip::make_address("127.0.0.1"), 0});
  std::string url =
      "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
  StatusOr<HttpClient> client = HttpClient::Create(url, 300ms, {CaFile()});
  ASSERT_TRUE(client.ok()) << client.status().ToString();

  StatusOr<ClientResponse> response = client->Do("GET", "/");

  EXPECT_EQ(response.status().code(), StatusCode::kDeadlineExceeded)
      << response.status().ToString();
}

}  // namespace
}  // namespace jit
