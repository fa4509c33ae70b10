#include "jit/connectors/webhook/test_http_receiver.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <thread>
#include <type_traits>

namespace jit {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using nlohmann::json;

namespace {

constexpr auto kIoTimeout = std::chrono::seconds(5);
constexpr uint64_t kMaxRequestBytes = 1024 * 1024;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// Written apart from the connector's signing code on purpose, so a mistake
// there cannot cancel itself out here.
std::string HmacHex(const std::string& key, const std::string& data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  size_t size = 0;
  if (EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(),
                key.size(), reinterpret_cast<const unsigned char*>(data.data()),
                data.size(), mac, sizeof(mac), &size) == nullptr) {
    return "";
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (size_t i = 0; i < size; ++i) {
    hex.push_back(kDigits[mac[i] >> 4]);
    hex.push_back(kDigits[mac[i] & 0xf]);
  }
  return hex;
}

bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Header(const std::map<std::string, std::string>& headers,
                   const std::string& name) {
  auto it = headers.find(name);
  return it == headers.end() ? "" : it->second;
}

// Asio does not open sockets close-on-exec; without this a process the test
// starts (jitd) would inherit the listener and keep the port after Stop().
void CloseOnExec(int fd) { ::fcntl(fd, F_SETFD, FD_CLOEXEC); }

template <class Stream>
class Connection : public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Connection(Stream stream, TestHttpReceiver& receiver)
      : stream_(std::move(stream)), receiver_(receiver) {}

  void Run() {
    beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
    if constexpr (kTls) {
      stream_.async_handshake(
          ssl::stream_base::server,
          [self = this->shared_from_this()](const error_code& ec) {
            if (!ec) self->Read();
          });
    } else {
      Read();
    }
  }

 private:
  void Read() {
    parser_.body_limit(kMaxRequestBytes);
    beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
    http::async_read(
        stream_, buffer_, parser_,
        [self = this->shared_from_this()](const error_code& ec, size_t) {
          if (!ec) self->Answer();
        });
  }

  void Answer() {
    const auto& request = parser_.get();
    std::map<std::string, std::string> headers;
    for (const auto& field : request) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      headers[name] = std::string(field.value());
    }
    CannedAnswer a = receiver_.Handle(std::string(request.target()), headers,
                                      request.body());
    response_.result(static_cast<unsigned>(a.status));
    response_.version(11);
    response_.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : a.headers) response_.set(name, value);
    response_.body() = std::move(a.body);
    response_.keep_alive(false);
    response_.prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(kIoTimeout);
    http::async_write(
        stream_, response_,
        [self = this->shared_from_this()](const error_code&, size_t) {
          beast::get_lowest_layer(self->stream_).close();
        });
  }

  Stream stream_;
  TestHttpReceiver& receiver_;
  beast::flat_buffer buffer_;
  http::request_parser<http::string_body> parser_;
  http::response<http::string_body> response_;
};

}  // namespace

struct TestHttpReceiver::Server {
  net::io_context io;
  tcp::acceptor acceptor{io};
  std::unique_ptr<ssl::context> tls;
  std::thread thread;

  void Accept(TestHttpReceiver& receiver) {
    acceptor.async_accept(
        [this, &receiver](const error_code& ec, tcp::socket socket) {
          if (ec) return;  // closed
          CloseOnExec(socket.native_handle());
          receiver.CountConnection();
          if (tls) {
            std::make_shared<Connection<TlsStream>>(
                TlsStream(std::move(socket), *tls), receiver)
                ->Run();
          } else {
            std::make_shared<Connection<beast::tcp_stream>>(
                beast::tcp_stream(std::move(socket)), receiver)
                ->Run();
          }
          Accept(receiver);
        });
  }
};

TestHttpReceiver::TestHttpReceiver(TestHttpReceiverOptions options)
    : options_(std::move(options)) {}

TestHttpReceiver::~TestHttpReceiver() { Stop(); }

Status TestHttpReceiver::Start() {
  if (server_) return OkStatus();
  auto server = std::make_unique<Server>();
  error_code ec;
  if (!options_.cert_file.empty()) {
    server->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    server->tls->use_certificate_chain_file(options_.cert_file, ec);
    if (!ec)
      server->tls->use_private_key_file(options_.key_file, ssl::context::pem,
                                        ec);
    if (ec)
      return InvalidArgumentError("receiver certificate: " + ec.message());
  }
  tcp::endpoint at(net::ip::make_address("127.0.0.1"), port_);
  server->acceptor.open(at.protocol(), ec);
  if (!ec) CloseOnExec(server->acceptor.native_handle());
  if (!ec)
    server->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) server->acceptor.bind(at, ec);
  if (!ec)
    server->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError(fmt::format("receiver cannot listen on port {}: {}",
                                        port_, ec.message()));
  }
  port_ = server->acceptor.local_endpoint().port();
  server->Accept(*this);
  Server* raw = server.get();
  server->thread = std::thread([raw] { raw->io.run(); });
  server_ = std::move(server);
  return OkStatus();
}

void TestHttpReceiver::Stop() {
  if (!server_) return;
  server_->io.stop();
  server_->thread.join();
  server_.reset();  // closes the listener and every connection
}

