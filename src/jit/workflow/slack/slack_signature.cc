#include "jit/workflow/slack/slack_signature.h"

#include <openssl/crypto.h>

#include <charconv>

#include "jit/connectors/webhook/webhook_signature.h"

namespace jit {
namespace {

constexpr size_t kMaxTimestampDigits = 12;
constexpr std::string_view kVersion = "v0=";
constexpr size_t kSignatureSize = 3 + 64;  // "v0=" + 64 hex digits

bool SameText(std::string_view a, std::string_view b) {
  // The length of a correct signature is public; its bytes are compared in
  // constant time so a timing probe learns nothing about the expected one.
  return a.size() == b.size() &&
         CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string SlackSignature(std::string_view signing_secret,
                           std::string_view timestamp, std::string_view body) {
  std::string base;
  base.reserve(3 + timestamp.size() + 1 + body.size());
  base.append("v0:").append(timestamp).append(":").append(body);
  return std::string(kVersion) + HmacSha256Hex(signing_secret, base);
}

SlackRequestVerifier::SlackRequestVerifier(std::string signing_secret,
                                           const Clock& clock,
                                           SlackVerifierOptions options)
    : secret_(std::move(signing_secret)), clock_(clock), options_(options) {}

Status SlackRequestVerifier::CheckFresh(const std::string& timestamp,
                                        int64_t& seconds) const {
  if (timestamp.empty() || timestamp.size() > kMaxTimestampDigits) {
    return UnauthenticatedError(
        "X-Slack-Request-Timestamp must be Unix seconds");
  }
  const char* end = timestamp.data() + timestamp.size();
  auto [p, ec] = std::from_chars(timestamp.data(), end, seconds);
  if (ec != std::errc() || p != end || seconds < 0) {
    return UnauthenticatedError(
        "X-Slack-Request-Timestamp must be Unix seconds");
  }
  const int64_t now =
      std::chrono::floor<std::chrono::seconds>(clock_.Now().time_since_epoch())
          .count();
  const int64_t window = options_.window.count();
  if (seconds < now - window || seconds > now + window) {
    return UnauthenticatedError(
        "the Slack request is stale or from the future (more than " +
        std::to_string(window) + " s from jitd's clock)");
  }
  return OkStatus();
}

Status SlackRequestVerifier::Remember(const std::string& signature,
                                      int64_t seconds) {
  const int64_t now =
      std::chrono::floor<std::chrono::seconds>(clock_.Now().time_since_epoch())
          .count();
  std::lock_guard lock(mu_);
  // Entries signed before the window are refused by CheckFresh anyway.
  const int64_t oldest = now - options_.window.count();
  while (!by_time_.empty() && by_time_.begin()->first < oldest) {
    seen_.erase(by_time_.begin()->second);
    by_time_.erase(by_time_.begin());
  }
  if (seen_.count(signature) > 0) {
    return UnauthenticatedError(
        "this Slack request was received before (replay)");
  }
  if (seen_.size() >= options_.max_remembered) {
    return UnavailableError("too many Slack requests in the replay window");
  }
  seen_.insert(signature);
  by_time_.emplace(seconds, signature);
  return OkStatus();
}

Status SlackRequestVerifier::Verify(const std::optional<std::string>& timestamp,
                                    const std::optional<std::string>& signature,
                                    std::string_view body) {
  if (body.size() > options_.max_body_bytes) {
    return ResourceExhaustedError("the Slack request body is over " +
                                  std::to_string(options_.max_body_bytes) +
                                  " bytes");
  }
  if (!timestamp || !signature) {
    return UnauthenticatedError(
        "X-Slack-Request-Timestamp and X-Slack-Signature are required");
  }
  int64_t seconds = 0;
  if (Status s = CheckFresh(*timestamp, seconds); !s.ok()) return s;
  if (signature->size() != kSignatureSize ||
      signature->compare(0, kVersion.size(), kVersion) != 0) {
    return UnauthenticatedError("X-Slack-Signature must be v0= and 64 hex");
  }
  if (!SameText(*signature, SlackSignature(secret_, *timestamp, body))) {
    return UnauthenticatedError("the Slack signature does not match");
  }
  return Remember(*signature, seconds);
}

}  // namespace jit
