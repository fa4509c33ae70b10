#include "jit/api/auth_rate_limiter.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <nlohmann/json.hpp>

#include "jit/api/error_response.h"
#include "jit/identity/base64url.h"
#include "jit/workflow/metrics.h"

namespace jit {
namespace {

Duration CostOf(const AuthRateLimitOptions& o) {
  int failures = std::max(o.failures, 1);
  return std::max(Duration(1), o.per / failures);
}

std::chrono::seconds CeilSeconds(MonoTime::duration d) {
  return std::max(std::chrono::seconds(1),
                  std::chrono::ceil<std::chrono::seconds>(d));
}

}  // namespace

AuthRateLimiter::AuthRateLimiter(AuthRateLimitOptions options,
                                 const Clock& clock)
    : options_(options), cost_(CostOf(options)), clock_(clock) {}

// One IPv6 host usually holds a whole /64, so a /64 is one source.
std::string AuthRateLimiter::SourceKey(std::string_view address) {
  std::string text(address);
  in6_addr v6{};
  if (inet_pton(AF_INET6, text.c_str(), &v6) != 1 ||
      IN6_IS_ADDR_V4MAPPED(&v6) || IN6_IS_ADDR_LOOPBACK(&v6)) {
    return "source:" + text;
  }
  std::memset(&v6.s6_addr[8], 0, 8);
  char prefix[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(AF_INET6, &v6, prefix, sizeof(prefix)) == nullptr) {
    return "source:" + text;
  }
  return "source:" + std::string(prefix) + "/64";
}

std::string AuthRateLimiter::SubjectKey(std::string_view subject) {
  return "subject:" + std::string(subject);
}

std::optional<std::chrono::seconds> AuthRateLimiter::RetryAfter(
    std::string_view key) const {
  std::lock_guard lock(mu_);
  return RetryAfterLocked(key, clock_.MonotonicNow());
}

// Limited while one more failure would put the key more than `per` in debt.
std::optional<std::chrono::seconds> AuthRateLimiter::RetryAfterLocked(
    std::string_view key, MonoTime now) const {
  auto it = tat_.find(std::string(key));
  if (it == tat_.end()) return std::nullopt;
  MonoTime allowed_from = it->second + cost_ - options_.per;
  if (allowed_from <= now) return std::nullopt;
  return CeilSeconds(allowed_from - now);
}

void AuthRateLimiter::RecordFailure(std::string_view key) {
  MonoTime now = clock_.MonotonicNow();
  std::lock_guard lock(mu_);
  if (RetryAfterLocked(key, now)) return;
  Forget(now);
  std::string name(key);
  auto it = tat_.find(name);
  MonoTime base = now;
  if (it != tat_.end()) {
    base = std::max(base, it->second);
    by_tat_.erase({it->second, name});
  } else if (tat_.size() >= std::max<size_t>(options_.max_keys, 1)) {
    // Least debt first: the key nearest to being forgotten anyway.
    auto victim = by_tat_.begin();
    tat_.erase(victim->second);
    by_tat_.erase(victim);
  }
  MonoTime next = base + cost_;
  tat_[name] = next;
  by_tat_.emplace(next, std::move(name));
}

// A key whose debt is paid behaves exactly like one never seen.
void AuthRateLimiter::Forget(MonoTime now) {
  while (!by_tat_.empty() && by_tat_.begin()->first <= now) {
    tat_.erase(by_tat_.begin()->second);
    by_tat_.erase(by_tat_.begin());
  }
}

size_t AuthRateLimiter::tracked_keys() const {
  std::lock_guard lock(mu_);
  return tat_.size();
}

namespace {

// The longer wait of the source and (when named) the subject.
std::optional<std::chrono::seconds> LongestWait(
    const AuthRateLimiter& limiter, const std::string& source,
    const std::optional<std::string>& subject) {
  std::optional<std::chrono::seconds> wait = limiter.RetryAfter(source);
  if (!subject) return wait;
  std::optional<std::chrono::seconds> by_subject = limiter.RetryAfter(*subject);
  if (!wait) return by_subject;
  if (!by_subject) return wait;
  return std::max(*wait, *by_subject);
}

}  // namespace

std::string ClaimedJwtSubject(const HttpRequest& http) {
  constexpr size_t kMaxJwt = 8192;
  constexpr size_t kMaxSubject = 256;
  auto header = http.headers.find("authorization");
  if (header == http.headers.end()) return "";
  std::string_view value = header->second;
  constexpr std::string_view kBearer = "Bearer ";
  if (!value.starts_with(kBearer) || value.size() > kBearer.size() + kMaxJwt)
    return "";
  value.remove_prefix(kBearer.size());
  size_t first = value.find('.');
  size_t second =
      first == std::string_view::npos ? first : value.find('.', first + 1);
  if (second == std::string_view::npos) return "";
  StatusOr<std::string> payload =
      Base64UrlDecode(value.substr(first + 1, second - first - 1));
  if (!payload.ok()) return "";
  nlohmann::json claims =
      nlohmann::json::parse(*payload, nullptr, /*allow_exceptions=*/false);
  if (!claims.is_object()) return "";
  auto sub = claims.find("sub");
  if (sub == claims.end() || !sub->is_string()) return "";
  std::string out = sub->get<std::string>();
  return out.size() <= kMaxSubject ? out : "";
}

HttpResponse RefuseFailedAuth(AuthRateLimiter& limiter, Metrics& metrics,
                              const HttpRequest& http, const Status& failure,
                              std::string_view claimed_subject) {
  bool presented = http.headers.count("authorization") > 0;
  if (failure.code() != StatusCode::kUnauthenticated || !presented) {
    return ErrorResponse(failure);
  }
  std::string source = AuthRateLimiter::SourceKey(http.remote_address);
  std::optional<std::string> subject;
  if (!claimed_subject.empty()) {
    subject = AuthRateLimiter::SubjectKey(claimed_subject);
  }
  std::optional<std::chrono::seconds> wait =
      LongestWait(limiter, source, subject);
  if (wait) {
    metrics.CountAuthFailure(AuthFailureOutcome::kRateLimited);
    // Once per key, when it became limited, is logged; not every refusal.
    HttpResponse out =
        ErrorResponse(Status(StatusCode::kResourceExhausted,
                             "too many failed authentications; retry after " +
                                 std::to_string(wait->count()) + "s",
                             "rate_limited"));
    out.headers["Retry-After"] = std::to_string(wait->count());
    return out;
  }
  limiter.RecordFailure(source);
  if (subject) limiter.RecordFailure(*subject);
  metrics.CountAuthFailure(AuthFailureOutcome::kRejected);
  // The message says what was wrong, never the credential itself.
  spdlog::info("authentication failed from {}{}: {}", http.remote_address,
               subject ? " claiming " + std::string(claimed_subject) : "",
               failure.message());
  if (std::optional<std::chrono::seconds> now_limited =
          LongestWait(limiter, source, subject)) {
    spdlog::warn("failed authentications from {}{}: rate limited for {}s",
                 http.remote_address,
                 subject ? " claiming " + std::string(claimed_subject) : "",
                 now_limited->count());
  }
  return ErrorResponse(failure);
}

}  // namespace jit
