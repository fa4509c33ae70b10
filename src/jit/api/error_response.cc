#include "jit/api/error_response.h"

#include <spdlog/spdlog.h>

namespace jit {
namespace {

struct Mapping {
  int http;
  std::string code;
};

Mapping Map(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return {400, "invalid_request"};
    case StatusCode::kUnauthenticated:
      return {401, "unauthenticated"};
    case StatusCode::kPermissionDenied:
      return {403, s.reason().empty() ? "forbidden" : s.reason()};
    case StatusCode::kFailedPrecondition:
      if (s.reason() == "policy_denied") return {403, "policy_denied"};
      return {409, "conflict"};
    case StatusCode::kNotFound:
      return {404, "not_found"};
    case StatusCode::kAborted:
    case StatusCode::kAlreadyExists:
      return {409, "conflict"};
    case StatusCode::kResourceExhausted:
      if (s.reason() == "rate_limited") return {429, "rate_limited"};
      return {413, "too_large"};
    case StatusCode::kUnavailable:
    case StatusCode::kDeadlineExceeded:
      return {503, "unavailable"};
    default:
      return {500, "internal"};
  }
}

}  // namespace

HttpResponse JsonResponse(int http_status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = http_status;
  r.content_type = "application/json";
  r.body = body.dump(-1, ' ', /*ensure_ascii=*/false,
                     nlohmann::json::error_handler_t::replace);
  r.body.push_back('\n');
  return r;
}

HttpResponse ErrorResponse(const Status& status) {
  Mapping m = Map(status);
  if (m.http >= 500) spdlog::error("request failed: {}", status.ToString());
  nlohmann::json err = {{"code", m.code}, {"message", status.message()}};
  if (!status.details().empty()) err["reasons"] = status.details();
  HttpResponse r = JsonResponse(m.http, {{"error", err}});
  if (m.http == 401) r.headers["WWW-Authenticate"] = "Bearer";
  return r;
}

}  // namespace jit
