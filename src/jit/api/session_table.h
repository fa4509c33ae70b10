#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "jit/api/http.h"
#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// Browser sessions of the web console (POST /v1/session): a random session
// id, given to the browser only as an HttpOnly cookie, stands for the
// credential the user signed in with. The credential stays in memory here
// and is checked again on every request (Authenticator), so a session ends
// as soon as its credential does (JWT `exp`, machine token revoked, static
// token removed on reload), and after `max_age` at the latest. Nothing is
// written to disk: a restart signs everyone out.
//
// Thread-safe. Bounded: at most `max_sessions`; a new session beyond that
// evicts the one closest to its end.
class SessionTable {
 public:
  static constexpr std::chrono::hours kDefaultMaxAge{8};
  static constexpr size_t kDefaultMaxSessions = 10'000;

  SessionTable(const Clock& clock,
               std::chrono::seconds max_age = kDefaultMaxAge,
               size_t max_sessions = kDefaultMaxSessions);

  // A new session holding `credential`; returns its id (64 hex digits).
  std::string Start(std::string credential);
  // The credential of a live session. kUnauthenticated when the id is
  // unknown, ended or past its end (an expired entry is dropped).
  StatusOr<std::string> Credential(std::string_view id);
  // Ends the session; OK whether or not it existed.
  void End(std::string_view id);
  // Seconds a session started now lives (the cookie's Max-Age).
  std::chrono::seconds max_age() const { return max_age_; }
  size_t size() const;

 private:
  struct Entry {
    std::string credential;
    SystemTime ends_at;
  };
  void EvictOneLocked();  // needs mu_

  const Clock& clock_;
  const std::chrono::seconds max_age_;
  const size_t max_sessions_;
  mutable std::mutex mu_;
  // Keyed by SHA-256 of the id: a lookup never compares the secret itself.
  std::map<std::string, Entry> by_hash_;  // guarded by mu_
};

// The session cookie's name: `__Host-jitd_session` over TLS (the browser
// then insists on Secure, host-only, Path=/), `jitd_session` otherwise.
std::string_view SessionCookieName(Transport transport);

// The session id from the request's Cookie header, if it carries one.
std::optional<std::string> SessionCookieValue(const HttpRequest& http);

// CSRF rule: a request that may change state (any method but GET, HEAD,
// OPTIONS) and is authenticated by the session cookie (no Authorization
// header), or that starts or ends a session, must carry `X-Jitd-Csrf: 1`.
// A cross-site form cannot set that header, and a cross-site fetch would
// need a CORS preflight jitd never grants. kPermissionDenied otherwise.
Status CheckCsrf(const HttpRequest& http);

}  // namespace jit
