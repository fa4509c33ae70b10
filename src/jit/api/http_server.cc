#include "jit/api/http_server.h"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/generic/stream_protocol.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/system/system_error.hpp>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "jit/base/status_macros.h"

namespace jit {
namespace {

namespace net = boost::asio;
namespace http = boost::beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
// One socket type for TCP and Unix-domain listeners.
using Protocol = net::generic::stream_protocol;
using Socket = Protocol::socket;
using boost::system::error_code;
using SteadyClock = std::chrono::steady_clock;

constexpr uint32_t kMaxHeaderBytes = 16 * 1024;
// After an error reply the rest of the request is read and dropped, within
// these bounds, so that the peer reads the reply instead of a reset.
constexpr std::chrono::seconds kDrainTime{1};
constexpr size_t kMaxDrainBytes = 1024 * 1024;
// Pause before accepting again after accept() failed (e.g. out of file
// descriptors), so the acceptor does not spin.
constexpr std::chrono::milliseconds kAcceptRetryDelay{100};
// How long a TLS close_notify may take to go out (and the peer's to come
// back) when a connection ends.
constexpr std::chrono::milliseconds kTlsShutdownTime{500};
constexpr size_t kMaxKeyFileBytes = 64 * 1024;
// Mozilla's "intermediate" TLS 1.2 list: ECDHE key exchange and AEAD
// ciphers only. TLS 1.3 suites are OpenSSL's defaults, all of which qualify.
constexpr const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr const char* kHsts = "max-age=31536000";

// A blocking view of a non-blocking socket in which every read and write
// fails with timed_out once the deadline passes. Asio's own blocking calls
// wait without limit (they poll again after SO_RCVTIMEO fires), hence poll()
// here. Both Stop()'s shutdown() and peer resets wake the poll.
class DeadlineSocket {
 public:
  // For asio's ssl::stream, which layers on top of this one.
  using lowest_layer_type = Socket::lowest_layer_type;

  explicit DeadlineSocket(Socket& socket) : socket_(socket) {}

