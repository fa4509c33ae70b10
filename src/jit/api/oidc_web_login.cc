#include "jit/api/oidc_web_login.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>
#include <utility>

#include "jit/base/sha256.h"
#include "jit/base/status_macros.h"
#include "jit/cli/oidc_login.h"
#include "jit/client/http_client.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr size_t kMaxStateBytes = 256;
constexpr size_t kMaxCodeBytes = 4096;

LoginSettings SettingsFor(const OidcConfig& config) {
  LoginSettings s;
  s.issuer = config.issuer;
  s.client_id = config.web_client_id;
  s.ca_file = config.ca_file;
  s.scope = config.web_scope;
  s.resource = config.web_resource;
  s.http_timeout = config.http_timeout;
  return s;
}

std::string QueryValue(const std::map<std::string, std::string>& query,
                       const std::string& key) {
  auto it = query.find(key);
  return it == query.end() ? "" : it->second;
}

// The token endpoint's answer as JSON; never throws.
StatusOr<json> ParseObject(std::string_view body) {
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object())
    return InvalidArgumentError("the token endpoint answered no JSON object");
  return doc;
}

std::string StringAt(const json& doc, const char* key) {
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

StatusOr<std::unique_ptr<OidcWebLogin>> OidcWebLogin::Create(
    const OidcConfig& config, const Clock& clock, Options options) {
  if (config.web_client_id.empty())
    return InvalidArgumentError("auth.oidc.web_client_id is not set");
  if (options.max_pending == 0)
    return InvalidArgumentError("max_pending must be at least 1");
  return std::unique_ptr<OidcWebLogin>(
      new OidcWebLogin(config, clock, options));
}

OidcWebLogin::OidcWebLogin(const OidcConfig& config, const Clock& clock,
                           Options options)
    : config_(config),
      clock_(clock),
      options_(options),
      keys_(std::make_unique<OidcKeySource>(config, clock)),
      id_tokens_(std::make_unique<JwtVerifier>(
          JwtRules{config.issuer, config.web_client_id, config.algorithms,
                   config.leeway},
          *keys_, clock)) {}

StatusOr<OidcWebLogin::Endpoints> OidcWebLogin::Discover() {
  std::lock_guard<std::mutex> lock(discover_mu_);
  if (endpoints_) return *endpoints_;
  StatusOr<OidcEndpoints> found = jit::Discover(SettingsFor(config_));
  if (!found.ok()) {
    return UnavailableError("the identity provider's discovery failed: " +
                            found.status().message());
  }
  endpoints_ = Endpoints{found->authorization_endpoint, found->token_endpoint};
  return *endpoints_;
}

StatusOr<std::string> OidcWebLogin::Begin(const std::string& redirect_uri) {
  JIT_ASSIGN_OR_RETURN(Endpoints endpoints, Discover());
  JIT_ASSIGN_OR_RETURN(Pkce pkce, NewPkce());
  JIT_ASSIGN_OR_RETURN(std::string state, RandomUrlSafeToken());
  JIT_ASSIGN_OR_RETURN(std::string nonce, RandomUrlSafeToken());
  {
    std::lock_guard<std::mutex> lock(mu_);
    const MonoTime now = clock_.MonotonicNow();
    std::erase_if(pending_, [&](const auto& kv) {
      return now - kv.second.started > options_.pending_ttl;
    });
    while (pending_.size() >= options_.max_pending) {
      auto oldest = pending_.begin();
      for (auto it = pending_.begin(); it != pending_.end(); ++it)
        if (it->second.started < oldest->second.started) oldest = it;
      pending_.erase(oldest);
    }
    pending_[Sha256Hex(state)] =
        Pending{pkce.verifier, nonce, redirect_uri, now};
  }
  OidcEndpoints where;
  where.authorization_endpoint = endpoints.authorization;
  return AuthorizationUrl(where, SettingsFor(config_), redirect_uri, state,
                          pkce.challenge) +
         "&" + FormEncode({{"nonce", nonce}});
}

StatusOr<OidcWebLogin::Pending> OidcWebLogin::TakePending(
    std::string_view state) {
  const Status unknown = PermissionDeniedError(
      "this sign-in is unknown, already used or expired; start again",
      "unknown_state");
  if (state.empty() || state.size() > kMaxStateBytes) return unknown;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pending_.find(Sha256Hex(state));
  if (it == pending_.end()) return unknown;
  Pending p = std::move(it->second);
  pending_.erase(it);
  if (clock_.MonotonicNow() - p.started > options_.pending_ttl) return unknown;
  return p;
}

StatusOr<std::string> OidcWebLogin::Finish(
    const std::map<std::string, std::string>& query) {
  JIT_ASSIGN_OR_RETURN(Pending pending,
                       TakePending(QueryValue(query, "state")));
  if (std::string error = QueryValue(query, "error"); !error.empty()) {
    std::string text = "the identity provider refused the sign-in: " + error;
    if (std::string d = QueryValue(query, "error_description"); !d.empty())
      text += " (" + d + ")";
    return PermissionDeniedError(text, "login_refused");
  }
  const std::string code = QueryValue(query, "code");
  if (code.empty() || code.size() > kMaxCodeBytes)
    return InvalidArgumentError("the sign-in callback carries no valid code");
  JIT_ASSIGN_OR_RETURN(Endpoints endpoints, Discover());
  JIT_ASSIGN_OR_RETURN(auto tokens, Exchange(endpoints, code, pending));
  StatusOr<VerifiedJwt> id_token = id_tokens_->Verify(tokens.second);
  if (!id_token.ok()) {
    return UnauthenticatedError("the ID token was refused: " +
                                id_token.status().message());
  }
  if (StringAt(id_token->claims, "nonce") != pending.nonce) {
    return PermissionDeniedError("the ID token is not for this sign-in",
                                 "nonce_mismatch");
  }
  return std::move(tokens.first);
}

StatusOr<std::pair<std::string, std::string>> OidcWebLogin::Exchange(
    const Endpoints& endpoints, const std::string& code,
    const Pending& pending) const {
  JIT_ASSIGN_OR_RETURN(UrlParts parts, SplitUrl(endpoints.token));
  TlsOptions tls;
  tls.ca_file = config_.ca_file;
  JIT_ASSIGN_OR_RETURN(
      HttpClient client,
      HttpClient::Create(parts.origin,
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             config_.http_timeout),
                         tls));
  const std::string form = FormEncode({{"grant_type", "authorization_code"},
                                       {"code", code},
                                       {"redirect_uri", pending.redirect_uri},
                                       {"client_id", config_.web_client_id},
                                       {"code_verifier", pending.verifier},
                                       {"resource", config_.web_resource}});
  StatusOr<ClientResponse> r =
      client.Do("POST", parts.target, "", form,
                {{"content-type", "application/x-www-form-urlencoded"},
                 {"accept", "application/json"}});
  if (!r.ok()) {
    return UnavailableError("the token endpoint cannot be reached: " +
                            r.status().message());
  }
  JIT_ASSIGN_OR_RETURN(json doc, ParseObject(r->body));
  if (r->status != 200) {
    return PermissionDeniedError(
        fmt::format("the token endpoint refused the code: {}",
                    StringAt(doc, "error")),
        "token_refused");
  }
  std::string access = StringAt(doc, "access_token");
  std::string id = StringAt(doc, "id_token");
  if (access.empty() || id.empty()) {
    return InvalidArgumentError(
        "the token endpoint answered without access_token or id_token");
  }
  return std::make_pair(std::move(access), std::move(id));
}

size_t OidcWebLogin::pending() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pending_.size();
}

}  // namespace jit