std::string TestHttpReceiver::Url(std::string_view path) const {
  return fmt::format("{}://localhost:{}{}",
                     options_.cert_file.empty() ? "http" : "https", port_,
                     path);
}

void TestHttpReceiver::PushAnswer(CannedAnswer answer) {
  std::lock_guard lock(mu_);
  canned_.push_back(std::move(answer));
}

bool TestHttpReceiver::Holds(const std::string& grant_id) const {
  std::lock_guard lock(mu_);
  return held_.count(grant_id) > 0;
}

void TestHttpReceiver::OpenSession(const std::string& grant_id,
                                   const std::string& session_id) {
  std::lock_guard lock(mu_);
  open_[grant_id].push_back(session_id);
}

void TestHttpReceiver::SetSessionsSurviveKill(bool survive) {
  std::lock_guard lock(mu_);
  survive_kill_ = survive;
}

std::vector<ReceivedDelivery> TestHttpReceiver::Deliveries() const {
  std::lock_guard lock(mu_);
  return deliveries_;
}

int TestHttpReceiver::connections() const {
  std::lock_guard lock(mu_);
  return connections_;
}

void TestHttpReceiver::CountConnection() {
  std::lock_guard lock(mu_);
  ++connections_;
}

void TestHttpReceiver::Verify(const std::map<std::string, std::string>& headers,
                              const std::string& body,
                              ReceivedDelivery& d) const {
  d.rejection = CheckSignature(headers, body);
  d.signature_ok = d.rejection.empty();
  if (d.signature_ok) d.rejection = CheckFreshness(headers, d.body);
}

std::string TestHttpReceiver::CheckSignature(
    const std::map<std::string, std::string>& headers,
    const std::string& body) const {
  if (Header(headers, "content-type") != "application/json")
    return "content type is not application/json";
  const std::string timestamp = Header(headers, "x-jitd-timestamp");
  if (timestamp.empty() || timestamp.size() > 12 ||
      !std::all_of(timestamp.begin(), timestamp.end(),
                   [](unsigned char c) { return std::isdigit(c); })) {
    return "missing or malformed X-Jitd-Timestamp";
  }
  const std::string expected =
      "v1=" + HmacHex(options_.secret, timestamp + "." + body);
  if (!ConstantTimeEquals(Header(headers, "x-jitd-signature"), expected))
    return "bad signature";
  return "";
}

std::string TestHttpReceiver::CheckFreshness(
    const std::map<std::string, std::string>& headers,
    const json& parsed) const {
  const std::string timestamp = Header(headers, "x-jitd-timestamp");
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
      std::chrono::system_clock::now().time_since_epoch());
  const auto sent = std::chrono::seconds(std::stoll(timestamp));
  if (now - sent > options_.replay_window ||
      sent - now > options_.replay_window)
    return "timestamp outside the replay window";
  if (!parsed.is_object() || !parsed.contains("delivery_id") ||
      parsed["delivery_id"] != Header(headers, "x-jitd-delivery")) {
    return "X-Jitd-Delivery does not match the body";
  }
  return "";
}

json TestHttpReceiver::Apply(const ReceivedDelivery& d) {
  const std::string& id = d.grant_id;
  if (d.action == "grant") {
    held_.insert(id);
    return json::object();
  }
  if (d.action == "revoke") {
    held_.erase(id);
    return json::object();
  }
  if (d.action == "check") return {{"active", held_.count(id) > 0}};
  if (d.action == "kill_sessions") {
    if (!survive_kill_) open_.erase(id);
    return json::object();
  }
  json sessions = json::array();
  for (const std::string& s : open_[id]) {
    sessions.push_back({{"id", s}, {"description", "session " + s}});
  }
  return {{"sessions", sessions}};
}

CannedAnswer TestHttpReceiver::Handle(
    const std::string& target,
    const std::map<std::string, std::string>& headers,
    const std::string& body) {
  ReceivedDelivery d;
  d.target = target;
  d.raw_body = body;
  d.delivery_id = Header(headers, "x-jitd-delivery");
  d.timestamp = Header(headers, "x-jitd-timestamp");
  d.body = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (d.body.is_discarded()) d.body = nullptr;
  if (d.body.is_object()) {
    d.action = d.body.value("action", "");
    d.grant_id = d.body.value("grant_id", "");
  }
  Verify(headers, body, d);

  std::lock_guard lock(mu_);
  if (!canned_.empty()) {
    d.canned = true;
    CannedAnswer a = std::move(canned_.front());
    canned_.pop_front();
    deliveries_.push_back(std::move(d));
    return a;
  }
  CannedAnswer a;
  const bool known_action = d.action == "grant" || d.action == "revoke" ||
                            d.action == "check" || d.action == "sessions" ||
                            d.action == "kill_sessions";
  if (!d.rejection.empty()) {
    a = {401, json{{"error", d.rejection}}.dump(), {}};
  } else if (!known_action || d.grant_id.empty()) {
    d.rejection = "unknown action or no grant_id";
    a = {400, json{{"error", d.rejection}}.dump(), {}};
  } else {
    a = {200, Apply(d).dump(), {}};
  }
  deliveries_.push_back(std::move(d));
  return a;
}

}  // namespace jit
