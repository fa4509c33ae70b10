#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace jit {

// How a request reached the server.
enum class Transport { kPlain, kTls };

// A parsed HTTP request as handlers see it. Header names are lower-case.
struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string path;    // decoded path without the query, e.g. "/v1/requests"
  std::map<std::string, std::string> query;  // decoded ?a=b&c=d
  std::map<std::string, std::string> headers;
  std::string body;
  std::string remote_address;  // peer IP, or "unix"
  // The peer's uid on a Unix-domain socket (SO_PEERCRED); unset over TCP.
  std::optional<uint32_t> peer_uid;
  Transport transport = Transport::kPlain;

  std::optional<std::string> Header(std::string_view lower_name) const;
  std::optional<std::string> Query(std::string_view name) const;
};

// Writes one chunk of a streamed body (Server-Sent Events). Returns false
// once the peer is gone; the stream function should then return.
using StreamWriter = std::function<bool(std::string_view chunk)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  // When set, the body is streamed: headers are sent, then `stream` runs on
  // the connection's thread until it returns or the peer leaves.
  std::function<void(const StreamWriter&)> stream;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

}  // namespace jit
