#include "jit/cli/time_text.h"

#include <fmt/format.h>

#include <array>
#include <chrono>

#include "jit/base/duration.h"

namespace jit {
namespace {

struct Unit {
  std::chrono::seconds length;
  const char* suffix;
};

// The two largest non-zero units of `seconds`, e.g. 3900 -> "1h5m".
std::string CoarseDuration(std::chrono::seconds seconds) {
  constexpr std::array<Unit, 4> kUnits = {{
      {std::chrono::hours(24), "d"},
      {std::chrono::hours(1), "h"},
      {std::chrono::minutes(1), "m"},
      {std::chrono::seconds(1), "s"},
  }};
  std::string text;
  int shown = 0;
  for (const Unit& unit : kUnits) {
    const auto count = seconds / unit.length;
    if (shown > 0) ++shown;  // a zero unit after the first still counts
    if (count == 0) continue;
    if (shown == 0) shown = 1;
    if (shown > 2) break;
    text += fmt::format("{}{}", count, unit.suffix);
    seconds -= count * unit.length;
  }
  return text;
}

}  // namespace

std::string RelativeTime(SystemTime t, SystemTime now) {
  const auto delta = std::chrono::duration_cast<std::chrono::seconds>(t - now);
  if (delta.count() == 0) return "now";
  if (delta.count() > 0) return "in " + CoarseDuration(delta);
  return CoarseDuration(-delta) + " ago";
}

std::string TimeWithRelative(std::string_view rfc3339, SystemTime now) {
  if (rfc3339.empty()) return "";
  StatusOr<SystemTime> t = ParseTime(rfc3339);
  if (!t.ok()) return std::string(rfc3339);
  return fmt::format("{} ({})", rfc3339, RelativeTime(*t, now));
}

}  // namespace jit
