#include "jit/base/html.h"

#include <gtest/gtest.h>

namespace jit {
namespace {

TEST(HtmlEscapeTest, ReplacesMarkupCharacters) {
  EXPECT_EQ(HtmlEscape("a&<>\"'"), "a&amp;&lt;&gt;&quot;&#39;");
  EXPECT_EQ(HtmlEscape("<script>alert(1)</script>"),
            "&lt;script&gt;alert(1)&lt;/script&gt;");
  EXPECT_EQ(HtmlEscape(""), "");
}

TEST(HtmlEscapeTest, BidirectionalControlsBecomeReplacementCharacters) {
  EXPECT_EQ(HtmlEscape("fix \u202Egnp.exe \u2066x\u2069 \u00e9"),
            "fix \ufffdgnp.exe \ufffdx\ufffd \u00e9");
  EXPECT_EQ(HtmlEscape("\u202A\u202B\u202C\u202D\u202E\u2066\u2067\u2068"),
            "\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd\ufffd");
  // Neighbours of the ranges are left alone, as is a cut-off sequence.
  EXPECT_EQ(HtmlEscape("\u2029\u202F\u2065\u206A"), "\u2029\u202F\u2065\u206A");
  EXPECT_EQ(HtmlEscape("x\xe2\x80"), "x\xe2\x80");
}

}  // namespace
}  // namespace jit
