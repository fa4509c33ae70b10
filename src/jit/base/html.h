#pragma once

#include <string>
#include <string_view>

namespace jit {

// `text` for HTML text and attribute values: & < > " ' replaced by
// entities, and the bidirectional controls U+202A..U+202E and
// U+2066..U+2069 (which would let text display reversed, THREATS T16)
// replaced by U+FFFD. Pure.
std::string HtmlEscape(std::string_view text);

}  // namespace jit