  lowest_layer_type& lowest_layer() { return socket_.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const {
    return socket_.lowest_layer();
  }

  void set_deadline(SteadyClock::time_point deadline) { deadline_ = deadline; }

  template <class Buffers>
  size_t read_some(const Buffers& buffers, error_code& ec) {
    return Retry(POLLIN, ec, [&] { return socket_.read_some(buffers, ec); });
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers, error_code& ec) {
    return Retry(POLLOUT, ec, [&] { return socket_.write_some(buffers, ec); });
  }
  // The throwing forms complete Beast's SyncReadStream/SyncWriteStream
  // concepts; this file only calls the error_code forms.
  template <class Buffers>
  size_t read_some(const Buffers& buffers) {
    error_code ec;
    size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers) {
    error_code ec;
    size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  template <class Op>
  size_t Retry(short events, error_code& ec, const Op& op) {
    for (;;) {
      size_t n = op();
      if (ec != net::error::would_block && ec != net::error::try_again) {
        return n;
      }
      if (!WaitReady(events, ec)) return 0;
    }
  }

  bool WaitReady(short events, error_code& ec) {
    for (;;) {
      auto left = std::chrono::ceil<std::chrono::milliseconds>(
          deadline_ - SteadyClock::now());
      if (left.count() <= 0) {
        ec = net::error::timed_out;
        return false;
      }
      pollfd fd{socket_.native_handle(), events, 0};
      int rc = ::poll(
          &fd, 1, static_cast<int>(std::min<int64_t>(left.count(), INT_MAX)));
      if (rc > 0) return true;
      if (rc < 0 && errno != EINTR) {
        ec = error_code(errno, boost::system::system_category());
        return false;
      }
    }
  }

  Socket& socket_;
  SteadyClock::time_point deadline_ = SteadyClock::now();
};

// The byte stream of one connection: the socket itself, or TLS over it.
// Every operation is bounded by the deadline last set.
class ServerStream {
 public:
  // `tls` null: plain. Otherwise the stream is TLS once Handshake() is OK.
  ServerStream(Socket& socket, ssl::context* tls)
      : socket_(socket), raw_(socket) {
    if (tls != nullptr) tls_.emplace(raw_, *tls);
  }

  Transport transport() const {
    return tls_ ? Transport::kTls : Transport::kPlain;
  }
  void set_deadline(SteadyClock::time_point deadline) {
    raw_.set_deadline(deadline);
  }

  // Runs the server side of the TLS handshake (no-op when plain).
  error_code Handshake(SteadyClock::time_point deadline) {
    error_code ec;
    if (!tls_) return ec;
    raw_.set_deadline(deadline);
    tls_->handshake(ssl::stream_base::server, ec);
    return ec;
  }

  template <class Buffers>
  size_t read_some(const Buffers& buffers, error_code& ec) {
    return tls_ ? tls_->read_some(buffers, ec) : raw_.read_some(buffers, ec);
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers, error_code& ec) {
    return tls_ ? tls_->write_some(buffers, ec) : raw_.write_some(buffers, ec);
  }
  template <class Buffers>
  size_t read_some(const Buffers& buffers) {
    return tls_ ? tls_->read_some(buffers) : raw_.read_some(buffers);
  }
  template <class Buffers>
  size_t write_some(const Buffers& buffers) {
    return tls_ ? tls_->write_some(buffers) : raw_.write_some(buffers);
  }

  // Ends the sending side: TLS close_notify (bounded), then TCP FIN.
  void ShutdownSend() {
    error_code ec;
    if (tls_) {
      raw_.set_deadline(SteadyClock::now() + kTlsShutdownTime);
      tls_->shutdown(ec);
    }
    socket_.shutdown(Socket::shutdown_send, ec);
  }

 private:
  Socket& socket_;
  DeadlineSocket raw_;
  std::optional<ssl::stream<DeadlineSocket&>> tls_;
};

std::string ErrorJson(std::string_view code, std::string_view message) {
  nlohmann::json body = {{"error", {{"code", code}, {"message", message}}}};
  return body.dump();
}

std::string_view View(boost::beast::string_view s) {
  return {s.data(), s.size()};
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

enum class PlusIs { kPlus, kSpace };

// Decodes %XX escapes. Fails on a broken escape or a decoded NUL byte.
StatusOr<std::string> PercentDecode(std::string_view in, PlusIs plus) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+' && plus == PlusIs::kSpace) {
      out.push_back(' ');
      continue;
    }
    if (c != '%') {
      out.push_back(c);
      continue;
    }
    int hi = i + 2 < in.size() ? HexValue(in[i + 1]) : -1;
    int lo = i + 2 < in.size() ? HexValue(in[i + 2]) : -1;
    if (hi < 0 || lo < 0) return InvalidArgumentError("bad percent escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  if (out.find('\0') != std::string::npos) {
    return InvalidArgumentError("NUL byte in request target");
  }
  return out;
}

// Splits "a=1&b=x+y" into decoded pairs. A repeated name is an error, so
// that no two layers can disagree on which value counts.
StatusOr<std::map<std::string, std::string>> ParseQuery(std::string_view in) {
  std::map<std::string, std::string> query;
  while (!in.empty()) {
    size_t amp = in.find('&');
    std::string_view pair = in.substr(0, amp);
    in = amp == std::string_view::npos ? "" : in.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string_view raw_value =
        eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    StatusOr<std::string> name =
        PercentDecode(pair.substr(0, eq), PlusIs::kSpace);
    if (!name.ok()) return name.status();
    StatusOr<std::string> value = PercentDecode(raw_value, PlusIs::kSpace);
    if (!value.ok()) return value.status();
    if (!query.emplace(std::move(*name), std::move(*value)).second) {
      return InvalidArgumentError("repeated query parameter");
    }
  }
  return query;
}

Status ParseTarget(std::string_view target, HttpRequest& out) {
  if (target.empty() || target.front() != '/') {
    return InvalidArgumentError("request target must start with '/'");
  }
  size_t question = target.find('?');
  StatusOr<std::string> path =
      PercentDecode(target.substr(0, question), PlusIs::kPlus);
  if (!path.ok()) return path.status();
  out.path = std::move(*path);
  if (question == std::string_view::npos) return OkStatus();
  StatusOr<std::map<std::string, std::string>> query =
      ParseQuery(target.substr(question + 1));
  if (!query.ok()) return query.status();
  out.query = std::move(*query);
  return OkStatus();
}

// Repeated header fields are joined with ", " (RFC 9110 section 5.3).
std::map<std::string, std::string> LowerCaseHeaders(
    const http::request<http::string_body>& message) {
  std::map<std::string, std::string> headers;
  for (const auto& field : message) {
    std::string name = ToLower(View(field.name_string()));
    std::string value(field.value());
    auto [it, inserted] = headers.emplace(name, value);
    if (!inserted) it->second += ", " + value;
  }
  return headers;
}

// The TCP form of a generic endpoint; nullopt for other families.
std::optional<tcp::endpoint> AsTcp(const Protocol::endpoint& generic) {
  int family = generic.data()->sa_family;
  if (family != AF_INET && family != AF_INET6) return std::nullopt;
  tcp::endpoint out;
  if (generic.size() > out.capacity()) return std::nullopt;
  std::memcpy(out.data(), generic.data(), generic.size());
  out.resize(generic.size());
  return out;
}

// The peer's IP, or "unix" for a Unix-domain peer.
std::string RemoteAddress(const Socket& socket) {
  error_code ec;
  Protocol::endpoint generic = socket.remote_endpoint(ec);
  if (ec) return "";
  std::optional<tcp::endpoint> peer = AsTcp(generic);
  if (!peer) return "unix";
  net::ip::address address = peer->address();
  if (address.is_v6() && address.to_v6().is_v4_mapped()) {
    return net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6())
        .to_string();
  }
  return address.to_string();
}

// The uid of a Unix-domain peer (SO_PEERCRED); nullopt for TCP.
std::optional<uint32_t> PeerUid(Socket& socket) {
  if (socket.local_endpoint().data()->sa_family != AF_UNIX) return std::nullopt;
  ucred cred{};
  socklen_t len = sizeof(cred);
  if (::getsockopt(socket.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred,
                   &len) != 0) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(cred.uid);
}

bool IsTokenChar(char c) {
  if (std::isalnum(static_cast<unsigned char>(c))) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool IsValidHeader(std::string_view name, std::string_view value) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
    return false;
  }
  return value.find_first_of(std::string_view("\r\n\0", 3)) ==
         std::string_view::npos;
}

// Over TLS a cookie is always Secure, HttpOnly and SameSite=Strict: the
// handler's own forms of those three attributes are replaced.
std::string HardenCookie(std::string_view cookie) {
  std::string out;
  size_t start = 0;
  for (bool first = true; start <= cookie.size(); first = false) {
    size_t end = cookie.find(';', start);
    if (end == std::string_view::npos) end = cookie.size();
    std::string_view part = cookie.substr(start, end - start);
    start = end + 1;
    size_t begin = part.find_first_not_of(' ');
    part = begin == std::string_view::npos ? "" : part.substr(begin);
    std::string name = ToLower(part.substr(0, part.find('=')));
    while (!name.empty() && name.back() == ' ') name.pop_back();
    bool ours = name == "secure" || name == "httponly" || name == "samesite";
    if (part.empty() || (!first && ours)) continue;
    if (!out.empty()) out += "; ";
    out += part;
  }
  return out + "; Secure; HttpOnly; SameSite=Strict";
}

// Message framing belongs to the server, whatever a handler sets.
bool IsFramingHeader(std::string_view name) {
  std::string lower = ToLower(name);
  return lower == "content-length" || lower == "transfer-encoding" ||
         lower == "connection";
}

// Copies status and headers of `response` into `out`, with the headers every
// reply carries. False when the handler produced an unsendable status or
// header (a bug in the handler: the caller answers 500 instead).
template <class Body>
bool BuildHead(const HttpResponse& response, Transport transport,
               http::response<Body>& out) {
  if (response.status < 100 || response.status > 599) return false;
  out.result(static_cast<unsigned>(response.status));
  out.set(http::field::server, "jitd");
  if (!response.content_type.empty()) {
    if (!IsValidHeader("content-type", response.content_type)) return false;
    out.set(http::field::content_type, response.content_type);
  }
  out.set("X-Content-Type-Options", "nosniff");
  out.set(http::field::cache_control, "no-store");
  for (const auto& [name, value] : response.headers) {
    if (!IsValidHeader(name, value)) return false;
    if (IsFramingHeader(name)) continue;
    bool cookie = ToLower(name) == "set-cookie";
    if (cookie && transport == Transport::kTls) {
      out.set(name, HardenCookie(value));
    } else {
      out.set(name, value);
    }
  }
  if (transport == Transport::kTls) {
    out.set(http::field::strict_transport_security, kHsts);
  }
  return true;
}

HttpResponse JsonError(int status, std::string_view code,
                       std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.body = ErrorJson(code, message);
  return response;
}

HttpResponse InternalError() {
  return JsonError(500, "internal", "internal error");
}

enum class Next { kKeepAlive, kClose };

// Serves the requests of one connection, in order, on the calling thread.
class Connection {
 public:
  // `tls` null: plain HTTP.
  Connection(const HttpServerOptions& options, const HttpHandler& handler,
             Socket& socket, ssl::context* tls,
             const std::atomic<bool>& stopping)
      : options_(options),
        handler_(handler),
        socket_(socket),
        stream_(socket, tls),
        stopping_(stopping),
        timeout_(std::max(options.read_timeout_seconds, 1)) {}

