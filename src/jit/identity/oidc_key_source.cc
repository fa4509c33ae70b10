#include "jit/identity/oidc_key_source.h"

#include "jit/base/status_macros.h"
#include "jit/client/http_client.h"
#include "jit/identity/limited_json.h"

namespace jit {
namespace {

constexpr int kMaxDiscoveryDepth = 8;

struct SplitUrl {
  std::string base;    // scheme://authority
  std::string target;  // path and query, starting with '/'
};

StatusOr<SplitUrl> Split(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos)
    return InvalidArgumentError("not an absolute URL: " + url);
  size_t slash = url.find('/', scheme_end + 3);
  if (slash == std::string::npos) return SplitUrl{url, "/"};
  return SplitUrl{url.substr(0, slash), url.substr(slash)};
}

bool IsHttps(std::string_view url) { return url.substr(0, 8) == "https://"; }

std::string DiscoveryUrl(std::string issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  return issuer + "/.well-known/openid-configuration";
}

}  // namespace

OidcKeySource::OidcKeySource(const OidcConfig& config, const Clock& clock)
    : config_(config), clock_(clock) {}

StatusOr<std::string> OidcKeySource::GetJson(const std::string& url) const {
  JIT_ASSIGN_OR_RETURN(SplitUrl parts, Split(url));
  JIT_ASSIGN_OR_RETURN(
      HttpClient client,
      HttpClient::Create(parts.base,
                         std::chrono::duration_cast<std::chrono::milliseconds>(
                             config_.http_timeout),
                         TlsOptions{config_.ca_file}));
  JIT_ASSIGN_OR_RETURN(
      ClientResponse response,
      client.Do("GET", parts.target, "", "", {{"accept", "application/json"}}));
  if (response.status != 200) {
    return UnavailableError(url + " answered HTTP " +
                            std::to_string(response.status));
  }
  return std::move(response.body);
}

StatusOr<JwkSet> OidcKeySource::Fetch() {
  if (jwks_uri_.empty()) {
    const std::string url = DiscoveryUrl(config_.issuer);
    JIT_ASSIGN_OR_RETURN(std::string text, GetJson(url));
    StatusOr<nlohmann::json> doc =
        ParseJsonObject(text, kMaxDiscoveryDepth, "discovery document");
    if (!doc.ok()) return UnavailableError(doc.status().message());
    auto issuer = doc->find("issuer");
    if (issuer == doc->end() || !issuer->is_string() ||
        issuer->get<std::string>() != config_.issuer) {
      return UnavailableError("discovery document at " + url +
                              " names another issuer");
    }
    auto jwks = doc->find("jwks_uri");
    if (jwks == doc->end() || !jwks->is_string())
      return UnavailableError("discovery document has no jwks_uri");
    std::string jwks_uri = jwks->get<std::string>();
    if (IsHttps(config_.issuer) && !IsHttps(jwks_uri))
      return UnavailableError("jwks_uri must use https like the issuer");
    jwks_uri_ = std::move(jwks_uri);
  }
  JIT_ASSIGN_OR_RETURN(std::string text, GetJson(jwks_uri_));
  StatusOr<JwkSet> set = ParseJwkSet(text);
  if (!set.ok()) return UnavailableError("JWK set: " + set.status().message());
  return set;
}

bool OidcKeySource::FetchDue(std::string_view kid, MonoTime now) const {
  if (last_attempt_ && now - *last_attempt_ < config_.jwks_min_refetch)
    return false;
  if (!keys_) return true;
  if (now - keys_->fetched_at >= config_.jwks_max_age) return true;
  return keys_->set.count(std::string(kid)) == 0;
}

StatusOr<std::shared_ptr<const Jwk>> OidcKeySource::FindKey(
    std::string_view kid) {
  bool due;
  {
    std::lock_guard lock(mu_);
    due = FetchDue(kid, clock_.MonotonicNow());
  }
  if (due) {
    std::lock_guard fetching(fetch_mu_);
    MonoTime now = clock_.MonotonicNow();
    std::unique_lock lock(mu_);
    // Another caller may have fetched while this one waited.
    if (FetchDue(kid, now)) {
      last_attempt_ = now;
      lock.unlock();
      StatusOr<JwkSet> set = Fetch();
      lock.lock();
      if (set.ok()) {
        keys_ = std::make_shared<const Keys>(Keys{std::move(*set), now});
        last_error_.clear();
      } else {
        last_error_ = set.status().message();
      }
    }
  }
  std::shared_ptr<const Keys> keys;
  std::string error;
  {
    std::lock_guard lock(mu_);
    keys = keys_;
    error = last_error_;
  }
  if (!keys) {
    return UnavailableError("identity provider keys unavailable" +
                            (error.empty() ? "" : ": " + error));
  }
  auto it = keys->set.find(std::string(kid));
  if (it == keys->set.end()) return NotFoundError("no key with this kid");
  return it->second;
}

}  // namespace jit
