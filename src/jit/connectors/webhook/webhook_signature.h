#pragma once

#include <string>
#include <string_view>

namespace jit {

// The webhook signing scheme (docs/connectors/webhook.md). Pure functions;
// thread-safe.

// Lower-case hex HMAC-SHA256 of `data` under `key` (64 characters).
std::string HmacSha256Hex(std::string_view key, std::string_view data);

// The X-Jitd-Signature value for one delivery:
// "v1=" + HmacSha256Hex(secret, timestamp + "." + body), where `timestamp`
// is the X-Jitd-Timestamp value (decimal Unix seconds) and `body` the exact
// bytes sent.
std::string WebhookSignature(std::string_view secret,
                             std::string_view timestamp, std::string_view body);

}  // namespace jit
