#include "jit/base/duration.h"

#include <date/date.h>

#include <array>
#include <cctype>
#include <sstream>

namespace jit {
namespace {

constexpr int64_t kMaxMillis = int64_t{10} * 366 * 24 * 3600 * 1000;

struct Unit {
  std::string_view name;
  int64_t millis;
};
// Ordered largest first; "ms" before "m" so the longer suffix wins.
constexpr std::array<Unit, 5> kUnits = {{{"d", 86'400'000},
                                         {"h", 3'600'000},
                                         {"ms", 1},
                                         {"m", 60'000},
                                         {"s", 1'000}}};
// Rank used to enforce d > h > m > s > ms order.
int Rank(std::string_view unit) {
  if (unit == "d") return 0;
  if (unit == "h") return 1;
  if (unit == "m") return 2;
  if (unit == "s") return 3;
  return 4;
}

// RFC 3339 allows any number of fraction digits (PostgreSQL and Python write
// microseconds) and a lower-case `t`/`z`; the parser below reads
// milliseconds with upper-case letters, so extra digits are cut (rounding
// down) and the letters raised first.
std::string NormalizeRfc3339(std::string_view text) {
  std::string s(text);
  if (s.size() > 10 && s[10] == 't') s[10] = 'T';
  if (!s.empty() && s.back() == 'z') s.back() = 'Z';
  size_t dot = s.find('.');
  if (dot == std::string::npos) return s;
  size_t end = dot + 1;
  while (end < s.size() && std::isdigit(static_cast<unsigned char>(s[end]))) {
    ++end;
  }
  if (end - dot - 1 > 3) s.erase(dot + 4, end - dot - 4);
  return s;
}

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)); }

// date::parse (3.0.1) converts the seconds of "%T" even when reading them
// failed ("00::00"), from an uninitialised variable: undefined behaviour
// (found by fuzzing). So only text of the RFC 3339 shape, normalised,
// reaches it: YYYY-MM-DDTHH:MM:SS[.f+](Z|+HH:MM|-HH:MM).
bool HasRfc3339Shape(std::string_view s) {
  constexpr std::string_view kShape = "dddd-dd-ddTdd:dd:dd";
  if (s.size() < kShape.size()) return false;
  for (size_t i = 0; i < kShape.size(); ++i) {
    if (kShape[i] == 'd' ? !IsDigit(s[i]) : s[i] != kShape[i]) return false;
  }
  std::string_view rest = s.substr(kShape.size());
  if (!rest.empty() && rest[0] == '.') {
    size_t n = 1;
    while (n < rest.size() && IsDigit(rest[n])) ++n;
    if (n == 1) return false;
    rest.remove_prefix(n);
  }
  if (rest == "Z") return true;
  return rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') &&
         IsDigit(rest[1]) && IsDigit(rest[2]) && rest[3] == ':' &&
         IsDigit(rest[4]) && IsDigit(rest[5]);
}

Status Bad(std::string_view text, std::string_view why) {
  return InvalidArgumentError("invalid duration \"" + std::string(text) +
                              "\": " + std::string(why) +
                              " (examples: 90s, 30m, 1h30m)");
}

}  // namespace

StatusOr<Duration> ParseDuration(std::string_view text) {
  if (text.empty()) return Bad(text, "empty");
  if (text.size() > 32) return Bad(text.substr(0, 32), "too long");
  int64_t total = 0;
  int last_rank = -1;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i]))) {
      return Bad(text, "expected a number");
    }
    int64_t n = 0;
    while (i < text.size() &&
           std::isdigit(static_cast<unsigned char>(text[i]))) {
      n = n * 10 + (text[i] - '0');
      if (n > kMaxMillis) return Bad(text, "too large");
      ++i;
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(i, u.name.size()) == u.name) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr) return Bad(text, "unknown or missing unit");
    i += unit->name.size();
    int rank = Rank(unit->name);
    if (rank <= last_rank) return Bad(text, "units repeated or out of order");
    last_rank = rank;
    if (n > kMaxMillis / unit->millis) return Bad(text, "too large");
    total += n * unit->millis;
    if (total > kMaxMillis) return Bad(text, "too large");
  }
  if (total == 0) return Bad(text, "must be positive");
  return Duration(total);
}

