#include "jit/base/crash_point.h"

#include <signal.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <optional>

namespace jit {
namespace {

// Written only by ArmCrashPoints (before threads start, or in a test that
// owns the process); read by Reached after seeing `armed`.
struct Armed {
  std::array<bool, kCrashPointNames.size()> points{};
  int64_t after = 1;
  double probability = 0;
};

Armed& TheArmed() {
  static Armed armed;
  return armed;
}

std::atomic<int64_t>& Hits() {
  static std::atomic<int64_t> hits{0};
  return hits;
}

// splitmix64 of (seed + hit number): reproducible per seed and hit order.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t& Seed() {
  static uint64_t seed = 1;
  return seed;
}

[[noreturn]] void Die(int index) {
  std::string_view name = kCrashPointNames[static_cast<size_t>(index)];
  std::string line = "jitd: crash point " + std::string(name) + " fired\n";
  // write(2) only: nothing buffered, nothing that takes a lock.
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
  raise(SIGKILL);
  std::_Exit(137);  // not reached: SIGKILL cannot be caught
}

std::vector<std::string> SplitNames(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

template <typename T>
StatusOr<T> ParseNumber(const char* variable, std::string_view text) {
  T value{};
  auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return InvalidArgumentError(std::string(variable) +
                                ": not a number: " + std::string(text));
  }
  return value;
}

std::optional<std::string_view> Env(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return std::nullopt;
  return std::string_view(v);
}

}  // namespace

namespace crash_point_internal {

void Reached(int index) {
  const Armed& a = TheArmed();
  if (!a.points[static_cast<size_t>(index)]) return;
  int64_t hit = Hits().fetch_add(1, std::memory_order_relaxed) + 1;
  if (a.probability > 0) {
    double draw =
        static_cast<double>(Mix(Seed() + static_cast<uint64_t>(hit)) >> 11) *
        0x1.0p-53;
    if (draw < a.probability) Die(index);
    return;
  }
  if (hit == a.after) Die(index);
}

}  // namespace crash_point_internal

Status ArmCrashPoints(const CrashPointSettings& settings) {
  if (settings.after < 1)
    return InvalidArgumentError("crash points: after must be at least 1");
  if (!(settings.probability >= 0 && settings.probability <= 1)) {
    return InvalidArgumentError("crash points: probability must lie in [0, 1]");
  }
  std::array<bool, kCrashPointNames.size()> points{};
  for (const std::string& name : settings.names) {
    if (name == "*") {
      points.fill(true);
      continue;
    }
    bool found = false;
    for (size_t i = 0; i < kCrashPointNames.size(); ++i) {
      if (kCrashPointNames[i] == name) points[i] = found = true;
    }
    if (!found)
      return InvalidArgumentError("crash points: unknown name " + name);
  }
  crash_point_internal::armed.store(false);
  Armed& a = TheArmed();
  a.points = points;
  a.after = settings.after;
  a.probability = settings.probability;
  Seed() = settings.seed;
  Hits().store(0);
  crash_point_internal::armed.store(!settings.names.empty());
  return OkStatus();
}

void DisarmCrashPoints() { (void)ArmCrashPoints(CrashPointSettings{}); }

StatusOr<CrashPointSettings> CrashPointSettingsFromEnvironment() {
  CrashPointSettings s;
  if (auto names = Env("JITD_CRASH_POINT")) s.names = SplitNames(*names);
  if (auto after = Env("JITD_CRASH_AFTER")) {
    auto n = ParseNumber<int64_t>("JITD_CRASH_AFTER", *after);
    if (!n.ok()) return n.status();
    s.after = *n;
  }
  if (auto p = Env("JITD_CRASH_PROBABILITY")) {
    auto n = ParseNumber<double>("JITD_CRASH_PROBABILITY", *p);
    if (!n.ok()) return n.status();
    s.probability = *n;
  }
  if (auto seed = Env("JITD_CRASH_SEED")) {
    auto n = ParseNumber<uint64_t>("JITD_CRASH_SEED", *seed);
    if (!n.ok()) return n.status();
    s.seed = *n;
  }
  return s;
}

Status ArmCrashPointsFromEnvironment() {
  StatusOr<CrashPointSettings> s = CrashPointSettingsFromEnvironment();
  if (!s.ok()) return s.status();
  Status armed = ArmCrashPoints(*s);
  if (!armed.ok())
    return InvalidArgumentError("JITD_CRASH_POINT: " + armed.message());
  return OkStatus();
}

}  // namespace jit
