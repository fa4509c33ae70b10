#include "jit/connectors/webhook/webhook_transport.h"

#include <fmt/format.h>
#include <openssl/ssl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "jit/base/status_macros.h"

namespace jit {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using boost::system::error_code;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr uint32_t kMaxAnswerHeadBytes = 16 * 1024;

// Starts one asynchronous operation and runs `io` until it completes. Every
// stream operation is bounded by the stream's expiry, so this returns.
template <class Start>
error_code Await(net::io_context& io, const Start& start) {
  std::optional<error_code> result;
  start([&result](const error_code& ec, auto&&...) { result = ec; });
  io.restart();
  while (!result && io.run_one() > 0) {
  }
  return result.value_or(net::error::operation_aborted);
}

Status TransportError(std::string_view step, const error_code& ec,
                      const WebhookUrl& url) {
  if (ec == beast::error::timeout) {
    return DeadlineExceededError(
        fmt::format("timed out: {} {}", step, url.text));
  }
  if (ec == http::error::body_limit || ec == http::error::header_limit) {
    return ResourceExhaustedError(fmt::format(
        "answer from {} is over {} bytes", url.text, kMaxWebhookAnswerBytes));
  }
  return UnavailableError(
      fmt::format("{} {}: {}", step, url.text, ec.message()));
}

StatusOr<std::vector<tcp::endpoint>> Resolve(HostResolver& resolver,
                                             const WebhookUrl& url,
                                             SteadyTime end) {
  const auto port = static_cast<unsigned short>(std::stoi(url.port));
  if (url.literal) return std::vector<tcp::endpoint>{{*url.literal, port}};
  StatusOr<AddressList> addresses = resolver.Resolve(url.host, end);
  if (addresses.status().code() == StatusCode::kDeadlineExceeded)
    return DeadlineExceededError("timed out: resolving " + url.text);
  if (!addresses.ok()) return addresses.status();
  std::vector<tcp::endpoint> endpoints;
  for (const net::ip::address& a : *addresses) endpoints.emplace_back(a, port);
  return endpoints;
}

bool IsLoopback(const net::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6())
        .is_loopback();
  return a.is_loopback();
}

// Signed bodies travel unencrypted over http, so only to this machine.
Status CheckPlainHttp(const std::vector<tcp::endpoint>& endpoints,
                      const WebhookUrl& url) {
  if (url.scheme != UrlScheme::kHttp) return OkStatus();
  for (const tcp::endpoint& e : endpoints) {
    if (!IsLoopback(e.address())) {
      return FailedPreconditionError(fmt::format(
          "refusing {}: {} resolves to {}, and http goes to loopback only",
          url.text, url.host, e.address().to_string()));
    }
  }
  return OkStatus();
}

// Every address must pass: one refused address means the name is not ours
// to trust (a rebinding attacker mixes good and bad answers).
Status CheckAll(const std::vector<tcp::endpoint>& endpoints,
                const WebhookUrl& url, PrivateAddresses private_addresses) {
  for (const tcp::endpoint& e : endpoints) {
    Status s = CheckAddress(e.address(), private_addresses);
    if (!s.ok()) {
      return FailedPreconditionError(fmt::format(
          "refusing {}: {} resolves to {}", url.text, url.host, s.message()));
    }
  }
  return OkStatus();
}

http::request<http::string_body> BuildRequest(const WebhookUrl& url,
                                              const HeaderList& headers,
                                              const std::string& body) {
  http::request<http::string_body> request(http::verb::post, url.target, 11);
  const bool default_port =
      (url.scheme == UrlScheme::kHttps && url.port == "443") ||
      (url.scheme == UrlScheme::kHttp && url.port == "80");
  std::string host_port = HostAndPort(url);
  request.set(http::field::host, default_port
                                     ? host_port.substr(0, host_port.rfind(':'))
                                     : host_port);
  request.set(http::field::user_agent, "jitd-webhook");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.keep_alive(false);
  request.prepare_payload();
  return request;
}

