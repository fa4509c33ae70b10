#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jit/base/status.h"
#include "jit/cli/cli_config.h"
#include "jit/cli/json_fields.h"
#include "jit/client/http_client.h"

namespace jit {

// The jitd REST API as the CLI uses it: bearer token, JSON in and out, the
// error body turned into a Status. Thread-compatible, like HttpClient.
//
// Errors of every call:
//   - transport problems from HttpClient (kUnavailable, kDeadlineExceeded),
//     the message naming the server;
//   - a non-2xx answer: the Status code follows the HTTP status (400
//     kInvalidArgument, 401 kUnauthenticated, 403 kPermissionDenied, 404
//     kNotFound, 409 kAborted, 413 kResourceExhausted, 503 kUnavailable,
//     others kInternal), reason() is the body's `error.code` (or "http_NNN"
//     when the body is not an error object), message() is
//     `error.message`, details() are `error.reasons`;
//   - a 2xx answer that is not JSON: kInternal.
class ApiClient {
 public:
  // kInvalidArgument for a server URL HttpClient does not accept.
  static StatusOr<ApiClient> Create(const ServerConfig& config);

  StatusOr<Json> Get(std::string_view target) const;
  // The server's URL as configured.
  const std::string& server() const { return config_.server; }
  // A GET whose 2xx answer is text, not JSON (errors otherwise as Get).
  StatusOr<std::string> GetText(std::string_view target) const;
  StatusOr<Json> Post(std::string_view target, const Json& body) const;

  // Reads the server-sent events at `target`; see HttpClient::Stream.
  Status Stream(
      std::string_view target,
      const std::function<bool(const std::string& id, const std::string& event,
                               const std::string& data)>& on_event) const;

 private:
  ApiClient(HttpClient http, ServerConfig config)
      : http_(std::move(http)), config_(std::move(config)) {}
  StatusOr<ClientResponse> Exchange(std::string_view method,
                                    std::string_view target,
                                    std::string_view body) const;
  StatusOr<Json> Call(std::string_view method, std::string_view target,
                      std::string_view body) const;

  HttpClient http_;
  ServerConfig config_;
};

// Percent-encodes everything but RFC 3986 unreserved characters, for a path
// segment or a query value. Pure.
std::string UrlEncode(std::string_view text);

// `path` followed by "?k=v&..." for each pair with a non-empty value (values
// encoded). Pure.
std::string WithQuery(
    std::string path,
    const std::vector<std::pair<std::string, std::string>>& query);

enum class Pages { kFirst, kAll };

// GETs a list route (`{"items": [...], "next_cursor": ...}`) with `query`.
// kFirst answers the first page as the server sent it. kAll follows
// `next_cursor` (sent back as `cursor`, with limit=1000) and answers
// {"items": every item, "next_cursor": null}; at most 100000 pages, and a
// cursor that repeats is kInternal. Errors: as ApiClient::Get, kInternal for
// a page without an `items` array.
StatusOr<Json> FetchList(const ApiClient& api, const std::string& path,
                         std::vector<std::pair<std::string, std::string>> query,
                         Pages pages);

}  // namespace jit
