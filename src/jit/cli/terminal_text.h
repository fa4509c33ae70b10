#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace jit {

// Makes text received from a server safe to print on a terminal (THREATS
// T16): a justification or name must not move the cursor, change colours,
// clear the screen or reorder what is shown. Replaces
//   - C0 controls and DEL: "\n", "\r", "\t" or "\xNN";
//   - C1 controls (U+0080..U+009F), Unicode bidi controls (U+061C, U+200E,
//     U+200F, U+202A..U+202E, U+2066..U+2069) and line/paragraph separators
//     (U+2028, U+2029): "\uXXXX";
//   - bytes that are not valid UTF-8: "\xNN" each.
// Everything else, including printable non-ASCII text, is kept. Pure.
std::string SanitizeForTerminal(std::string_view text);

// Number of code points in valid UTF-8 `text` (each invalid byte counts as
// one). Used as the display width of sanitized text. Pure.
size_t DisplayWidth(std::string_view text);

// Cuts `text` to at most `max_width` code points, ending with "..." when it
// was cut (the result then has exactly `max_width` code points). Never
// splits a code point. `max_width` below 4 cuts without the ellipsis. Pure.
std::string TruncateText(std::string_view text, size_t max_width);

}  // namespace jit
