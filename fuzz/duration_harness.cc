// Properties: ParseDuration accepts only positive totals up to 10 years and
// whatever it accepts, FormatDuration writes back as text that parses to the
// same value (and formats the same again). ParseTime likewise round-trips
// through FormatTime at millisecond precision. Any 8 bytes read as a count
// of milliseconds in range format to text that parses back.
#include <chrono>
#include <cstring>
#include <string>
#include <string_view>

#include "harness.h"
#include "jit/base/duration.h"

namespace jit::fuzz {
namespace {

constexpr Duration kTenYears = std::chrono::hours(24 * 366 * 10);

void CheckDurationText(std::string_view text) {
  StatusOr<Duration> d = ParseDuration(text);
  if (!d.ok()) {
    Check(!d.status().message().empty(), "duration error without a message");
    return;
  }
  Check(d->count() > 0, "ParseDuration accepted a zero or negative total");
  Check(*d <= kTenYears, "ParseDuration accepted more than 10 years");
  std::string formatted = FormatDuration(*d);
  StatusOr<Duration> again = ParseDuration(formatted);
  Check(again.ok(), "FormatDuration wrote text ParseDuration refuses");
  Check(*again == *d, "parse(format(d)) != d");
  Check(FormatDuration(*again) == formatted, "format is not canonical");
}

void CheckDurationValue(std::string_view bytes) {
  if (bytes.size() < 8) return;
  int64_t raw = 0;
  std::memcpy(&raw, bytes.data(), sizeof(raw));
  int64_t ms = static_cast<int64_t>(static_cast<uint64_t>(raw) %
                                    static_cast<uint64_t>(kTenYears.count())) +
               1;
  Duration d(ms);
  StatusOr<Duration> parsed = ParseDuration(FormatDuration(d));
  Check(parsed.ok(), "FormatDuration of an in-range value does not parse");
  Check(*parsed == d, "parse(format(d)) != d for a generated value");
}

void CheckTimeText(std::string_view text) {
  StatusOr<SystemTime> t = ParseTime(text);
  if (!t.ok()) {
    Check(!t.status().message().empty(), "time error without a message");
    return;
  }
  std::string formatted = FormatTime(*t);
  StatusOr<SystemTime> again = ParseTime(formatted);
  Check(again.ok(), "FormatTime wrote text ParseTime refuses");
  Check(*again == TruncateToMillis(*t), "parse(format(t)) != t");
  Check(FormatTime(*again) == formatted, "FormatTime is not stable");
  Check(FromUnixMillis(ToUnixMillis(*again)) == *again,
        "unix millis do not round-trip");
}

}  // namespace

void FuzzDuration(std::span<const uint8_t> data) {
  std::string_view text(reinterpret_cast<const char*>(data.data()),
                        data.size());
  CheckDurationText(text);
  CheckDurationValue(text);
  CheckTimeText(text);
}

}  // namespace jit::fuzz
