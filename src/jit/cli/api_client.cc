#include "jit/cli/api_client.h"

#include <fmt/format.h>

#include "jit/base/status_macros.h"

namespace jit {
namespace {

StatusCode CodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kAborted;
    case 413:
      return StatusCode::kResourceExhausted;
    case 503:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kInternal;
  }
}

Status ErrorFromResponse(const ClientResponse& response) {
  const StatusCode code = CodeForHttpStatus(response.status);
  StatusOr<Json> body = ParseJson(response.body);
  const Json* error = nullptr;
  if (body.ok() && body->is_object() && body->contains("error") &&
      (*body)["error"].is_object()) {
    error = &(*body)["error"];
  }
  if (error == nullptr) {
    constexpr size_t kMaxShown = 200;
    return Status(code,
                  fmt::format("HTTP {}: {}", response.status,
                              response.body.substr(0, kMaxShown)),
                  fmt::format("http_{}", response.status));
  }
  std::vector<std::string> reasons;
  for (const Json& reason : JsonArray(*error, "reasons")) {
    reasons.push_back(reason.is_string() ? reason.get<std::string>()
                                         : reason.dump());
  }
  std::string reason = JsonText(*error, "code");
  if (reason.empty()) reason = fmt::format("http_{}", response.status);
  return Status(code, JsonText(*error, "message"), reason, std::move(reasons));
}

}  // namespace

StatusOr<ApiClient> ApiClient::Create(const ServerConfig& config) {
  StatusOr<HttpClient> http = HttpClient::Create(config.server);
  if (!http.ok()) {
    return InvalidArgumentError(fmt::format(
        "bad server URL \"{}\": {} (want e.g. http://127.0.0.1:8420)",
        config.server, http.status().message()));
  }
  return ApiClient(std::move(http).value(), config);
}

StatusOr<Json> ApiClient::Get(std::string_view target) const {
  return Call("GET", target, "");
}

StatusOr<Json> ApiClient::Post(std::string_view target,
                               const Json& body) const {
  return Call("POST", target, body.dump());
}

StatusOr<ClientResponse> ApiClient::Exchange(std::string_view method,
                                             std::string_view target,
                                             std::string_view body) const {
  StatusOr<ClientResponse> response =
      http_.Do(method, target, config_.token, body);
  if (!response.ok()) {
    return response.status().WithContext(
        fmt::format("cannot reach {}", config_.server));
  }
  if (response->status < 200 || response->status > 299) {
    return ErrorFromResponse(*response);
  }
  return response;
}

StatusOr<std::string> ApiClient::GetText(std::string_view target) const {
  StatusOr<ClientResponse> response = Exchange("GET", target, "");
  if (!response.ok()) return response.status();
  return std::move(response->body);
}

StatusOr<Json> ApiClient::Call(std::string_view method, std::string_view target,
                               std::string_view body) const {
  StatusOr<ClientResponse> response = Exchange(method, target, body);
  if (!response.ok()) return response.status();
  StatusOr<Json> json = ParseJson(response->body);
  if (!json.ok()) {
    return InternalError(
        fmt::format("{} {}: HTTP {} with a body that is not JSON", method,
                    target, response->status));
  }
  return json;
}

Status ApiClient::Stream(
    std::string_view target,
    const std::function<bool(const std::string&, const std::string&,
                             const std::string&)>& on_event) const {
  return http_.Stream(target, config_.token, on_event);
}

std::string UrlEncode(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    const bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                            c == '.' || c == '~';
    if (unreserved) {
      out += c;
    } else {
      out += fmt::format("%{:02X}", byte);
    }
  }
  return out;
}

std::string WithQuery(
    std::string path,
    const std::vector<std::pair<std::string, std::string>>& query) {
  char separator = '?';
  for (const auto& [key, value] : query) {
    if (value.empty()) continue;
    path += separator;
    path += key + "=" + UrlEncode(value);
    separator = '&';
  }
  return path;
}

StatusOr<Json> FetchList(const ApiClient& api, const std::string& path,
                         std::vector<std::pair<std::string, std::string>> query,
                         Pages pages) {
  constexpr int kMaxPages = 100000;
  if (pages == Pages::kAll) query.emplace_back("limit", "1000");
  Json items = Json::array();
  std::string cursor;
  for (int page = 0; page < kMaxPages; ++page) {
    auto page_query = query;
    page_query.emplace_back("cursor", cursor);
    JIT_ASSIGN_OR_RETURN(Json body, api.Get(WithQuery(path, page_query)));
    if (!body.is_object() || !body.contains("items") ||
        !body["items"].is_array()) {
      return InternalError(
          fmt::format("GET {}: answer has no `items` list", path));
    }
    if (pages == Pages::kFirst) return body;
    for (Json& item : body["items"]) items.push_back(std::move(item));
    const std::string next = JsonText(body, "next_cursor");
    if (next.empty())
      return Json{{"items", std::move(items)}, {"next_cursor", nullptr}};
    if (next == cursor) {
      return InternalError(
          fmt::format("GET {}: next_cursor does not move", path));
    }
    cursor = next;
  }
  return InternalError(
      fmt::format("GET {}: more than {} pages", path, kMaxPages));
}

}  // namespace jit
