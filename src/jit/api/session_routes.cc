// Browser sign-in for the web console: POST/DELETE /v1/session, GET
// /v1/whoami, and the session cookie as a credential with its CSRF rule.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <string_view>

#include "jit/api/error_response.h"
#include "jit/api/http_server.h"
#include "jit/api/json_codec.h"
#include "jit/api/routes.h"
#include "jit/api/session_table.h"
#include "jit/base/html.h"

namespace jit {
namespace {

using nlohmann::json;

// A JWT may be long; anything longer is no credential jitd accepts.
constexpr size_t kMaxCredentialBytes = 16 * 1024;

bool IsSafeMethod(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS";
}

bool TargetsSession(const HttpRequest& http) {
  std::vector<std::string> seg = PathSegments(http.path);
  return seg.size() == 2 && seg[0] == "v1" && seg[1] == "session";
}

json WhoamiJson(const Principal& who) {
  json roles = json::array();
  if (who.admin) roles.push_back("admin");
  if (who.auditor) roles.push_back("auditor");
  if (who.enforcer) roles.push_back("enforcer");
  return {{"subject", who.subject.name},
          {"person", who.subject.person},
          {"groups", who.subject.groups},
          {"roles", roles}};
}

HttpResponse WithCookie(HttpResponse r, const HttpRequest& http,
                        std::string_view value, std::chrono::seconds max_age) {
  StatusOr<std::string> cookie = SessionCookie(
      SessionCookieName(http.transport), value, max_age, http.transport);
  if (!cookie.ok()) return ErrorResponse(cookie.status());
  r.headers["Set-Cookie"] = *cookie;
  return r;
}

// A small page with no script and nothing loaded from anywhere.
HttpResponse HtmlPage(int status, std::string_view title,
                      std::string_view body_html) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/html; charset=utf-8";
  r.body =
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<title>" +
      HtmlEscape(title) + "</title></head><body>" + std::string(body_html) +
      "</body></html>";
  r.headers["Content-Security-Policy"] =
      "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
      "form-action 'none'";
  r.headers["Cache-Control"] = "no-store";
  r.headers["Referrer-Policy"] = "no-referrer";
  r.headers["X-Frame-Options"] = "DENY";
  return r;
}

// The sign-in failed: a page saying why, with the way back.
HttpResponse SignInErrorPage(const Status& status) {
  int code = 400;
  if (status.code() == StatusCode::kNotFound) code = 404;
  if (status.code() == StatusCode::kUnavailable) code = 503;
  if (status.code() == StatusCode::kUnauthenticated) code = 401;
  if (status.code() == StatusCode::kPermissionDenied) code = 403;
  return HtmlPage(code, "Sign-in failed",
                  "<h1>Sign-in failed</h1><p>" + HtmlEscape(status.message()) +
                      "</p><p>Nobody was signed in. <a href=\"/\">Back to "
                      "the console</a>.</p>");
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '.' || c == '-' || c == ':' ||
         c == '[' || c == ']';
}

// The callback URL: configured, or this request's origin. A forged Host
// gains nothing: the IdP sends the browser only to registered URIs.
StatusOr<std::string> OidcRedirectUri(const OidcWebLogin& login,
                                      const HttpRequest& http) {
  if (!login.configured_redirect_uri().empty())
    return login.configured_redirect_uri();
  std::optional<std::string> host = http.Header("host");
  if (!host || host->empty() || host->size() > 255 ||
      !std::all_of(host->begin(), host->end(), IsHostChar)) {
    return InvalidArgumentError("the request has no usable Host header");
  }
  return std::string(http.transport == Transport::kTls ? "https://"
                                                       : "http://") +
         *host + "/v1/session/oidc/callback";
}

}  // namespace

std::string_view SessionCookieName(Transport transport) {
  // The __Host- prefix makes the browser refuse the cookie unless it is
  // Secure, host-only and Path=/; it needs TLS.
  return transport == Transport::kTls ? "__Host-jitd_session" : "jitd_session";
}

std::optional<std::string> SessionCookieValue(const HttpRequest& http) {
  std::optional<std::string> header = http.Header("cookie");
  if (!header) return std::nullopt;
  const std::string want = std::string(SessionCookieName(http.transport)) + "=";
  std::string_view rest = *header;
  while (!rest.empty()) {
    size_t end = rest.find(';');
    std::string_view pair = rest.substr(0, end);
    rest = end == std::string_view::npos ? "" : rest.substr(end + 1);
    while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
    if (pair.starts_with(want)) return std::string(pair.substr(want.size()));
  }
  return std::nullopt;
}

Status CheckCsrf(const HttpRequest& http) {
  if (IsSafeMethod(http.method)) return OkStatus();
  bool by_cookie =
      !http.Header("authorization") && SessionCookieValue(http).has_value();
  if (!by_cookie && !TargetsSession(http)) return OkStatus();
  if (http.Header("x-jitd-csrf") == "1") return OkStatus();
  // A cross-site form or fetch cannot set a custom header without a CORS
  // preflight, which jitd never answers.
  return PermissionDeniedError(
      "a browser request that changes state needs the header X-Jitd-Csrf: 1");
}

