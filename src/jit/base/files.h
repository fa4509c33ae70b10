#pragma once

#include <filesystem>
#include <string_view>

#include "jit/base/status.h"

namespace jit {

// Writes `bytes` to `path` atomically: a temp file in the same directory,
// fsync, chmod `mode`, rename over `path`, fsync of the directory.
// kUnavailable on failure (the old file is left as it was). Thread-safe for
// different paths.
Status WriteFileAtomically(const std::filesystem::path& path,
                           std::string_view bytes, std::filesystem::perms mode);

}  // namespace jit
