#pragma once

#include <filesystem>

#include "jit/base/clock.h"
#include "jit/base/command_runner.h"

namespace jit {

// Every door to the outside world; built in server/, outlives its users.
struct Environment {
  Clock& clock;             // Now(): UTC, stored; MonotonicNow(): waiting only
  CommandRunner& commands;  // fork/exec, timeout, captured output
  // jitd's data_dir (keys a connector creates on first start live here);
  // empty in tests that need none.
  std::filesystem::path data_dir;
};

}  // namespace jit
