#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace jit {

// Lower-case hex of `size` bytes at `data` (2 characters per byte).
std::string HexEncode(const unsigned char* data, size_t size);

// Lower-case hex SHA-256 of `data` (64 characters). Thread-safe.
std::string Sha256Hex(std::string_view data);

}  // namespace jit
