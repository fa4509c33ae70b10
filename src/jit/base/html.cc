#include "jit/base/html.h"

namespace jit {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    // Bidirectional controls (U+202A..U+202E, U+2066..U+2069) would let a
    // justification display reversed (THREATS T16): shown as U+FFFD.
    if (c == '\xe2' && i + 2 < text.size() &&
        ((text[i + 1] == '\x80' && text[i + 2] >= '\xaa' &&
          text[i + 2] <= '\xae') ||
         (text[i + 1] == '\x81' && text[i + 2] >= '\xa6' &&
          text[i + 2] <= '\xa9'))) {
      out += "\xef\xbf\xbd";
      i += 2;
      continue;
    }
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace jit
