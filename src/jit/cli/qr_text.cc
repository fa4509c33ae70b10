#include "jit/cli/qr_text.h"

#include <qrencode.h>

#include <memory>

namespace jit {
namespace {

constexpr int kQuietZone = 4;
// Foreground black (dark modules), background bright white (light ones).
constexpr std::string_view kColors = "\x1b[30;107m";
constexpr std::string_view kReset = "\x1b[0m";

bool DarkAt(const std::vector<std::vector<bool>>& m, int row, int col) {
  int size = static_cast<int>(m.size());
  if (row < 0 || col < 0 || row >= size || col >= size) return false;
  return m[row][col];
}

std::string_view HalfBlock(bool top_dark, bool bottom_dark) {
  if (top_dark && bottom_dark) return "\u2588";  // full block
  if (top_dark) return "\u2580";                 // upper half
  if (bottom_dark) return "\u2584";              // lower half
  return " ";
}

}  // namespace

StatusOr<std::vector<std::vector<bool>>> QrModules(std::string_view data) {
  if (data.find('\0') != std::string_view::npos)
    return InvalidArgumentError("QR data holds a NUL byte");
  std::string text(data);
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(text.c_str(), /*version=*/0, QR_ECLEVEL_M),
      &QRcode_free);
  if (code == nullptr)
    return InvalidArgumentError("data too long for a QR code");
  std::vector<std::vector<bool>> out(code->width,
                                     std::vector<bool>(code->width, false));
  for (int row = 0; row < code->width; ++row) {
    for (int col = 0; col < code->width; ++col) {
      // Bit 0 of each byte is the module's color; the rest is bookkeeping.
      out[row][col] = (code->data[row * code->width + col] & 1) != 0;
    }
  }
  return out;
}

std::string QrTerminalText(const std::vector<std::vector<bool>>& modules) {
  const int size = static_cast<int>(modules.size());
  const int first = -kQuietZone;
  const int last = size + kQuietZone;  // exclusive
  std::string out;
  for (int row = first; row < last; row += 2) {
    out += kColors;
    for (int col = first; col < last; ++col) {
      out +=
          HalfBlock(DarkAt(modules, row, col), DarkAt(modules, row + 1, col));
    }
    out += kReset;
    out += '\n';
  }
  return out;
}

}  // namespace jit
