#include "jit/client/http_client.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "jit/base/status_macros.h"
#include "jit/client/sse_parser.h"

namespace jit {

struct TlsContext {
  // Configured once in Create, then only used to start connections, which
  // OpenSSL allows from many threads at once; Beast wants it non-const.
  mutable boost::asio::ssl::context ssl{boost::asio::ssl::context::tls_client};
};

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

constexpr std::string_view kHttp = "http://";
constexpr std::string_view kHttps = "https://";
constexpr uint64_t kMaxResponseBytes = 64 * 1024 * 1024;
constexpr size_t kMaxErrorBodyBytes = 4096;

beast::string_view BeastView(std::string_view s) {
  return {s.data(), s.size()};
}

std::string_view View(beast::string_view s) { return {s.data(), s.size()}; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() &&
         beast::iequals(BeastView(s.substr(0, prefix.size())),
                        BeastView(prefix));
}

bool HasControlOrSpace(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](unsigned char c) { return c <= ' ' || c == 0x7f; });
}

bool HasLineBreakOrNul(std::string_view s) {
  return s.find_first_of(std::string_view("\r\n\0", 3)) !=
         std::string_view::npos;
}

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' ||
         c == '_';
}

bool IsIpv6Char(char c) {
  return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
}

StatusOr<std::string> ParsePort(std::string_view text, std::string_view url) {
  bool digits = !text.empty() && text.size() <= 5 &&
                std::all_of(text.begin(), text.end(),
                            [](unsigned char c) { return std::isdigit(c); });
  if (!digits || std::stoi(std::string(text)) < 1 ||
      std::stoi(std::string(text)) > 65535) {
    return InvalidArgumentError("bad port in server URL: " + std::string(url));
  }
  return std::string(text);
}

struct HostPort {
  std::string host;  // without IPv6 brackets
  std::string port;
};

// Splits "host", "host:port", "[v6]" or "[v6]:port".
StatusOr<HostPort> SplitAuthority(std::string_view authority,
                                  std::string_view url,
                                  std::string_view default_port) {
  auto bad = [&] {
    return InvalidArgumentError("bad host in server URL: " + std::string(url));
  };
  std::string_view host = authority;
  std::string_view port_text = default_port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad();
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad();
    if (!after.empty()) port_text = after.substr(1);
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsIpv6Char)) {
      return bad();
    }
  } else {
    size_t colon = authority.find(':');
    if (colon != std::string_view::npos) {
      host = authority.substr(0, colon);
      port_text = authority.substr(colon + 1);
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar)) {
      return bad();
    }
  }
  JIT_ASSIGN_OR_RETURN(std::string port, ParsePort(port_text, url));
  return HostPort{std::string(host), std::move(port)};
}

Status TransportError(std::string_view step, const error_code& ec,
                      std::string_view where) {
  std::string message = std::string(step) + " " + std::string(where);
  if (ec == beast::error::timeout) {
    return DeadlineExceededError("timed out: " + message);
  }
  return UnavailableError(message + ": " + ec.message());
}

// Maps the status of a refused stream to the closest code.
Status StreamRefused(int status, std::string_view body) {
  std::string message = "stream refused with HTTP " + std::to_string(status);
  if (!body.empty()) message += ": " + std::string(body);
  switch (status) {
    case 400:
      return InvalidArgumentError(std::move(message));
    case 401:
      return UnauthenticatedError(std::move(message));
    case 403:
      return PermissionDeniedError(std::move(message));
    case 404:
      return NotFoundError(std::move(message));
    case 413:
      return ResourceExhaustedError(std::move(message));
    case 503:
      return UnavailableError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

std::map<std::string, std::string> LowerCaseHeaders(
    const http::fields& fields) {
  std::map<std::string, std::string> headers;
  for (const auto& field : fields) {
    std::string name(View(field.name_string()));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
      return static_cast<char>(std::tolower(c));
    });
    std::string value(View(field.value()));
    auto [it, inserted] = headers.emplace(std::move(name), value);
    if (!inserted) it->second += ", " + value;
  }
  return headers;
}

bool IsIpAddress(const std::string& host) {
  error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

// Makes the handshake check that the peer's certificate names `host` (as an
// IP address or a DNS name) and sends `host` as SNI when it is a name.
Status PrepareTls(SSL* ssl, const std::string& host) {
  X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
  X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  bool ok = IsIpAddress(host)
                ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str()) == 1
                : SSL_set1_host(ssl, host.c_str()) == 1 &&
                      SSL_set_tlsext_host_name(ssl, host.c_str()) == 1;
  if (!ok) return InvalidArgumentError("cannot check TLS host name " + host);
  return OkStatus();
}

