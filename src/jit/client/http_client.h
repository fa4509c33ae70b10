#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "jit/base/status.h"

namespace jit {

struct ClientResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
};

// How an https:// server is trusted. The peer's certificate chain must end
// at a trusted CA and name the URL's host (DNS name or IP address in the
// subject alternative names); SNI carries the host name.
struct TlsOptions {
  // PEM file of the CA certificates to trust; empty = the system store.
  std::string ca_file;
};

struct TlsContext;  // the OpenSSL context built by Create (http_client.cc)

// A small blocking HTTP/1.1 client (Boost.Beast) for the CLI, the OIDC
// relying party and tests. http:// and https:// URLs. One connection per
// call. Thread-compatible: use one per thread or guard it; copies share the
// immutable TLS context.
class HttpClient {
 public:
  // `base_url` like "http://127.0.0.1:8420" or "https://idp.example" (path
  // prefix allowed; default ports 80 and 443). kInvalidArgument for a URL
  // without scheme/host or with another scheme, or a `tls.ca_file` that
  // cannot be read as PEM certificates (`tls` is ignored for http).
  static StatusOr<HttpClient> Create(
      std::string_view base_url,
      std::chrono::milliseconds timeout = std::chrono::seconds(30),
      const TlsOptions& tls = {});

  // Sends `method target` (target starts with '/', may carry a query) with
  // optional bearer token and body (JSON unless `extra_headers` names
  // another content-type). Any HTTP status is a success here;
  // errors are for transport problems: kUnavailable (cannot connect, reset),
  // kDeadlineExceeded (timeout); the timeout covers the whole
  // exchange; kUnavailable also when the TLS handshake fails (untrusted
  // certificate, wrong host name). kInvalidArgument (nothing sent) for a target
  // not starting with
  // '/' or holding spaces/control characters, an unknown method, or CR/LF in
  // the token or a header.
  StatusOr<ClientResponse> Do(
      std::string_view method, std::string_view target,
      std::string_view bearer_token = "", std::string_view json_body = "",
      const std::map<std::string, std::string>& extra_headers = {}) const;

  // Reads a text/event-stream: calls `on_event(id, event, data)` per event
  // until it returns false, the server closes, or the timeout passes.
  // The timeout bounds connecting plus the response head, then each wait
  // for more of the stream (so a server sending keep-alives is never cut
  // off). OK when on_event stopped or the server ended the stream;
  // kDeadlineExceeded when it fell silent; kUnavailable on transport errors;
  // a non-200 answer maps to the nearest code (401 kUnauthenticated, 403
  // kPermissionDenied, 404 kNotFound, ...) with the body in the message;
  // kInvalidArgument for a bad target or token (nothing sent).
  Status Stream(
      std::string_view target, std::string_view bearer_token,
      const std::function<bool(const std::string& id, const std::string& event,
                               const std::string& data)>& on_event) const;

  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }
  bool https() const { return tls_ != nullptr; }

 private:
  HttpClient(std::string host, std::string port, std::string prefix,
             std::chrono::milliseconds timeout,
             std::shared_ptr<const TlsContext> tls)
      : host_(std::move(host)),
        port_(std::move(port)),
        prefix_(std::move(prefix)),
        timeout_(timeout),
        tls_(std::move(tls)) {}
  std::string Origin() const;
  std::string host_;
  std::string port_;
  std::string prefix_;
  std::chrono::milliseconds timeout_;
  // Shared so that copies of a client reuse one loaded trust store; never
  // changed after Create. Null for http.
  std::shared_ptr<const TlsContext> tls_;
};

}  // namespace jit
