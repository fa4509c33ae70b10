#include "jit/connectors/common/deadline.h"

#include <string>

namespace jit {

StatusOr<std::chrono::milliseconds> TimeLeft(Deadline deadline,
                                             std::string_view context) {
  auto left = std::chrono::floor<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left <= std::chrono::milliseconds::zero()) {
    return DeadlineExceededError(std::string(context) +
                                 ": deadline already passed");
  }
  return left;
}

}  // namespace jit
