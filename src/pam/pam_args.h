#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace jit::pam {

// pam_jit.so's module arguments:
//   socket=PATH      jitd's enforcement socket (default /run/jitd/check.sock)
//   connector=NAME   the jitd connector whose grants count (required)
//   timeout_ms=N     whole exchange budget, 1..60000 (default 1500)
struct PamJitArgs {
  std::string socket = "/run/jitd/check.sock";
  std::string connector;
  std::chrono::milliseconds timeout{1500};
};

// `args`, or why they are unusable (unknown or repeated keys, bad numbers,
// a missing connector). Never throws.
struct ParsedArgs {
  std::optional<PamJitArgs> args;
  std::string error;
};
ParsedArgs ParsePamArgs(int argc, const char** argv) noexcept;

}  // namespace jit::pam