  void Run() {
    auto handshake_deadline =
        SteadyClock::now() +
        std::max(options_.tls_handshake_timeout, std::chrono::seconds(1));
    if (stream_.Handshake(handshake_deadline)) return;
    while (!stopping_ && ServeOne() == Next::kKeepAlive) {
    }
  }

 private:
  struct RequestInfo {
    unsigned version = 11;
    bool keep_alive = false;
    bool head = false;
  };

  Next ServeOne() {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kMaxHeaderBytes);
    parser.body_limit(options_.max_body_bytes);
    error_code ec = ReadRequest(parser);
    if (ec) return OnReadError(ec);
    http::request<http::string_body> message = parser.release();
    RequestInfo info{message.version(), message.keep_alive(),
                     message.method() == http::verb::head};
    HttpRequest request;
    request.method = std::string(message.method_string());
    if (!ParseTarget(View(message.target()), request).ok()) {
      return Reject(400, "invalid_request", "malformed request target");
    }
    request.headers = LowerCaseHeaders(message);
    request.body = std::move(message.body());
    request.remote_address = RemoteAddress(socket_);
    request.peer_uid = PeerUid(socket_);
    request.transport = stream_.transport();
    return Respond(CallHandler(request), info);
  }

  error_code ReadRequest(http::request_parser<http::string_body>& parser) {
    stream_.set_deadline(SteadyClock::now() + timeout_);
    error_code ec;
    http::read_header(stream_, buffer_, parser, ec);
    if (ec) return ec;
    if (ExpectsContinue(parser.get())) {
      static constexpr std::string_view kContinue =
          "HTTP/1.1 100 Continue\r\n\r\n";
      net::write(stream_, net::buffer(kContinue), ec);
      if (ec) return ec;
    }
    http::read(stream_, buffer_, parser, ec);
    return ec;
  }

