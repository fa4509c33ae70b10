#include "jit/cli/qr_text.h"

#include <gtest/gtest.h>

#include <sstream>

namespace jit {
namespace {

constexpr std::string_view kUri =
    "otpauth://totp/jitd:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"
    "issuer=jitd";

// The 7x7 finder pattern every QR code has in three corners.
bool FinderAt(const std::vector<std::vector<bool>>& m, int top, int left) {
  for (int r = 0; r < 7; ++r) {
    for (int c = 0; c < 7; ++c) {
      bool ring = r == 0 || r == 6 || c == 0 || c == 6;
      bool core = r >= 2 && r <= 4 && c >= 2 && c <= 4;
      if (m[top + r][left + c] != (ring || core)) return false;
    }
  }
  return true;
}

TEST(QrTextTest, ModulesFormARealQrCode) {
  auto m = QrModules(kUri);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const int size = static_cast<int>(m->size());
  EXPECT_EQ((size - 17) % 4, 0) << "size " << size;  // 17 + 4 * version
  EXPECT_GE(size, 21);
  for (const auto& row : *m) ASSERT_EQ(static_cast<int>(row.size()), size);
  EXPECT_TRUE(FinderAt(*m, 0, 0));
  EXPECT_TRUE(FinderAt(*m, 0, size - 7));
  EXPECT_TRUE(FinderAt(*m, size - 7, 0));
  EXPECT_FALSE(FinderAt(*m, size - 7, size - 7));
}

TEST(QrTextTest, DifferentDataGivesDifferentModules) {
  auto a = QrModules(kUri);
  auto b = QrModules(std::string(kUri) + "x");
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE(b.ok());
  EXPECT_NE(*a, *b);
}

// Reads the half blocks back into modules: the drawing holds exactly the
// code plus a light quiet zone of 4.
TEST(QrTextTest, TerminalTextDrawsEveryModuleWithAQuietZone) {
  auto m = QrModules(kUri);
  ASSERT_TRUE(m.ok());
  const int size = static_cast<int>(m->size());
  const int drawn = size + 8;
  std::istringstream lines(QrTerminalText(*m));
  std::vector<std::vector<bool>> back;
  for (std::string line; std::getline(lines, line);) {
    const std::string prefix = "\x1b[30;107m";
    const std::string suffix = "\x1b[0m";
    ASSERT_EQ(line.rfind(prefix, 0), 0u);
    ASSERT_GE(line.size(), prefix.size() + suffix.size());
    ASSERT_EQ(line.substr(line.size() - suffix.size()), suffix);
    std::string body =
        line.substr(prefix.size(), line.size() - prefix.size() - suffix.size());
    std::vector<bool> top, bottom;
    for (size_t i = 0; i < body.size();) {
      if (body[i] == ' ') {
        top.push_back(false);
        bottom.push_back(false);
        ++i;
        continue;
      }
      std::string glyph = body.substr(i, 3);
      top.push_back(glyph == "\u2588" || glyph == "\u2580");
      bottom.push_back(glyph == "\u2588" || glyph == "\u2584");
      ASSERT_TRUE(glyph == "\u2588" || glyph == "\u2580" || glyph == "\u2584")
          << "unexpected glyph at " << i;
      i += 3;
    }
    ASSERT_EQ(static_cast<int>(top.size()), drawn);
    back.push_back(top);
    back.push_back(bottom);
  }
  ASSERT_EQ(static_cast<int>(back.size()), drawn + drawn % 2);
  for (int r = 0; r < drawn; ++r) {
    for (int c = 0; c < drawn; ++c) {
      int mr = r - 4, mc = c - 4;
      bool want = mr >= 0 && mc >= 0 && mr < size && mc < size && (*m)[mr][mc];
      ASSERT_EQ(back[r][c], want) << "row " << r << " col " << c;
    }
  }
}

TEST(QrTextTest, OversizedOrNulDataIsRefused) {
  EXPECT_FALSE(QrModules(std::string(8000, 'x')).ok());
  EXPECT_FALSE(QrModules(std::string("a\0b", 3)).ok());
}

}  // namespace
}  // namespace jit
