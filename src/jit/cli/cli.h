#pragma once

#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include "jit/base/clock.h"

namespace jit {

// Everything `jit` reads from the outside world besides the network and the
// files named on its command line, so tests can run it in-process.
struct CliEnv {
  // Environment variable lookup (JIT_SERVER, JIT_TOKEN); nullopt when unset.
  std::function<std::optional<std::string>(const std::string& name)> get_env;
  // Home directory holding .config/jit/config; empty means no config file.
  std::string home_dir;
  // Now() for "expires in 14m" and `policy explain`; MonotonicNow() bounds
  // `request --wait`.
  const Clock& clock;
  // Waits between polls (`request --wait`, `audit tail -f` without SSE).
  std::function<void(Duration)> sleep;
  // Checked between reconnects and polls of `audit tail -f`; true ends it
  // with exit 0. The real CLI never stops on its own (Ctrl-C ends it).
  std::function<bool()> stop_requested;
  // Shows `prompt` and reads one line typed at the terminal (a TOTP code);
  // unset, or nullopt, when nobody is there to ask (scripts, tests).
  std::function<std::optional<std::string>(const std::string& prompt)>
      read_line = {};
};

// Exit codes of RunCli.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // server error, denied, not active
inline constexpr int kExitUsage = 2;    // bad arguments or no server config

// Runs the `jit` command line (DESIGN.md "CLI") with `argv[0]` the program
// name: parses, talks to the server named by --server, JIT_SERVER or
// ~/.config/jit/config, and writes results to `out`, diagnostics to `err`.
// Server text shown as a table or message is sanitized (THREATS T16);
// --json prints the server's JSON, re-encoded as ASCII. Returns the exit
// code. Never throws. Thread-compatible: concurrent calls need separate
// streams.
int RunCli(int argc, const char* const* argv, std::ostream& out,
           std::ostream& err, const CliEnv& env);

}  // namespace jit