  static bool ExpectsContinue(const http::request<http::string_body>& m) {
    auto it = m.find(http::field::expect);
    return it != m.end() && m.version() >= 11 &&
           boost::beast::iequals(it->value(), "100-continue");
  }

  Next OnReadError(const error_code& ec) {
    if (stopping_) return Next::kClose;
    if (ec == http::error::body_limit) {
      return Reject(
          413, "too_large",
          "body exceeds " + std::to_string(options_.max_body_bytes) + " bytes");
    }
    if (ec == http::error::header_limit) {
      return Reject(431, "invalid_request",
                    "header section exceeds " +
                        std::to_string(kMaxHeaderBytes) + " bytes");
    }
    // Peer gone, idle timeout, or a request cut short: nobody to answer.
    if (ec == http::error::end_of_stream ||
        ec == http::error::partial_message ||
        ec.category() !=
            http::make_error_code(http::error::bad_method).category()) {
      return Next::kClose;
    }
    return Reject(400, "invalid_request", "malformed HTTP request");
  }

  HttpResponse CallHandler(const HttpRequest& request) {
    try {
      return handler_(request);
    } catch (const std::exception&) {
      return InternalError();
    }
  }

  Next Respond(const HttpResponse& response, const RequestInfo& info) {
    if (response.stream) return WriteStream(response, info);
    http::response<http::string_body> out;
    out.version(info.version);
    if (!BuildHead(response, stream_.transport(), out)) {
      return Respond(InternalError(), info);
    }
    out.body() = response.body;
    bool keep_alive = info.keep_alive && !stopping_;
    out.keep_alive(keep_alive);
    out.prepare_payload();
    stream_.set_deadline(SteadyClock::now() + timeout_);
    error_code ec;
    if (info.head) {
      http::response_serializer<http::string_body> serializer(out);
      http::write_header(stream_, serializer, ec);
    } else {
      http::write(stream_, out, ec);
    }
    if (ec) return Next::kClose;
    if (keep_alive) return Next::kKeepAlive;
    ShutdownSend();
    return Next::kClose;
  }

