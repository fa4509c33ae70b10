#include "jit/cli/terminal_text.h"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

namespace jit {
namespace {

struct DecodedCodePoint {
  char32_t value;
  size_t length;  // bytes
};

size_t SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // continuation byte, overlong lead (C0, C1) or above U+10FFFF
}

// Decodes one UTF-8 sequence at the start of `text`; nullopt when invalid
// (truncated, bad continuation, overlong, surrogate, above U+10FFFF).
std::optional<DecodedCodePoint> DecodeOne(std::string_view text) {
  const auto lead = static_cast<unsigned char>(text[0]);
  const size_t length = SequenceLength(lead);
  if (length == 0 || length > text.size()) return std::nullopt;
  if (length == 1) return DecodedCodePoint{lead, 1};
  char32_t value = lead & (0x7F >> length);
  for (size_t i = 1; i < length; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if ((byte & 0xC0) != 0x80) return std::nullopt;
    value = (value << 6) | (byte & 0x3F);
  }
  constexpr char32_t kMinForLength[] = {0, 0, 0x80, 0x800, 0x10000};
  if (value < kMinForLength[length]) return std::nullopt;
  if (value >= 0xD800 && value <= 0xDFFF) return std::nullopt;
  if (value > 0x10FFFF) return std::nullopt;
  return DecodedCodePoint{value, length};
}

bool IsUnsafeCodePoint(char32_t cp) {
  if (cp >= 0x80 && cp <= 0x9F) return true;  // C1 controls (CSI = 0x9B)
  if (cp == 0x061C || cp == 0x200E || cp == 0x200F) return true;  // marks
  if (cp >= 0x202A && cp <= 0x202E) return true;  // embeddings, overrides
  if (cp >= 0x2066 && cp <= 0x2069) return true;  // isolates
  return cp == 0x2028 || cp == 0x2029;            // line/paragraph separator
}

void AppendEscapedByte(unsigned char byte, std::string& out) {
  switch (byte) {
    case '\n':
      out += "\\n";
      return;
    case '\r':
      out += "\\r";
      return;
    case '\t':
      out += "\\t";
      return;
    default:
      out += fmt::format("\\x{:02x}", byte);
  }
}

}  // namespace

std::string SanitizeForTerminal(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    const std::optional<DecodedCodePoint> cp = DecodeOne(text.substr(i));
    if (!cp) {
      AppendEscapedByte(static_cast<unsigned char>(text[i]), out);
      ++i;
      continue;
    }
    if (cp->value < 0x20 || cp->value == 0x7F) {
      AppendEscapedByte(static_cast<unsigned char>(cp->value), out);
    } else if (IsUnsafeCodePoint(cp->value)) {
      out += fmt::format("\\u{:04X}", static_cast<uint32_t>(cp->value));
    } else {
      out.append(text.substr(i, cp->length));
    }
    i += cp->length;
  }
  return out;
}

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  size_t i = 0;
  while (i < text.size()) {
    const std::optional<DecodedCodePoint> cp = DecodeOne(text.substr(i));
    i += cp ? cp->length : 1;
    ++width;
  }
  return width;
}

std::string TruncateText(std::string_view text, size_t max_width) {
  if (DisplayWidth(text) <= max_width) return std::string(text);
  const std::string_view ellipsis = max_width >= 4 ? "..." : "";
  const size_t keep = max_width - ellipsis.size();
  size_t i = 0;
  for (size_t kept = 0; kept < keep && i < text.size(); ++kept) {
    const std::optional<DecodedCodePoint> cp = DecodeOne(text.substr(i));
    i += cp ? cp->length : 1;
  }
  return std::string(text.substr(0, i)) + std::string(ellipsis);
}

}  // namespace jit
