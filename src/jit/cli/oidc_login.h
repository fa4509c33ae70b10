#pragma once

// `jit login` building blocks (docs/identity.md "jit login"): PKCE (RFC
// 7636), the loopback redirect receiver (RFC 8252), the token endpoint calls
// (authorization code, refresh, device code RFC 8628) and the login file in
// ~/.config/jit/. No function here prints or logs a token.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/cli/cli.h"

namespace jit {

// A PKCE pair: `verifier` 43 base64url characters from 32 random bytes,
// `challenge` = base64url(SHA-256(verifier)) (method S256).
struct Pkce {
  std::string verifier;
  std::string challenge;
};
// kInternal when the random generator fails.
StatusOr<Pkce> NewPkce();
// base64url(SHA-256(verifier)) without padding. Pure.
std::string PkceChallengeS256(std::string_view verifier);
// 32 random bytes, base64url (the `state` parameter). kInternal on RNG failure.
StatusOr<std::string> RandomUrlSafeToken();

// Decodes a query or form value: "+" is a space, %XX a byte.
// kInvalidArgument for a truncated or non-hex escape. Pure.
StatusOr<std::string> UrlDecode(std::string_view text);
// "k=v&k2=v2" with each key and value percent-encoded (RFC 3986
// unreserved kept), pairs with empty values left out. Pure.
std::string FormEncode(
    const std::vector<std::pair<std::string, std::string>>& fields);
// The query of `target` ("/callback?a=1&b=2") as a map; a key seen twice
// is kInvalidArgument (a redirect cannot carry two states). Pure.
StatusOr<std::map<std::string, std::string>> ParseQuery(
    std::string_view target);

// An absolute URL cut into origin ("https://host:port") and target ("/p?q").
// kInvalidArgument without http(s) scheme or host. Pure.
struct UrlParts {
  std::string origin;
  std::string target;
};
StatusOr<UrlParts> SplitUrl(std::string_view url);

// What `jit login` needs from the IdP's discovery document.
struct OidcEndpoints {
  std::string issuer;
  std::string authorization_endpoint;
  std::string token_endpoint;
  std::string device_authorization_endpoint;  // empty: no device flow
};
// Parses ISSUER/.well-known/openid-configuration. kInvalidArgument when it
// is not JSON, its `issuer` differs from `issuer`, an endpoint is missing,
// or (for an https issuer) an endpoint is not https. Pure.
StatusOr<OidcEndpoints> ParseDiscovery(std::string_view body,
                                       const std::string& issuer);

// Where and how `jit login` talks to the IdP.
struct LoginSettings {
  std::string issuer;
  std::string client_id;
  std::string ca_file;   // empty: system CA store
  std::string scope;     // e.g. "openid jit"
  std::string resource;  // RFC 8707 resource indicator; empty: none
  std::chrono::milliseconds http_timeout{std::chrono::seconds(15)};
};

// Fetches the discovery document (https trust as in HttpClient).
StatusOr<OidcEndpoints> Discover(const LoginSettings& settings);

// The authorization request URL (response_type=code, PKCE S256, state).
std::string AuthorizationUrl(const OidcEndpoints& endpoints,
                             const LoginSettings& settings,
                             const std::string& redirect_uri,
                             const std::string& state,
                             const std::string& code_challenge);

// Checks the redirect `target` ("/callback?code=..&state=..") against the
// `state` this login sent and returns the code. Errors, none naming the
// code: kPermissionDenied reason "state_mismatch" (missing or other state:
// a forged redirect), kPermissionDenied reason "login_refused" with the
// IdP's `error` and `error_description` (e.g. access_denied),
// kInvalidArgument for another path or no code.
StatusOr<std::string> CodeFromCallback(std::string_view target,
                                       const std::string& expected_state);

// Listens on 127.0.0.1 on a free port for the browser's redirect. Serves
// requests one at a time until one for /callback arrives (at most 20
// requests) or the deadline passes, answers it with a short page, and
// stops listening. Not thread-safe; one use.
class LoopbackReceiver {
 public:
  // kUnavailable when no port can be bound.
  static StatusOr<std::unique_ptr<LoopbackReceiver>> Listen();
  ~LoopbackReceiver();