  // Sends the head, then lets the handler write chunks until it returns.
  // HTTP/1.0 peers get the raw bytes, ended by closing the connection.
  Next WriteStream(const HttpResponse& response, const RequestInfo& info) {
    http::response<http::empty_body> out;
    out.version(info.version);
    if (!BuildHead(response, stream_.transport(), out)) {
      return Respond(InternalError(), info);
    }
    out.keep_alive(false);
    chunked_ = info.version >= 11;
    out.chunked(chunked_);
    http::response_serializer<http::empty_body> serializer(out);
    stream_.set_deadline(SteadyClock::now() + timeout_);
    error_code ec;
    http::write_header(stream_, serializer, ec);
    if (ec) return Next::kClose;
    stream_open_ = true;
    StreamWriter writer = [this](std::string_view chunk) {
      return WriteChunk(chunk);
    };
    try {
      response.stream(writer);
    } catch (const std::exception&) {
      stream_open_ = false;  // an unfinished body must not look complete
    }
    if (stream_open_ && chunked_) {
      stream_.set_deadline(SteadyClock::now() + timeout_);
      net::write(stream_, http::make_chunk_last(), ec);
    }
    if (stream_open_) ShutdownSend();
    return Next::kClose;
  }

  bool WriteChunk(std::string_view chunk) {
    if (!stream_open_ || stopping_) return false;
    if (chunk.empty()) return true;  // an empty chunk would end the body
    stream_.set_deadline(SteadyClock::now() + timeout_);
    error_code ec;
    if (chunked_) {
      net::write(stream_, http::make_chunk(net::buffer(chunk)), ec);
    } else {
      net::write(stream_, net::buffer(chunk), ec);
    }
    if (ec) stream_open_ = false;
    return stream_open_;
  }

  // Answers an unreadable request and ends the connection.
  Next Reject(int status, std::string_view code, std::string message) {
    HttpResponse response = JsonError(status, code, message);
    http::response<http::string_body> out;
    BuildHead(response, stream_.transport(), out);
    out.keep_alive(false);
    out.body() = std::move(response.body);
    out.prepare_payload();
    stream_.set_deadline(SteadyClock::now() + timeout_);
    error_code ec;
    http::write(stream_, out, ec);
    if (!ec) DrainAndShutdown();
    return Next::kClose;
  }