// What OpenSSL said about a failed handshake (e.g. "certificate verify
// failed: Hostname mismatch").
std::string HandshakeError(SSL* ssl, const error_code& ec) {
  long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return ec.message() + " (" + X509_verify_cert_error_string(verify) + ")";
  }
  return ec.message();
}

// One connection, plain or TLS. Each step starts an asynchronous operation
// and runs the private io_context until it completes; the tcp_stream
// deadline bounds every read and write (and the TLS handshake).
class Exchange {
 public:
  Exchange(std::string where, std::chrono::milliseconds timeout,
           const TlsContext* tls)
      : where_(std::move(where)), timeout_(timeout) {
    if (tls != nullptr) {
      tls_stream_ =
          std::make_unique<beast::ssl_stream<beast::tcp_stream>>(io_, tls->ssl);
    }
  }

  // Starts the deadline that Write() and Read*() share until the next Renew.
  void Renew() { Tcp().expires_after(timeout_); }

  Status Connect(const std::string& host, const std::string& port) {
    JIT_ASSIGN_OR_RETURN(tcp::resolver::results_type endpoints,
                         Resolve(host, port));
    Renew();
    error_code ec = Await(
        [&](auto done) { Tcp().async_connect(endpoints, std::move(done)); });
    if (ec) return TransportError("cannot connect to", ec, where_);
    if (tls_stream_) return Handshake(host);
    return OkStatus();
  }

  Status Write(http::request<http::string_body>& request) {
    error_code ec = OnStream([&](auto& stream) {
      return Await([&](auto done) {
        http::async_write(stream, request, std::move(done));
      });
    });
    if (ec) return TransportError("cannot send to", ec, where_);
    return OkStatus();
  }

  template <class Parser>
  Status ReadHeader(Parser& parser) {
    error_code ec = OnStream([&](auto& stream) {
      return Await([&](auto done) {
        http::async_read_header(stream, buffer_, parser, std::move(done));
      });
    });
    if (ec) return TransportError("no response from", ec, where_);
    return OkStatus();
  }

  Status Read(http::response_parser<http::string_body>& parser) {
    error_code ec = OnStream([&](auto& stream) {
      return Await([&](auto done) {
        http::async_read(stream, buffer_, parser, std::move(done));
      });
    });
    // A TLS peer that closes without close_notify after a complete,
    // length-delimited message does no harm: the parser knows it is done.
    if (ec == net::ssl::error::stream_truncated && parser.is_done()) {
      return OkStatus();
    }
    if (ec) return TransportError("no response from", ec, where_);
    return OkStatus();
  }

  // Reads what has arrived of a body into `parser`'s buffer. Returns the
  // error as is: the caller tells the end of a stream from a failure.
  error_code ReadSome(http::response_parser<http::buffer_body>& parser) {
    error_code ec = OnStream([&](auto& stream) {
      return Await([&](auto done) {
        http::async_read_some(stream, buffer_, parser, std::move(done));
      });
    });
    if (ec == net::ssl::error::stream_truncated) return net::error::eof;
    return ec == http::error::need_buffer ? error_code() : ec;
  }

  const std::string& where() const { return where_; }

 private:
  StatusOr<tcp::resolver::results_type> Resolve(const std::string& host,
                                                const std::string& port) {
    std::optional<error_code> result;
    tcp::resolver::results_type endpoints;
    resolver_.async_resolve(
        host, port, [&](const error_code& ec, tcp::resolver::results_type r) {
          result = ec;
          endpoints = std::move(r);
        });
    io_.restart();
    io_.run_for(timeout_);
    if (!result) {
      resolver_.cancel();
      return DeadlineExceededError("timed out resolving " + where_);
    }
    if (*result) return TransportError("cannot resolve", *result, where_);
    return endpoints;
  }

  beast::tcp_stream& Tcp() {
    return tls_stream_ ? beast::get_lowest_layer(*tls_stream_) : stream_;
  }

  template <class Op>
  error_code OnStream(const Op& op) {
    if (tls_stream_) return op(*tls_stream_);
    return op(stream_);
  }

