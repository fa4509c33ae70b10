#pragma once

#include <chrono>
#include <string_view>

#include "jit/base/status.h"
#include "jit/connectors/connector.h"

namespace jit {

// Time left to `deadline`, or kDeadlineExceeded naming `context` when none
// is left. For connectors that hand a time budget to a child process or a
// poll.
StatusOr<std::chrono::milliseconds> TimeLeft(Deadline deadline,
                                             std::string_view context);

}  // namespace jit
