#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// The X-Slack-Signature value Slack puts on a request it sends to jitd:
// "v0=" + lower-case hex HMAC-SHA256(signing secret,
// "v0:" + X-Slack-Request-Timestamp + ":" + raw body). Pure.
std::string SlackSignature(std::string_view signing_secret,
                           std::string_view timestamp, std::string_view body);

struct SlackVerifierOptions {
  // A request signed further than this from now, in either direction, is
  // refused: a captured request cannot be sent again later.
  std::chrono::seconds window = std::chrono::minutes(5);
  size_t max_body_bytes = 64 * 1024;
  // Signatures remembered within the window (replay check). When this many
  // fresh ones are held, further requests are refused until some age out.
  size_t max_remembered = 100'000;
};

// Checks that a request really comes from Slack, is fresh and is not a
// repeat (docs/slack.md). Only correctly signed requests are remembered, so
// nobody without the signing secret can fill the replay memory. The memory
// lives in this process; SlackActionService also records each accepted
// signature in the store, which a restart does not forget.
// Thread-safe.
class SlackRequestVerifier {
 public:
  // `clock` (the service clock) outlives this.
  SlackRequestVerifier(std::string signing_secret, const Clock& clock,
                       SlackVerifierOptions options = {});

  // OK when `signature` is right for `timestamp` and `body`, the timestamp
  // lies within the window of now, and the signature was not accepted
  // before; it is then remembered. Nothing is remembered on error.
  // Errors: kResourceExhausted body over max_body_bytes (checked first);
  // kUnauthenticated a header missing or malformed, a wrong signature, a
  // stale or future timestamp, a replay; kUnavailable the replay memory is
  // full (fails closed).
  Status Verify(const std::optional<std::string>& timestamp,
                const std::optional<std::string>& signature,
                std::string_view body);

 private:
  Status CheckFresh(const std::string& timestamp, int64_t& seconds) const;
  Status Remember(const std::string& signature, int64_t seconds);

  const std::string secret_;
  const Clock& clock_;
  const SlackVerifierOptions options_;
  std::mutex mu_;
  // Accepted signatures, and the same by timestamp (Unix seconds) for
  // forgetting those that left the window; guarded by mu_.
  std::set<std::string> seen_;
  std::multimap<int64_t, std::string> by_time_;
};

}  // namespace jit
