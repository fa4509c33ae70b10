#include "jit/client/http_client.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "jit/base/status_macros.h"
#include "jit/client/sse_parser.h"

namespace jit {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;

constexpr std::string_view kScheme = "http://";
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
                                  std::string_view url) {
  auto bad = [&] {
    return InvalidArgumentError("bad host in server URL: " + std::string(url));
  };
  std::string_view host = authority;
  std::string_view port_text = "80";
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

// One connection. Each step starts an asynchronous operation and runs the
// private io_context until it completes; the tcp_stream deadline bounds every
// read and write.
class Exchange {
 public:
  Exchange(std::string where, std::chrono::milliseconds timeout)
      : where_(std::move(where)), timeout_(timeout) {}

  // Starts the deadline that Write() and Read*() share until the next Renew.
  void Renew() { stream_.expires_after(timeout_); }

  Status Connect(const std::string& host, const std::string& port) {
    JIT_ASSIGN_OR_RETURN(tcp::resolver::results_type endpoints,
                         Resolve(host, port));
    Renew();
    error_code ec = Await(
        [&](auto done) { stream_.async_connect(endpoints, std::move(done)); });
    if (ec) return TransportError("cannot connect to", ec, where_);
    return OkStatus();
  }

  Status Write(http::request<http::string_body>& request) {
    error_code ec = Await([&](auto done) {
      http::async_write(stream_, request, std::move(done));
    });
    if (ec) return TransportError("cannot send to", ec, where_);
    return OkStatus();
  }

  template <class Parser>
  Status ReadHeader(Parser& parser) {
    error_code ec = Await([&](auto done) {
      http::async_read_header(stream_, buffer_, parser, std::move(done));
    });
    if (ec) return TransportError("no response from", ec, where_);
    return OkStatus();
  }

  Status Read(http::response_parser<http::string_body>& parser) {
    error_code ec = Await([&](auto done) {
      http::async_read(stream_, buffer_, parser, std::move(done));
    });
    if (ec) return TransportError("no response from", ec, where_);
    return OkStatus();
  }

  // Reads what has arrived of a body into `parser`'s buffer. Returns the
  // error as is: the caller tells the end of a stream from a failure.
  error_code ReadSome(http::response_parser<http::buffer_body>& parser) {
    error_code ec = Await([&](auto done) {
      http::async_read_some(stream_, buffer_, parser, std::move(done));
    });
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
  beast::tcp_stream stream_{io_};
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

StatusOr<HttpClient> HttpClient::Create(std::string_view base_url,
                                        std::chrono::milliseconds timeout) {
  std::string url(base_url);
  if (StartsWithNoCase(base_url, "https://")) {
    return InvalidArgumentError("https is not supported by this client yet: " +
                                url);
  }
  if (!StartsWithNoCase(base_url, kScheme)) {
    return InvalidArgumentError("server URL must start with http://: " + url);
  }
  if (timeout.count() <= 0) {
    return InvalidArgumentError("client timeout must be positive");
  }
  std::string_view rest = base_url.substr(kScheme.size());
  if (rest.find_first_of("?#@") != std::string_view::npos ||
      HasControlOrSpace(rest)) {
    return InvalidArgumentError(
        "server URL may hold only scheme, host, port and path: " + url);
  }
  size_t slash = rest.find('/');
  JIT_ASSIGN_OR_RETURN(HostPort host_port,
                       SplitAuthority(rest.substr(0, slash), base_url));
  std::string prefix(slash == std::string_view::npos ? "" : rest.substr(slash));
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  return HttpClient(std::move(host_port.host), std::move(host_port.port),
                    std::move(prefix), timeout);
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

std::string HostHeader(const std::string& host, const std::string& port) {
  std::string name =
      host.find(':') == std::string::npos ? host : "[" + host + "]";
  return port == "80" ? name : name + ":" + port;
}

}  // namespace

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
  request.set(http::field::host, HostHeader(host_, port_));
  request.set(http::field::user_agent, "jit");
  if (!bearer_token.empty()) {
    request.set(http::field::authorization,
                "Bearer " + std::string(bearer_token));
  }
  for (const auto& [name, value] : extra_headers) request.set(name, value);
  if (!json_body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::string(json_body);
  }
  request.keep_alive(false);
  request.prepare_payload();

  Exchange exchange("http://" + HostHeader(host_, port_), timeout_);
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
  request.set(http::field::host, HostHeader(host_, port_));
  request.set(http::field::user_agent, "jit");
  request.set(http::field::accept, "text/event-stream");
  request.set(http::field::cache_control, "no-cache");
  if (!bearer_token.empty()) {
    request.set(http::field::authorization,
                "Bearer " + std::string(bearer_token));
  }
  request.prepare_payload();

  Exchange exchange("http://" + HostHeader(host_, port_), timeout_);
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
