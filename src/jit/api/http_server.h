#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "jit/api/http.h"
#include "jit/base/status.h"

namespace jit {

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
};

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
class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();  // Stop()s
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts accepting in the background. kUnavailable when the
  // address cannot be bound (message says which and why);
  // kFailedPrecondition when called a second time.
  Status Start();
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

}  // namespace jit
