#pragma once

#include <string>
#include <string_view>

#include "jit/base/clock.h"

namespace jit {

// How far `t` is from `now` in at most two units: "in 14m", "in 1h5m",
// "3m20s ago", "2d4h ago"; "now" within a second. Pure.
std::string RelativeTime(SystemTime t, SystemTime now);

// An RFC 3339 time from the server followed by its distance from `now`,
// e.g. "2026-11-23T19:00:00.000Z (in 14m)"; just the text when it does not
// parse, "" for "". Pure.
std::string TimeWithRelative(std::string_view rfc3339, SystemTime now);

}  // namespace jit
