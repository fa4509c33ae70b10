#pragma once

#include <string>
#include <string_view>

#include "jit/base/status.h"

namespace jit {

// base64url without padding (RFC 7515 section 2), as in JWS and JWK.
// Decoding is strict: only [A-Za-z0-9_-], no '=', no whitespace, and a
// length that base64 can produce; kInvalidArgument otherwise.
StatusOr<std::string> Base64UrlDecode(std::string_view text);
std::string Base64UrlEncode(std::string_view bytes);

}  // namespace jit