std::string FormatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms <= 0) return "0s";
  std::string out;
  const std::array<Unit, 5> order = {{{"d", 86'400'000},
                                      {"h", 3'600'000},
                                      {"m", 60'000},
                                      {"s", 1'000},
                                      {"ms", 1}}};
  for (const Unit& u : order) {
    if (ms >= u.millis) {
      out += std::to_string(ms / u.millis);
      out += u.name;
      ms %= u.millis;
    }
  }
  return out;
}

namespace {

// Writes `value` as exactly `width` decimal digits, zero-padded.
char* PutDigits(char* out, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

}  // namespace

// Into a fixed buffer rather than date::format, which builds an
// ostringstream and imbues a locale per call: that was a quarter of
// appending an audit event. SystemTime (64-bit nanoseconds) spans the years
// 1677..2262, so the year always has four digits.
std::string FormatTime(SystemTime t) {
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  auto day = std::chrono::floor<date::days>(ms);
  date::year_month_day ymd(day);
  date::hh_mm_ss<std::chrono::milliseconds> hms(ms - day);
  std::array<char, 24> text;  // 2026-11-23T19:00:00.000Z
  char* p = PutDigits(text.data(), static_cast<int>(ymd.year()), 4);
  *p++ = '-';
  p = PutDigits(p, static_cast<unsigned>(ymd.month()), 2);
  *p++ = '-';
  p = PutDigits(p, static_cast<unsigned>(ymd.day()), 2);
  *p++ = 'T';
  p = PutDigits(p, hms.hours().count(), 2);
  *p++ = ':';
  p = PutDigits(p, hms.minutes().count(), 2);
  *p++ = ':';
  p = PutDigits(p, hms.seconds().count(), 2);
  *p++ = '.';
  p = PutDigits(p, hms.subseconds().count(), 3);
  *p++ = 'Z';
  return std::string(text.data(), p);
}

StatusOr<SystemTime> ParseTime(std::string_view text) {
  if (text.size() > 40) return InvalidArgumentError("invalid time: too long");
  std::string s = NormalizeRfc3339(text);
  if (!HasRfc3339Shape(s)) {
    return InvalidArgumentError("invalid time \"" + std::string(text) +
                                "\": want RFC 3339, e.g. 2026-01-02T15:04:05Z");
  }
  for (const char* fmt : {"%FT%TZ", "%FT%T%Ez"}) {
    std::istringstream in(s);
    date::sys_time<std::chrono::milliseconds> tp;
    in >> date::parse(fmt, tp);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof()) {
      // SystemTime counts nanoseconds in 64 bits (years ~1678..2261); a
      // time outside would overflow the cast (found by fuzzing).
      constexpr auto kLimit =
          std::chrono::duration_cast<std::chrono::milliseconds>(
              SystemTime::duration::max());
      if (tp.time_since_epoch() > kLimit || tp.time_since_epoch() < -kLimit) {
        return InvalidArgumentError("invalid time \"" + std::string(text) +
                                    "\": out of range");
      }
      return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
          tp.time_since_epoch()));
    }
  }
  return InvalidArgumentError("invalid time \"" + std::string(text) +
                              "\": want RFC 3339, e.g. 2026-01-02T15:04:05Z");
}

SystemTime TruncateToMillis(SystemTime t) {
  return std::chrono::time_point_cast<SystemTime::duration>(
      std::chrono::floor<std::chrono::milliseconds>(t));
}

int64_t ToUnixMillis(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             t.time_since_epoch())
      .count();
}

SystemTime FromUnixMillis(int64_t ms) {
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::milliseconds(ms)));
}

}  // namespace jit
