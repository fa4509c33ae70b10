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

std::string FormatTime(SystemTime t) {
  auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  return date::format("%FT%TZ", ms);
}

StatusOr<SystemTime> ParseTime(std::string_view text) {
  if (text.size() > 40) return InvalidArgumentError("invalid time: too long");
  std::string s = NormalizeRfc3339(text);
  for (const char* fmt : {"%FT%TZ", "%FT%T%Ez"}) {
    std::istringstream in(s);
    date::sys_time<std::chrono::milliseconds> tp;
    in >> date::parse(fmt, tp);
    if (!in.fail() && in.peek() == std::char_traits<char>::eof()) {
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