template <class Stream>
StatusOr<WebhookAnswer> Exchange(net::io_context& io, Stream& stream,
                                 http::request<http::string_body>& request,
                                 const WebhookUrl& url) {
  error_code ec = Await(io, [&](auto done) {
    http::async_write(stream, request, std::move(done));
  });
  if (ec) return TransportError("cannot send to", ec, url);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.header_limit(kMaxAnswerHeadBytes);
  parser.body_limit(kMaxWebhookAnswerBytes);
  ec = Await(io, [&](auto done) {
    http::async_read_header(stream, buffer, parser, std::move(done));
  });
  if (ec) return TransportError("no answer from", ec, url);
  // Beast 1.74 does not apply body_limit to a declared Content-Length (it
  // does to chunked and read-to-close bodies), so that one is checked here.
  if (parser.content_length() &&
      *parser.content_length() > kMaxWebhookAnswerBytes) {
    return TransportError("reading", http::error::body_limit, url);
  }
  ec = Await(io, [&](auto done) {
    http::async_read(stream, buffer, parser, std::move(done));
  });
  if (ec) return TransportError("no answer from", ec, url);
  const auto& response = parser.get();
  WebhookAnswer answer;
  answer.status = static_cast<int>(response.result_int());
  answer.body = response.body();
  auto location = response.find(http::field::location);
  if (location != response.end()) {
    answer.location = std::string(location->value());
  }
  return answer;
}

}  // namespace

StatusOr<std::unique_ptr<WebhookTransport>> WebhookTransport::Create(
    const std::string& ca_file, PrivateAddresses private_addresses,
    HostLookup lookup) {
  auto tls = std::make_unique<ssl::context>(ssl::context::tls_client);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                   ssl::context::no_tlsv1_1);
  tls->set_verify_mode(ssl::verify_peer);
  error_code ec;
  if (ca_file.empty()) {
    tls->set_default_verify_paths(ec);
  } else {
    tls->load_verify_file(ca_file, ec);
  }
  if (ec) {
    return InvalidArgumentError(
        fmt::format("cannot load CA certificates{}{}: {}",
                    ca_file.empty() ? "" : " from ", ca_file, ec.message()));
  }
  return std::unique_ptr<WebhookTransport>(new WebhookTransport(
      std::move(tls), private_addresses, std::move(lookup)));
}

StatusOr<WebhookAnswer> WebhookTransport::Post(
    const WebhookUrl& url, const HeaderList& headers, const std::string& body,
    std::chrono::milliseconds timeout) const {
  const SteadyTime end = std::chrono::steady_clock::now() + timeout;
  JIT_ASSIGN_OR_RETURN(std::vector<tcp::endpoint> endpoints,
                       Resolve(*resolver_, url, end));
  JIT_RETURN_IF_ERROR(CheckAll(endpoints, url, private_addresses_));
  JIT_RETURN_IF_ERROR(CheckPlainHttp(endpoints, url));
  net::io_context io;
  http::request<http::string_body> request = BuildRequest(url, headers, body);

  if (url.scheme == UrlScheme::kHttp) {
    beast::tcp_stream stream(io);
    stream.expires_at(end);
    error_code ec = Await(io, [&](auto done) {
      stream.async_connect(endpoints, std::move(done));
    });
    if (ec) return TransportError("cannot connect to", ec, url);
    return Exchange(io, stream, request, url);
  }

  beast::ssl_stream<beast::tcp_stream> stream(io, *tls_);
  // SNI carries names only (RFC 6066), never address literals.
  if (!url.literal &&
      SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()) != 1) {
    return UnavailableError("cannot set TLS server name for " + url.text);
  }
  stream.set_verify_mode(ssl::verify_peer);
  stream.set_verify_callback(ssl::host_name_verification(url.host));
  beast::get_lowest_layer(stream).expires_at(end);
  error_code ec = Await(io, [&](auto done) {
    beast::get_lowest_layer(stream).async_connect(endpoints, std::move(done));
  });
  if (ec) return TransportError("cannot connect to", ec, url);
  ec = Await(io, [&](auto done) {
    stream.async_handshake(ssl::stream_base::client, std::move(done));
  });
  if (ec) return TransportError("TLS handshake failed with", ec, url);
  return Exchange(io, stream, request, url);
}

}  // namespace jit
