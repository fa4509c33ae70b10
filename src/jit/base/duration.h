#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// Parses "90s", "30m", "1h30m", "2d", "500ms": one or more <digits><unit>
// groups, units d, h, m, s, ms, each at most once and in that order.
// Errors: kInvalidArgument for empty text, signs, spaces, unknown or repeated
// units, a zero total, and totals over 10 years (overflow guard).
StatusOr<Duration> ParseDuration(std::string_view text);

// The shortest text ParseDuration reads back to `d` ("1h30m", "90s" ->
// "1m30s").
std::string FormatDuration(Duration d);

// RFC 3339 UTC with milliseconds and a trailing Z: "2026-11-23T19:00:00.000Z".
std::string FormatTime(SystemTime t);

// Parses RFC 3339 with `Z` or a numeric offset; fractional seconds optional.
// Errors: kInvalidArgument, naming the text.
StatusOr<SystemTime> ParseTime(std::string_view text);

// `t` cut down to whole milliseconds, the precision times are stored and
// shown with; times compared against stored ones must be cut the same way.
SystemTime TruncateToMillis(SystemTime t);

// Milliseconds since the Unix epoch, for storage.
int64_t ToUnixMillis(SystemTime t);
SystemTime FromUnixMillis(int64_t ms);

}  // namespace jit