  Status Handshake(const std::string& host) {
    SSL* ssl = tls_stream_->native_handle();
    JIT_RETURN_IF_ERROR(PrepareTls(ssl, host));
    error_code ec = Await([&](auto done) {
      tls_stream_->async_handshake(net::ssl::stream_base::client,
                                   std::move(done));
    });
    if (ec == beast::error::timeout) {
      return TransportError("TLS handshake with", ec, where_);
    }
    if (ec) {
      return UnavailableError("TLS handshake with " + where_ +
                              " failed: " + HandshakeError(ssl, ec));
    }
    return OkStatus();
  }

  template <class Start>
  error_code Await(const Start& start) {
    std::optional<error_code> result;
    start([&result](const error_code& ec, auto&&...) { result = ec; });
    io_.restart();
    while (!result && io_.run_one() > 0) {
    }
    return result.value_or(net::error::operation_aborted);
  }

  std::string where_;
  std::chrono::milliseconds timeout_;
  net::io_context io_;
  tcp::resolver resolver_{io_};
  beast::tcp_stream stream_{io_};  // plain http only
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_stream_;
  beast::flat_buffer buffer_;
};

// Reads the body of a stream response piece by piece into `sink` until the
// message ends, the peer closes or `sink` returns false.
template <class Sink>
Status ReadBodyPieces(Exchange& exchange,
                      http::response_parser<http::buffer_body>& parser,
                      const Sink& sink) {
  char piece[8192];
  while (!parser.is_done()) {
    parser.get().body().data = piece;
    parser.get().body().size = sizeof(piece);
    exchange.Renew();
    error_code ec = exchange.ReadSome(parser);
    size_t got = sizeof(piece) - parser.get().body().size;
    if (got > 0) {
      JIT_ASSIGN_OR_RETURN(bool more, sink(std::string_view(piece, got)));
      if (!more) return OkStatus();
    }
    if (ec == http::error::end_of_stream ||
        ec == http::error::partial_message || ec == net::error::eof) {
      return OkStatus();  // the server ended the stream
    }
    if (ec) return TransportError("stream broken from", ec, exchange.where());
  }
  return OkStatus();
}

}  // namespace

namespace {

std::string OpenSslErrors() {
  std::string text;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    text += text.empty() ? buf : std::string("; ") + buf;
  }
  return text.empty() ? "unknown error" : text;
}

// A client context that verifies the peer against `tls.ca_file` or the
// system store, TLS 1.2 or newer.
StatusOr<std::shared_ptr<const TlsContext>> MakeTlsContext(
    const TlsOptions& tls) {
  auto context = std::make_shared<TlsContext>();
  SSL_CTX* ctx = context->ssl.native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  ERR_clear_error();
  if (tls.ca_file.empty()) {
    if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
      return UnavailableError("cannot load the system CA store: " +
                              OpenSslErrors());
    }
    return std::shared_ptr<const TlsContext>(std::move(context));
  }
  if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
    return InvalidArgumentError("cannot load CA file " + tls.ca_file + ": " +
                                OpenSslErrors());
  }
  return std::shared_ptr<const TlsContext>(std::move(context));
}

}  // namespace

StatusOr<HttpClient> HttpClient::Create(std::string_view base_url,
                                        std::chrono::milliseconds timeout,
                                        const TlsOptions& tls) {
  std::string url(base_url);
  const bool https = StartsWithNoCase(base_url, kHttps);
  if (!https && !StartsWithNoCase(base_url, kHttp)) {
    return InvalidArgumentError(
        "server URL must start with http:// or https://: " + url);
  }
  if (timeout.count() <= 0) {
    return InvalidArgumentError("client timeout must be positive");
  }
  std::string_view rest = base_url.substr(https ? kHttps.size() : kHttp.size());
  if (rest.find_first_of("?#@") != std::string_view::npos ||
      HasControlOrSpace(rest)) {
    return InvalidArgumentError(
        "server URL may hold only scheme, host, port and path: " + url);
  }
  size_t slash = rest.find('/');
  JIT_ASSIGN_OR_RETURN(
      HostPort host_port,
      SplitAuthority(rest.substr(0, slash), base_url, https ? "443" : "80"));
  std::string prefix(slash == std::string_view::npos ? "" : rest.substr(slash));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  std::shared_ptr<const TlsContext> context;
  if (https) {
    JIT_ASSIGN_OR_RETURN(context, MakeTlsContext(tls));
  }
  return HttpClient(std::move(host_port.host), std::move(host_port.port),
                    std::move(prefix), timeout, std::move(context));
}