  // Closing with unread input makes the kernel send a reset, which can
  // destroy the reply before the peer reads it: read the rest first.
  void DrainAndShutdown() {
    ShutdownSend();
    stream_.set_deadline(SteadyClock::now() + kDrainTime);
    char scratch[8192];
    size_t drained = 0;
    error_code ec;
    while (!ec && drained < kMaxDrainBytes && !stopping_) {
      drained += stream_.read_some(net::buffer(scratch), ec);
    }
  }

  void ShutdownSend() { stream_.ShutdownSend(); }

  const HttpServerOptions& options_;
  const HttpHandler& handler_;
  Socket& socket_;
  ServerStream stream_;
  const std::atomic<bool>& stopping_;
  const std::chrono::seconds timeout_;
  boost::beast::flat_buffer buffer_;
  bool chunked_ = false;
  bool stream_open_ = false;
};

std::string EndpointText(std::string_view address, uint16_t port) {
  std::string host(address);
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return host + ":" + std::to_string(port);
}

// Reads the private key, refusing one that group or others may read (as
// the audit signing key is refused). fstat on the open file, so the mode
// checked is that of the bytes read.
StatusOr<std::string> ReadPrivateKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return InvalidArgumentError("tls key " + path + ": " +
                                std::strerror(errno));
  }
  struct stat st {};
  std::string out;
  Status result;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    result = InvalidArgumentError("tls key " + path + " is not a file");
  } else if ((st.st_mode & 077) != 0) {
    result = InvalidArgumentError("tls key " + path +
                                  " is readable by others; chmod 600 it");
  } else if (static_cast<size_t>(st.st_size) > kMaxKeyFileBytes) {
    result = InvalidArgumentError("tls key " + path + " is over 64 KiB");
  } else {
    out.resize(static_cast<size_t>(st.st_size));
    ssize_t n = ::read(fd, out.data(), out.size());
    if (n != static_cast<ssize_t>(out.size())) {
      result = InvalidArgumentError("tls key " + path + ": short read");
    }
  }
  ::close(fd);
  if (!result.ok()) return result;
  return out;
}

Status TlsError(std::string_view what, const std::string& path,
                const error_code& ec) {
  return InvalidArgumentError("tls " + std::string(what) + " " + path + ": " +
                              ec.message());
}

// A server context with the jitd TLS settings and `files` loaded.
// Shared: a connection keeps the context it started with across a reload.
StatusOr<std::shared_ptr<ssl::context>> MakeTlsContext(const TlsFiles& files) {
  JIT_ASSIGN_OR_RETURN(std::string key, ReadPrivateKeyFile(files.key_file));
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1 | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  SSL_CTX* native = ctx->native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1 ||
      SSL_CTX_set_cipher_list(native, kTls12Ciphers) != 1) {
    return jit::InternalError("OpenSSL refused the TLS version or cipher list");
  }
  // An encrypted key is refused instead of OpenSSL prompting on a terminal.
  ctx->set_password_callback(
      [](size_t, ssl::context::password_purpose) { return std::string(); });
  error_code ec;
  ctx->use_certificate_chain_file(files.cert_file, ec);
  if (ec) return TlsError("cert", files.cert_file, ec);
  ctx->use_private_key(net::buffer(key), ssl::context::pem, ec);
  if (ec) return TlsError("key", files.key_file, ec);
  if (SSL_CTX_check_private_key(native) != 1) {
    return InvalidArgumentError("tls key " + files.key_file +
                                " does not match the certificate " +
                                files.cert_file);
  }
  return ctx;
}

bool IsCookieOctet(char c) {
  auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && c != '"' && c != ',' && c != ';' && c != '\\';
}

}  // namespace

StatusOr<std::map<std::string, std::string>> ParseFormUrlEncoded(
    std::string_view body) {
  return ParseQuery(body);
}

StatusOr<std::string> SessionCookie(std::string_view name,
                                    std::string_view value,
                                    std::chrono::seconds max_age,
                                    Transport transport) {
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
    return InvalidArgumentError("cookie name must be a non-empty token");
  }
  if (!std::all_of(value.begin(), value.end(), IsCookieOctet)) {
    return InvalidArgumentError("cookie value has a forbidden character");
  }
  std::string out = std::string(name) + "=" + std::string(value) +
                    "; Path=/; Max-Age=" +
                    std::to_string(std::max<int64_t>(max_age.count(), 0));
  if (transport == Transport::kTls) out += "; Secure";
  return out + "; HttpOnly; SameSite=Strict";
}

