#include "pam/pam_args.h"

#include <charconv>
#include <set>
#include <string_view>

namespace jit::pam {
namespace {

constexpr long kMaxTimeoutMs = 60000;
constexpr size_t kMaxSocketPath = 107;  // sun_path minus the NUL

ParsedArgs Error(std::string why) { return ParsedArgs{std::nullopt, why}; }

bool ParseTimeout(std::string_view text, std::chrono::milliseconds& out) {
  long ms = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), ms);
  if (ec != std::errc() || end != text.data() + text.size()) return false;
  if (ms < 1 || ms > kMaxTimeoutMs) return false;
  out = std::chrono::milliseconds(ms);
  return true;
}

ParsedArgs Parse(int argc, const char** argv) {
  PamJitArgs out;
  std::set<std::string_view> seen;
  for (int i = 0; i < argc; ++i) {
    std::string_view arg = argv[i] == nullptr ? "" : argv[i];
    size_t eq = arg.find('=');
    std::string_view key = arg.substr(0, eq);
    std::string_view value =
        eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    if (eq == std::string_view::npos) {
      return Error("argument \"" + std::string(arg) + "\" is not key=value");
    }
    if (!seen.insert(key).second) {
      return Error("argument \"" + std::string(key) + "\" given twice");
    }
    if (key == "socket") {
      if (value.empty() || value.size() > kMaxSocketPath || value[0] != '/') {
        return Error("socket= must be an absolute path of at most 107 bytes");
      }
      out.socket = value;
    } else if (key == "connector") {
      if (value.empty()) return Error("connector= must not be empty");
      out.connector = value;
    } else if (key == "timeout_ms") {
      if (!ParseTimeout(value, out.timeout)) {
        return Error("timeout_ms= must be a whole number from 1 to 60000");
      }
    } else {
      return Error("unknown argument \"" + std::string(key) +
                   "\" (known: socket, connector, timeout_ms)");
    }
  }
  if (out.connector.empty()) return Error("connector= is required");
  return ParsedArgs{out, ""};
}

}  // namespace

ParsedArgs ParsePamArgs(int argc, const char** argv) noexcept {
  try {
    return Parse(argc, argv);
  } catch (const std::exception&) {
    // Only allocation can fail here; a short literal fits in the string
    // without allocating, so this cannot throw again.
    return ParsedArgs{std::nullopt, "out of memory"};
  }
}

}  // namespace jit::pam
