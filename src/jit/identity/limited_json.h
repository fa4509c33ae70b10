#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "jit/base/status.h"

namespace jit {

// Parses `text` as one JSON object nested at most `max_depth` levels
// (the object itself is level 1). Never throws. kInvalidArgument naming
// `what`: not JSON, not an object, or nested too deep (a JSON bomb).
StatusOr<nlohmann::json> ParseJsonObject(std::string_view text, int max_depth,
                                         std::string_view what);

}  // namespace jit
