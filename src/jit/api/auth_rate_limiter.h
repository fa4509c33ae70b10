#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "jit/api/http.h"
#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

class Metrics;

// Config `auth.rate_limit`: at most `failures` failed authentications per
// `per` from one key; the allowance comes back evenly over `per`.
struct AuthRateLimitOptions {
  int failures = 10;
  Duration per = std::chrono::minutes(1);
  // Keys tracked at once; past it the key closest to clean is forgotten.
  size_t max_keys = 50'000;
};

// Counts failed authentications per key (a source address, a claimed
// subject) as a token bucket (GCRA): each failure costs per/failures of
// credit, a key may hold `per` of debt, so `failures` failures in a burst
// pass and the next is limited until credit for one more has come back.
// Memory is bounded by max_keys: keys whose debt is paid are dropped first,
// then the key with least debt, so a flood of new sources evicts itself
// before it evicts a source that is being limited.
// Time: clock.MonotonicNow() only. Thread-safe.
class AuthRateLimiter {
 public:
  AuthRateLimiter(AuthRateLimitOptions options, const Clock& clock);

  // Key names, so source and subject limits cannot collide. An IPv6
  // source counts by its /64 (one host usually holds all of it).
  static std::string SourceKey(std::string_view address);
  static std::string SubjectKey(std::string_view subject);

  // How long `key` must wait before its next failure is counted; nullopt
  // when it may try now. For a secret that can be guessed (a TOTP or a
  // break-glass code) ask before checking it, and refuse even a right
  // answer while limited.
  std::optional<std::chrono::seconds> RetryAfter(std::string_view key) const;
  // Counts one failure of `key`. A failure while limited is not counted (a
  // limited key is refused before its credential is counted).
  void RecordFailure(std::string_view key);
  // Keys currently tracked (for tests and metrics).
  size_t tracked_keys() const;

 private:
  using Tat = MonoTime;       // "theoretical arrival time" of the next failure
  void Forget(MonoTime now);  // requires mu_
  std::optional<std::chrono::seconds> RetryAfterLocked(std::string_view key,
                                                       MonoTime now) const;

  const AuthRateLimitOptions options_;
  const Duration cost_;  // per / failures
  const Clock& clock_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Tat> tat_;      // guarded by mu_
  std::set<std::pair<Tat, std::string>> by_tat_;  // guarded by mu_
};

// What the API does with a failed authentication (the hook in
// ApiRoutes::Handle): a request that presented a credential (Authorization
// header) and failed with kUnauthenticated counts against its source
// address (the socket peer; proxies' X-Forwarded-For is not trusted) and,
// when the authenticator could tell whom the credential claimed to be
// (`claimed_subject`, e.g. the `sub` of a JWT whose signature failed),
// against that subject too. Once either is limited the request is answered
// 429 `rate_limited` with Retry-After instead of 401, and the failure is
// not counted again. A request without
// credentials is answered as before and not counted. A right credential is
// never refused here: bearer tokens and signed JWTs cannot be guessed, and
// refusing them would let anyone behind the same NAT lock real users out.
// Counts `jitd_auth_failures_total` in `metrics` and logs the source, never
// the credential.
// The `sub` a bearer JWT in `http` claims, read WITHOUT checking the token:
// only to count a failed sign-in against the subject it names. Empty when
// there is no JWT, it does not parse, it is over 8 KiB or `sub` is over 256
// bytes.
std::string ClaimedJwtSubject(const HttpRequest& http);

HttpResponse RefuseFailedAuth(AuthRateLimiter& limiter, Metrics& metrics,
                              const HttpRequest& http, const Status& failure,
                              std::string_view claimed_subject = {});

}  // namespace jit