  uint16_t port() const;
  std::string redirect_uri() const;  // http://127.0.0.1:PORT/callback
  // The /callback request target after `expected_state` was checked
  // (see CodeFromCallback, whose errors it returns); the browser sees
  // whether login worked. kDeadlineExceeded when nothing came in `limit`.
  StatusOr<std::string> WaitForCode(const std::string& expected_state,
                                    std::chrono::milliseconds limit);

 private:
  struct Impl;
  explicit LoopbackReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A token endpoint answer. `expires_at` from `expires_in` and `now`.
struct TokenSet {
  std::string access_token;
  std::string refresh_token;  // empty: none issued
  std::optional<SystemTime> expires_at;
};

// Parses a token endpoint answer (RFC 6749 5.1/5.2). A 200 without
// access_token is kInvalidArgument; an error answer is kPermissionDenied
// with reason = its `error` (e.g. invalid_grant, authorization_pending,
// slow_down, access_denied, expired_token) and the description. Pure.
StatusOr<TokenSet> ParseTokenResponse(int http_status, std::string_view body,
                                      SystemTime now);

// POSTs `fields` as a form to `url` and parses the answer as above.
StatusOr<TokenSet> PostTokenRequest(
    const LoginSettings& settings, const std::string& url,
    const std::vector<std::pair<std::string, std::string>>& fields,
    SystemTime now);

// Authorization code + PKCE exchange at the token endpoint.
StatusOr<TokenSet> ExchangeCode(const LoginSettings& settings,
                                const OidcEndpoints& endpoints,
                                const std::string& code,
                                const std::string& redirect_uri,
                                const std::string& verifier, SystemTime now);

// Device authorization answer (RFC 8628 3.2).
struct DeviceAuthorization {
  std::string device_code;
  std::string user_code;
  std::string verification_uri;
  std::string verification_uri_complete;  // may be empty
  std::chrono::seconds expires_in{0};
  std::chrono::seconds interval{5};
};
StatusOr<DeviceAuthorization> ParseDeviceAuthorization(int http_status,
                                                       std::string_view body);
StatusOr<DeviceAuthorization> StartDeviceAuthorization(
    const LoginSettings& settings, const OidcEndpoints& endpoints);
// Polls the token endpoint every `interval` (+5 s on slow_down) until a
// token, a final error, or `expires_in` passed (kDeadlineExceeded). Waits
// with env.sleep, measures with env.clock.MonotonicNow().
StatusOr<TokenSet> PollDeviceToken(const LoginSettings& settings,
                                   const OidcEndpoints& endpoints,
                                   const DeviceAuthorization& device,
                                   const CliEnv& env);

// What `jit login` stores, in LoginFilePath with mode 0600.
struct StoredLogin {
  LoginSettings settings;
  std::string token_endpoint;
  TokenSet tokens;
};
// <home>/.config/jit/login.json
std::filesystem::path LoginFilePath(const std::string& home_dir);
// Writes atomically with mode 0600 (the directory is made 0700 when new).
// kUnavailable when it cannot be written.
Status SaveLogin(const std::filesystem::path& path, const StoredLogin& login);
// nullopt when there is no file. kInvalidArgument for a file that does not
// parse; kPermissionDenied when others may read it (mode not 0600/0400).
StatusOr<std::optional<StoredLogin>> LoadLogin(
    const std::filesystem::path& path);
// The access token of `jit login` for this home directory: refreshed first
// (and saved) when expired and a refresh token is held. nullopt: not logged
// in. kUnauthenticated "login expired" when expired and not refreshable.
StatusOr<std::optional<std::string>> LoginAccessToken(const CliEnv& env);

}  // namespace jit