struct HttpServer::Impl {
  struct Slot {
    explicit Slot(Socket s) : socket(std::move(s)) {}
    Socket socket;
    std::thread thread;
  };

  Impl(HttpServerOptions o, HttpHandler h)
      : options(std::move(o)), handler(std::move(h)) {}

  std::shared_ptr<ssl::context> CurrentTls() {
    std::lock_guard<std::mutex> lock(mu);
    return tls;
  }

  Status Listen();
  void AcceptNext();
  void OnAccept(const error_code& ec, Socket socket);
  void Admit(Socket socket);
  void Serve(uint64_t id, Socket& socket);
  void Release(uint64_t id);
  void JoinFinished();

  const HttpServerOptions options;
  const HttpHandler handler;
  net::io_context io;
  net::basic_socket_acceptor<Protocol> acceptor{io};
  net::steady_timer retry_timer{io};
  std::thread accept_thread;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};

  std::mutex mu;
  bool started = false;  // guarded by mu
  bool stopped = false;  // guarded by mu
  uint64_t next_id = 0;  // guarded by mu
  // Open connections; a connection's thread removes its own slot.
  std::map<uint64_t, std::unique_ptr<Slot>> connections;  // guarded by mu
  // Threads whose connection ended, waiting to be joined.
  std::vector<std::thread> finished;  // guarded by mu
  // Null for plain HTTP. Replaced by ReloadTls().
  std::shared_ptr<ssl::context> tls;  // guarded by mu
};

Status HttpServer::Impl::Listen() {
  bool unix_socket = !options.unix_socket.empty();
  auto fail = [&](std::string_view why) {
    error_code ignored;
    acceptor.close(ignored);
    std::string where = unix_socket
                            ? options.unix_socket
                            : EndpointText(options.address, options.port);
    return UnavailableError("cannot listen on " + where + ": " +
                            std::string(why));
  };
  error_code ec;
  Protocol::endpoint endpoint;
  if (unix_socket) {
    // A socket file left by an earlier run is replaced; any other file is
    // not ours to remove.
    std::error_code fs_ec;
    auto st = std::filesystem::symlink_status(options.unix_socket, fs_ec);
    if (!fs_ec && std::filesystem::exists(st)) {
      if (!std::filesystem::is_socket(st)) return fail("not a socket file");
      std::filesystem::remove(options.unix_socket, fs_ec);
    }
    endpoint = net::local::stream_protocol::endpoint(options.unix_socket);
  } else {
    net::ip::address address = net::ip::make_address(options.address, ec);
    if (ec) return fail("not an IP address");
    endpoint = tcp::endpoint(address, options.port);
  }
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail(ec.message());
  if (!unix_socket) {
    acceptor.set_option(net::socket_base::reuse_address(true), ec);
    if (ec) return fail(ec.message());
  }
  acceptor.bind(endpoint, ec);
  if (ec) return fail(ec.message());
  if (unix_socket) {
    // Before listen(), so no peer connects while the mode is wider.
    std::error_code fs_ec;
    std::filesystem::permissions(options.unix_socket,
                                 std::filesystem::perms::owner_read |
                                     std::filesystem::perms::owner_write,
                                 fs_ec);
    if (fs_ec) return fail(fs_ec.message());
  }
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec.message());
  if (!unix_socket) {
    auto bound = AsTcp(acceptor.local_endpoint(ec));
    if (ec || !bound) return fail("cannot read the bound port");
    port = bound->port();
  }
  return OkStatus();
}

void HttpServer::Impl::AcceptNext() {
  acceptor.async_accept(io, [this](const error_code& ec, Socket socket) {
    OnAccept(ec, std::move(socket));
  });
}