StatusOr<Principal> ApiRoutes::Authenticate(const HttpRequest& http) const {
  if (deps_.sessions == nullptr || http.Header("authorization"))
    return deps_.auth.Authenticate(http);
  std::optional<std::string> id = SessionCookieValue(http);
  if (!id) return deps_.auth.Authenticate(http);
  StatusOr<std::string> credential = deps_.sessions->Credential(*id);
  if (!credential.ok()) return credential.status();
  // Only the credential: a Unix-socket peer uid must not stand in for it.
  HttpRequest bearer;
  bearer.headers["authorization"] = "Bearer " + *credential;
  bearer.remote_address = http.remote_address;
  bearer.transport = http.transport;
  StatusOr<Principal> p = deps_.auth.Authenticate(bearer);
  // The credential was revoked or expired: so is the session. (An IdP that
  // is down answers kUnavailable and keeps the session.)
  if (!p.ok() && p.status().code() == StatusCode::kUnauthenticated)
    deps_.sessions->End(*id);
  return p;
}

HttpResponse ApiRoutes::StartSession(const HttpRequest& http) const {
  if (deps_.sessions == nullptr)
    return ErrorResponse(UnavailableError("browser sessions are off"));
  auto body = JsonBody::Parse(http.body, {"token"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto token = body->String("token");
  if (!token.ok()) return ErrorResponse(token.status());
  if (token->empty() || token->size() > kMaxCredentialBytes) {
    return ErrorResponse(
        InvalidArgumentError("token must be 1 to 16384 characters"));
  }
  HttpRequest bearer;
  bearer.headers["authorization"] = "Bearer " + *token;
  bearer.remote_address = http.remote_address;
  bearer.transport = http.transport;
  StatusOr<Principal> who = deps_.auth.Authenticate(bearer);
  if (!who.ok() && deps_.auth_limiter != nullptr) {
    return RefuseFailedAuth(*deps_.auth_limiter, deps_.metrics, http,
                            who.status());
  }
  if (!who.ok()) return ErrorResponse(who.status());
  std::string id = deps_.sessions->Start(std::move(*token));
  spdlog::info("web session started for {}", who->subject.name);
  return WithCookie(JsonResponse(201, WhoamiJson(*who)), http, id,
                    deps_.sessions->max_age());
}

HttpResponse ApiRoutes::EndSession(const HttpRequest& http) const {
  if (deps_.sessions != nullptr) {
    if (std::optional<std::string> id = SessionCookieValue(http))
      deps_.sessions->End(*id);
  }
  return WithCookie(JsonResponse(200, {{"ended", true}}), http, "",
                    std::chrono::seconds(0));
}

HttpResponse ApiRoutes::OidcSignInInfo() const {
  if (deps_.web_login == nullptr)
    return ErrorResponse(NotFoundError("browser sign-in with OIDC is off"));
  return JsonResponse(200, {{"issuer", deps_.web_login->issuer()},
                            {"start", "/v1/session/oidc/start"}});
}

HttpResponse ApiRoutes::OidcSignInStart(const HttpRequest& http) const {
  if (deps_.web_login == nullptr || deps_.sessions == nullptr)
    return SignInErrorPage(NotFoundError("browser sign-in with OIDC is off"));
  StatusOr<std::string> redirect_uri = OidcRedirectUri(*deps_.web_login, http);
  if (!redirect_uri.ok()) return SignInErrorPage(redirect_uri.status());
  StatusOr<std::string> url = deps_.web_login->Begin(*redirect_uri);
  if (!url.ok()) return SignInErrorPage(url.status());
  HttpResponse r;
  r.status = 302;
  r.content_type = "text/plain; charset=utf-8";
  r.headers["Location"] = *url;
  r.headers["Cache-Control"] = "no-store";
  r.headers["Referrer-Policy"] = "no-referrer";
  return r;
}

HttpResponse ApiRoutes::OidcSignInCallback(const HttpRequest& http) const {
  if (deps_.web_login == nullptr || deps_.sessions == nullptr)
    return SignInErrorPage(NotFoundError("browser sign-in with OIDC is off"));
  StatusOr<std::string> token = deps_.web_login->Finish(http.query);
  if (!token.ok()) {
    spdlog::info("browser sign-in refused: {}", token.status().message());
    return SignInErrorPage(token.status());
  }
  HttpRequest bearer;
  bearer.headers["authorization"] = "Bearer " + *token;
  bearer.remote_address = http.remote_address;
  bearer.transport = http.transport;
  StatusOr<Principal> who = deps_.auth.Authenticate(bearer);
  if (!who.ok()) {
    spdlog::info("browser sign-in: access token refused: {}",
                 who.status().message());
    return SignInErrorPage(who.status());
  }
  std::string id = deps_.sessions->Start(std::move(*token));
  spdlog::info("web session started for {} (OIDC)", who->subject.name);
  // A page, not a redirect: the cookie is SameSite=Strict and this request
  // came from the IdP's site; the next navigation starts on jitd's own.
  HttpResponse page =
      HtmlPage(200, "Signed in",
               "<meta http-equiv=\"refresh\" content=\"0;url=/\">"
               "<p>Signed in. <a href=\"/\">Continue to the console</a>.</p>");
  return WithCookie(std::move(page), http, id, deps_.sessions->max_age());
}

HttpResponse ApiRoutes::Whoami(const Principal& who) const {
  return JsonResponse(200, WhoamiJson(who));
}

}  // namespace jit
