#pragma once

#include <string>
#include <string_view>

namespace jit {

// A fresh random 128-bit id as 32 lower-case hex digits, with a short type
// prefix ("req_", "grt_") so ids are recognisable in logs. Uses the OS CSPRNG
// (OpenSSL RAND_bytes); thread-safe. Aborts if the CSPRNG fails: an
// unpredictable id is a security property, not a nicety.
std::string NewId(std::string_view prefix);

// Random bytes from the CSPRNG, hex-encoded (2 chars per byte).
std::string RandomHex(size_t bytes);

// True for text NewId could have produced with this prefix.
bool LooksLikeId(std::string_view text, std::string_view prefix);

}  // namespace jit
