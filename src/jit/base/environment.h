#pragma once

#include "jit/base/clock.h"
#include "jit/base/command_runner.h"

namespace jit {

// Every door to the outside world; built in server/, outlives its users.
struct Environment {
  Clock& clock;             // Now(): UTC, stored; MonotonicNow(): waiting only
  CommandRunner& commands;  // fork/exec, timeout, captured output
};

}  // namespace jit
