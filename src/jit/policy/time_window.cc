#include "jit/policy/time_window.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <array>
#include <stdexcept>

namespace jit::policy_internal {
namespace {

constexpr int kMinutesPerDay = 24 * 60;

// Names in the order descriptions list them, with their c_encoding.
struct DayName {
  std::string_view name;
  unsigned c_encoding;
};
constexpr std::array<DayName, 7> kDays = {{{"mon", 1},
                                           {"tue", 2},
                                           {"wed", 3},
                                           {"thu", 4},
                                           {"fri", 5},
                                           {"sat", 6},
                                           {"sun", 0}}};

std::string DescribeDays(uint8_t mask) {
  if (mask == 0x7f) return "every day";
  std::string out;
  for (const DayName& d : kDays) {
    if ((mask & (1u << d.c_encoding)) == 0) continue;
    if (!out.empty()) out += ",";
    out += d.name;
  }
  return out;
}

std::string FormatClock(int minute) {
  return fmt::format("{:02}:{:02}", minute / 60, minute % 60);
}

}  // namespace

StatusOr<uint8_t> ParseDays(const std::vector<std::string>& days) {
  if (days.empty()) return uint8_t{0x7f};
  uint8_t mask = 0;
  for (const std::string& day : days) {
    const DayName* found = nullptr;
    for (const DayName& d : kDays) {
      if (d.name == day) found = &d;
    }
    if (found == nullptr) {
      return InvalidArgumentError(fmt::format(
          "unknown day \"{}\" (use mon, tue, wed, thu, fri, sat, sun)", day));
    }
    uint8_t bit = static_cast<uint8_t>(1u << found->c_encoding);
    if ((mask & bit) != 0) {
      return InvalidArgumentError(fmt::format("day \"{}\" listed twice", day));
    }
    mask |= bit;
  }
  return mask;
}

StatusOr<const date::time_zone*> LocateTimeZone(std::string_view name) {
  try {
    const date::time_zone* zone = date::locate_zone(name);
    // The OS tz database reads a zone's rules on first use; do it here so
    // that Contains() never touches the disk.
    (void)zone->get_info(date::sys_seconds{});
    return zone;
  } catch (const std::runtime_error&) {  // what the tz library throws
    return InvalidArgumentError(fmt::format("unknown time zone \"{}\"", name));
  }
}

StatusOr<int> ParseClockTime(std::string_view text, WindowEdge edge) {
  auto bad = [&] {
    return InvalidArgumentError(
        fmt::format("\"{}\" is not a time of day HH:MM (00:00 to {})", text,
                    edge == WindowEdge::kTo ? "24:00" : "23:59"));
  };
  auto digit = [&](size_t i) { return text[i] >= '0' && text[i] <= '9'; };
  if (text.size() != 5 || text[2] != ':') return bad();
  if (!digit(0) || !digit(1) || !digit(3) || !digit(4)) return bad();
  int hours = (text[0] - '0') * 10 + (text[1] - '0');
  int minutes = (text[3] - '0') * 10 + (text[4] - '0');
  int total = hours * 60 + minutes;
  if (minutes > 59) return bad();
  if (total < kMinutesPerDay) return total;
  if (total == kMinutesPerDay && edge == WindowEdge::kTo) return total;
  return bad();
}

StatusOr<TimeWindow> TimeWindow::Make(uint8_t days_mask, int from_minute,
                                      int to_minute,
                                      const date::time_zone* zone) {
  if (from_minute == to_minute) {
    return InvalidArgumentError(
        fmt::format("from and to are equal ({}): the window is empty",
                    FormatClock(from_minute)));
  }
  TimeWindow w;
  w.days_mask_ = days_mask;
  w.from_minute_ = from_minute;
  w.to_minute_ = to_minute;
  w.zone_ = zone;
  w.description_ = fmt::format("{} {}-{} {}", DescribeDays(days_mask),
                               FormatClock(from_minute), FormatClock(to_minute),
                               zone->name());
  return w;
}

bool TimeWindow::HasDay(unsigned c_encoding) const {
  return (days_mask_ & (1u << c_encoding)) != 0;
}

bool TimeWindow::Contains(SystemTime t) const {
  auto local = zone_->to_local(std::chrono::floor<std::chrono::seconds>(t));
  auto day = std::chrono::floor<date::days>(local);
  int minute = static_cast<int>(
      std::chrono::floor<std::chrono::minutes>(local - day).count());
  unsigned today = date::weekday(day).c_encoding();
  unsigned yesterday = date::weekday(day - date::days{1}).c_encoding();
  if (from_minute_ < to_minute_) {
    return HasDay(today) && minute >= from_minute_ && minute < to_minute_;
  }
  // Wraps past midnight: the evening part belongs to today, the morning part
  // to the day the window started on.
  if (HasDay(today) && minute >= from_minute_) return true;
  return HasDay(yesterday) && minute < to_minute_;
}

}  // namespace jit::policy_internal
