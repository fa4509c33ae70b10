#include "jit/cli/terminal_text.h"

#include <gtest/gtest.h>

#include <string>

namespace jit {
namespace {

TEST(SanitizeForTerminalTest, KeepsPrintableTextIncludingNonAscii) {
  const std::string text = "Zürich 東京 ✓ <!channel> 'x'; DROP TABLE";
  EXPECT_EQ(SanitizeForTerminal(text), text);
}

TEST(SanitizeForTerminalTest, EscapesAnsiEscapeSequences) {
  EXPECT_EQ(SanitizeForTerminal("\x1b[2J\x1b]0;owned\x07ok"),
            "\\x1b[2J\\x1b]0;owned\\x07ok");
}

TEST(SanitizeForTerminalTest, EscapesLineBreaksTabsAndDelete) {
  EXPECT_EQ(SanitizeForTerminal("a\nb\rc\td\x7f"), "a\\nb\\rc\\td\\x7f");
}

TEST(SanitizeForTerminalTest, EscapesNulByte) {
  EXPECT_EQ(SanitizeForTerminal(std::string("a\0b", 3)), "a\\x00b");
}

TEST(SanitizeForTerminalTest, EscapesEveryBidiOverrideAndIsolate) {
  const struct {
    const char* utf8;
    const char* escaped;
  } kCases[] = {
      {"\u202A", "\\u202A"}, {"\u202B", "\\u202B"}, {"\u202C", "\\u202C"},
      {"\u202D", "\\u202D"}, {"\u202E", "\\u202E"}, {"\u2066", "\\u2066"},
      {"\u2067", "\\u2067"}, {"\u2068", "\\u2068"}, {"\u2069", "\\u2069"},
      {"\u200E", "\\u200E"}, {"\u200F", "\\u200F"}, {"\u061C", "\\u061C"},
      {"\u2028", "\\u2028"}, {"\u2029", "\\u2029"},
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(SanitizeForTerminal(std::string("x") + c.utf8 + "y"),
              std::string("x") + c.escaped + "y")
        << c.escaped;
  }
}

TEST(SanitizeForTerminalTest, RtlOverrideCannotReorderJustification) {
  // "fix \u202Egnp.exe" would display as "fix exe.png".
  EXPECT_EQ(SanitizeForTerminal("fix \u202Egnp.exe"), "fix \\u202Egnp.exe");
}

TEST(SanitizeForTerminalTest, KeepsCharactersNextToTheBidiRanges) {
  EXPECT_EQ(SanitizeForTerminal("\u2029\u202F\u2065\u206A"),
            "\\u2029\u202F\u2065\u206A");
}

TEST(SanitizeForTerminalTest, EscapesC1ControlsSuchAsSingleByteCsi) {
  EXPECT_EQ(SanitizeForTerminal("a\xc2\x9b"
                                "31mb\xc2\x85"),
            "a\\u009B31mb\\u0085");
}

TEST(SanitizeForTerminalTest, EscapesEachByteOfInvalidUtf8) {
  EXPECT_EQ(SanitizeForTerminal("\xff"), "\\xff");
  EXPECT_EQ(SanitizeForTerminal("a\xe2\x80"), "a\\xe2\\x80");  // truncated
  EXPECT_EQ(SanitizeForTerminal("\xc0\xaf"), "\\xc0\\xaf");    // overlong
  EXPECT_EQ(SanitizeForTerminal("\xed\xa0\x80"),
            "\\xed\\xa0\\x80");  // surrogate
  EXPECT_EQ(SanitizeForTerminal("\xf4\x90\x80\x80"),
            "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
}

TEST(SanitizeForTerminalTest, InvalidLeadByteDoesNotSwallowTheNextCharacter) {
  EXPECT_EQ(SanitizeForTerminal("\xe2\x1b[1m"), "\\xe2\\x1b[1m");
}

TEST(DisplayWidthTest, CountsCodePointsNotBytes) {
  EXPECT_EQ(DisplayWidth("abc"), 3u);
  EXPECT_EQ(DisplayWidth("Zürich"), 6u);
  EXPECT_EQ(DisplayWidth("\xff\xfe"), 2u);
}

TEST(TruncateTextTest, LeavesShortTextAlone) {
  EXPECT_EQ(TruncateText("short", 40), "short");
  EXPECT_EQ(TruncateText(std::string(40, 'a'), 40), std::string(40, 'a'));
}

TEST(TruncateTextTest, CutsLongTextToWidthWithEllipsis) {
  const std::string cut = TruncateText(std::string(41, 'a'), 40);
  EXPECT_EQ(cut, std::string(37, 'a') + "...");
  EXPECT_EQ(DisplayWidth(cut), 40u);
}

TEST(TruncateTextTest, NeverSplitsAMultiByteCharacter) {
  const std::string cut = TruncateText("üüüüüüüüüü", 6);
  EXPECT_EQ(cut, "üüü...");
  EXPECT_EQ(SanitizeForTerminal(cut), cut);  // still valid UTF-8
}

}  // namespace
}  // namespace jit
