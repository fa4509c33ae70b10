#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace date {
class time_zone;
}

namespace jit::policy_internal {

// A weekly span of local time in one time zone, e.g. mon-fri 08:00-20:00
// Europe/Berlin. [from, to) in minutes after local midnight; when from > to
// the span wraps past midnight and belongs to the day it starts on (fri
// 22:00-06:00 covers Friday 22:00 to Saturday 06:00). Immutable; the zone
// points into the process-wide, immutable tz database.
class TimeWindow {
 public:
  // `days_mask` from ParseDays, minutes from ParseClockTime, `zone` from
  // LocateTimeZone (not null). Errors: kInvalidArgument "from and to are
  // equal" (an empty window).
  static StatusOr<TimeWindow> Make(uint8_t days_mask, int from_minute,
                                   int to_minute, const date::time_zone* zone);

  // True when `t` falls inside the window, in the window's zone (daylight
  // saving time applies).
  bool Contains(SystemTime t) const;
  // "mon,tue 08:00-20:00 Europe/Berlin" or "every day 22:00-06:00 UTC".
  const std::string& description() const { return description_; }

 private:
  TimeWindow() = default;
  bool HasDay(unsigned c_encoding) const;

  uint8_t days_mask_ = 0;  // bit n = weekday with c_encoding n (0 = Sunday)
  int from_minute_ = 0;
  int to_minute_ = 0;
  const date::time_zone* zone_ = nullptr;
  std::string description_;
};

// Parses day names "mon".."sun" into a mask (bit n = weekday with
// c_encoding n); an empty list means every day. Errors: kInvalidArgument for
// an unknown or repeated day.
StatusOr<uint8_t> ParseDays(const std::vector<std::string>& days);

// Finds an IANA zone ("Europe/Berlin", "UTC") in the tz database.
// Errors: kInvalidArgument "unknown time zone".
StatusOr<const date::time_zone*> LocateTimeZone(std::string_view name);

enum class WindowEdge { kFrom, kTo };

// Parses "HH:MM" (00:00..23:59, and "24:00" for kTo) into minutes after
// midnight. Errors: kInvalidArgument.
StatusOr<int> ParseClockTime(std::string_view text, WindowEdge edge);

}  // namespace jit::policy_internal