void HttpServer::Impl::OnAccept(const error_code& ec, Socket socket) {
  if (stopping || ec == net::error::operation_aborted) return;
  JoinFinished();
  if (!ec) {
    Admit(std::move(socket));
    AcceptNext();
    return;
  }
  retry_timer.expires_after(kAcceptRetryDelay);
  retry_timer.async_wait([this](const error_code& wait_ec) {
    if (!wait_ec && !stopping) AcceptNext();
  });
}

void HttpServer::Impl::Admit(Socket socket) {
  std::lock_guard<std::mutex> lock(mu);
  error_code ec;
  if (stopping || connections.size() >= options.max_connections) {
    socket.close(ec);
    return;
  }
  socket.non_blocking(true, ec);
  if (ec) {
    socket.close(ec);
    return;
  }
  uint64_t id = next_id++;
  Slot& slot =
      *connections.emplace(id, std::make_unique<Slot>(std::move(socket)))
           .first->second;
  try {
    // Under `mu`, so the slot holds the thread before Release() can run.
    slot.thread = std::thread([this, id, &slot] { Serve(id, slot.socket); });
  } catch (const std::system_error&) {
    slot.socket.close(ec);  // no thread to serve it: refuse the connection
    connections.erase(id);
  }
}

void HttpServer::Impl::Serve(uint64_t id, Socket& socket) {
  std::shared_ptr<ssl::context> context = CurrentTls();
  Connection(options, handler, socket, context.get(), stopping).Run();
  Release(id);
}

void HttpServer::Impl::Release(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu);
  auto it = connections.find(id);
  error_code ignored;
  it->second->socket.close(ignored);
  // Stop() may have taken the thread already to join it itself.
  if (it->second->thread.joinable()) {
    finished.push_back(std::move(it->second->thread));
  }
  connections.erase(it);
}

void HttpServer::Impl::JoinFinished() {
  std::vector<std::thread> done;
  {
    std::lock_guard<std::mutex> lock(mu);
    done.swap(finished);
  }
  for (std::thread& t : done) t.join();
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu);
  if (impl_->started) {
    return FailedPreconditionError("HTTP server was already started");
  }
  if (impl_->options.tls) {
    if (!impl_->options.unix_socket.empty()) {
      return InvalidArgumentError("TLS is not served on a Unix socket");
    }
    JIT_ASSIGN_OR_RETURN(impl_->tls, MakeTlsContext(*impl_->options.tls));
  }
  Status listening = impl_->Listen();
  if (!listening.ok()) return listening;
  impl_->started = true;
  impl_->AcceptNext();
  impl_->accept_thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  return OkStatus();
}

void HttpServer::Stop() {
  Impl& s = *impl_;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    if (!s.started || s.stopped) return;
    s.stopped = true;
    s.stopping = true;
    // Wakes reads and writes blocked on these sockets. The raw call, not
    // socket.shutdown(), because the serving thread uses the socket object
    // concurrently; the descriptor stays valid until Release() closes it
    // under `mu`.
    for (const auto& [id, slot] : s.connections) {
      ::shutdown(slot->socket.native_handle(), SHUT_RDWR);
    }
  }
  s.io.stop();
  if (s.accept_thread.joinable()) s.accept_thread.join();
  error_code ignored;
  s.acceptor.close(ignored);
  if (!s.options.unix_socket.empty()) {
    std::error_code fs_ec;
    std::filesystem::remove(s.options.unix_socket, fs_ec);
  }
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(s.mu);
    threads.swap(s.finished);
    for (auto& [id, slot] : s.connections) {
      threads.push_back(std::move(slot->thread));
    }
  }
  for (std::thread& t : threads) t.join();
}

Status HttpServer::ReloadTls(const TlsFiles& files) {
  if (!impl_->options.tls) {
    return FailedPreconditionError("this listener does not serve TLS");
  }
  JIT_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> next,
                       MakeTlsContext(files));
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->tls = std::move(next);
  return OkStatus();
}

uint16_t HttpServer::port() const { return impl_->port; }

}  // namespace jit
