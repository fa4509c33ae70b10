#pragma once

#include <string>
#include <string_view>

#include "jit/base/status.h"

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

// The signing secret kept in `path` (config `secret_file`), trailing
// whitespace removed. kInvalidArgument naming the file when it cannot be
// read, is not a regular file, is readable or writable by others, is over
// 4 KiB or holds fewer than 16 bytes.
StatusOr<std::string> ReadWebhookSecretFile(const std::string& path);

}  // namespace jit