namespace {

Status CheckRequestParts(std::string_view target, std::string_view token,
                         const std::map<std::string, std::string>& headers) {
  if (target.empty() || target.front() != '/' || HasControlOrSpace(target)) {
    return InvalidArgumentError(
        "request target must start with '/' and "
        "hold no spaces or control characters");
  }
  if (HasLineBreakOrNul(token)) {
    return InvalidArgumentError("bearer token holds a line break");
  }
  for (const auto& [name, value] : headers) {
    if (name.empty() || HasControlOrSpace(name) || HasLineBreakOrNul(value)) {
      return InvalidArgumentError("bad request header: " + name);
    }
  }
  return OkStatus();
}

std::string HostHeader(const std::string& host, const std::string& port,
                       bool https) {
  std::string name =
      host.find(':') == std::string::npos ? host : "[" + host + "]";
  return port == (https ? "443" : "80") ? name : name + ":" + port;
}

}  // namespace

std::string HttpClient::Origin() const {
  return (https() ? "https://" : "http://") + HostHeader(host_, port_, https());
}

StatusOr<ClientResponse> HttpClient::Do(
    std::string_view method, std::string_view target,
    std::string_view bearer_token, std::string_view json_body,
    const std::map<std::string, std::string>& extra_headers) const {
  JIT_RETURN_IF_ERROR(CheckRequestParts(target, bearer_token, extra_headers));
  http::verb verb = http::string_to_verb(BeastView(method));
  if (verb == http::verb::unknown) {
    return InvalidArgumentError("unknown HTTP method: " + std::string(method));
  }
  http::request<http::string_body> request(
      verb, BeastView(prefix_ + std::string(target)), 11);
  request.set(http::field::host, HostHeader(host_, port_, https()));
  request.set(http::field::user_agent, "jit");
  if (!bearer_token.empty()) {
    request.set(http::field::authorization,
                "Bearer " + std::string(bearer_token));
  }
  if (!json_body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::string(json_body);
  }
  // After the defaults, so that e.g. a form body's content-type wins.
  for (const auto& [name, value] : extra_headers) request.set(name, value);
  request.keep_alive(false);
  request.prepare_payload();

  Exchange exchange(Origin(), timeout_, tls_.get());
  JIT_RETURN_IF_ERROR(exchange.Connect(host_, port_));
  JIT_RETURN_IF_ERROR(exchange.Write(request));
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBytes);
  JIT_RETURN_IF_ERROR(exchange.Read(parser));
  http::response<http::string_body> response = parser.release();
  return ClientResponse{static_cast<int>(response.result_int()),
                        std::move(response.body()),
                        LowerCaseHeaders(response.base())};
}

Status HttpClient::Stream(
    std::string_view target, std::string_view bearer_token,
    const std::function<bool(const std::string& id, const std::string& event,
                             const std::string& data)>& on_event) const {
  JIT_RETURN_IF_ERROR(CheckRequestParts(target, bearer_token, {}));
  http::request<http::string_body> request(
      http::verb::get, BeastView(prefix_ + std::string(target)), 11);
  request.set(http::field::host, HostHeader(host_, port_, https()));
  request.set(http::field::user_agent, "jit");
  request.set(http::field::accept, "text/event-stream");
  request.set(http::field::cache_control, "no-cache");
  if (!bearer_token.empty()) {
    request.set(http::field::authorization,
                "Bearer " + std::string(bearer_token));
  }
  request.prepare_payload();

  Exchange exchange(Origin(), timeout_, tls_.get());
  JIT_RETURN_IF_ERROR(exchange.Connect(host_, port_));
  JIT_RETURN_IF_ERROR(exchange.Write(request));
  http::response_parser<http::buffer_body> parser;
  // A stream has no natural end. (Not boost::none: Beast 1.74 then refuses
  // every body that has a Content-Length.)
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  JIT_RETURN_IF_ERROR(exchange.ReadHeader(parser));

  int status = static_cast<int>(parser.get().result_int());
  if (status != 200) {
    std::string body;
    JIT_RETURN_IF_ERROR(ReadBodyPieces(
        exchange, parser, [&](std::string_view piece) -> StatusOr<bool> {
          body.append(piece.substr(0, kMaxErrorBodyBytes - body.size()));
          return body.size() < kMaxErrorBodyBytes;
        }));
    return StreamRefused(status, body);
  }
  SseParser sse;
  return ReadBodyPieces(
      exchange, parser, [&](std::string_view piece) -> StatusOr<bool> {
        JIT_ASSIGN_OR_RETURN(std::vector<SseEvent> events, sse.Feed(piece));
        for (const SseEvent& e : events) {
          if (!on_event(e.id, e.event, e.data)) return false;
        }
        return true;
      });
}

}  // namespace jit
