#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jit/api/http.h"
#include "jit/base/status.h"

namespace jit {

// A PEM certificate chain and its private key for an HTTPS listener.
struct TlsFiles {
  std::string cert_file;  // leaf first, then intermediates
  std::string key_file;   // unencrypted; refused when group/other may read it
};

struct HttpServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8420;               // 0 = pick a free port (see port())
  size_t max_body_bytes = 64 * 1024;  // larger bodies get 413 too_large
  size_t max_connections = 512;       // more are closed at accept
  int read_timeout_seconds = 30;  // idle keep-alive connections closed after
  // When set, listen on this Unix-domain socket instead of address:port.
  // The file is made mode 0600 before listening, an old socket file there is
  // replaced, and Stop() removes it. Requests carry the peer's uid.
  std::string unix_socket;
  // When set, serve HTTPS (TLS 1.2 or 1.3 with forward-secret AEAD ciphers
  // only) instead of plain HTTP. Not for a Unix socket.
  std::optional<TlsFiles> tls;
  // A TLS handshake must finish within this time of accept, else the
  // connection is closed: a peer that connects and stays silent holds a
  // thread and a connection slot for at most this long.
  std::chrono::seconds tls_handshake_timeout{10};
};

// The `Set-Cookie` value for a session cookie: `HttpOnly; SameSite=Strict;
// Path=/`, `Secure` too over TLS, and Max-Age. kInvalidArgument when name or
// value hold characters a cookie may not (RFC 6265 section 4.1.1).
StatusOr<std::string> SessionCookie(std::string_view name,
                                    std::string_view value,
                                    std::chrono::seconds max_age,
                                    Transport transport);

// HTTP/1.1 server on Boost.Beast with keep-alive. Each connection is served
// on its own thread; the handler is called concurrently and must be
// thread-safe. Bodies over max_body_bytes are answered 413 with the JSON
// error body before the handler runs; malformed HTTP gets 400.
//
// Limits: each request (header section of at most 16 KiB, then body) must
// arrive whole within read_timeout_seconds of the server starting to wait for
// it (after accept, or after the previous response); each response
// write and each stream chunk gets the same time to drain, else the
// connection is closed. A bad request target (broken %-escape, NUL byte,
// repeated query name) is a 400 `invalid_request`; the handler is not called.
// Every response carries `Server: jitd`, `X-Content-Type-Options: nosniff`
// and `Cache-Control: no-store` (a handler header may replace the last);
// Content-Length, Transfer-Encoding and Connection are set by the server
// only. A handler that throws std::exception, or returns a status outside
// 100..599 or a header with CR/LF, is answered 500 `internal`.
// Streams use chunked encoding (raw bytes for HTTP/1.0) and the connection
// closes when the stream function returns.
//
// With options.tls every response also carries `Strict-Transport-Security:
// max-age=31536000`, and a handler's `Set-Cookie` is rewritten to end in
// `Secure; HttpOnly; SameSite=Strict` whatever it said. Requests carry
// Transport::kTls. A failed or slow handshake closes the connection without
// an answer.
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads the TLS files (if any), binds and starts accepting in the
  // background. kInvalidArgument when the TLS files are unusable (missing,
  // not PEM, key readable by group or others, key not matching the
  // certificate); kUnavailable when the address cannot be bound (message says
  // which and why); kFailedPrecondition when called a second time.
  Status Start();
  // Loads `files` and serves new connections with them; open connections
  // keep the old ones. On error (as in Start()) nothing changes.
  // kFailedPrecondition when the server was not built with options.tls.
  // Thread-safe.
  Status ReloadTls(const TlsFiles& files);
  // Stops accepting, closes open connections (streams end), joins threads.
  // From then on every StreamWriter returns false. Waits for handlers that
  // are running to return. Idempotent; the server cannot be started again.
  void Stop();
  // The bound port (useful with port 0). Valid after Start().
  uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Decodes an application/x-www-form-urlencoded body ("a=1&b=x+y"), as the
// server decodes query strings. kInvalidArgument on a broken escape, a NUL
// byte or a repeated name.
StatusOr<std::map<std::string, std::string>> ParseFormUrlEncoded(
    std::string_view body);

}  // namespace jit
