#include "jit/identity/base64url.h"

#include <gtest/gtest.h>

namespace jit {
namespace {

TEST(Base64UrlTest, RoundTripsEveryLength) {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    std::string encoded = Base64UrlEncode(bytes);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos) << encoded;
    StatusOr<std::string> back = Base64UrlDecode(encoded);
    ASSERT_TRUE(back.ok()) << encoded;
    EXPECT_EQ(*back, bytes);
    bytes.push_back(static_cast<char>(0xf8 + i % 8));
  }
}

TEST(Base64UrlTest, DecodesTheUrlAlphabet) {
  EXPECT_EQ(*Base64UrlDecode("-_8"), "\xfb\xff");
  EXPECT_EQ(*Base64UrlDecode("eyJhIjoxfQ"), "{\"a\":1}");
}

TEST(Base64UrlTest, RefusesPaddingStandardAlphabetAndJunk) {
  for (const char* bad : {"eyJhIjoxfQ==", "+/8", "ab cd", "ab\ncd", "A",
                          "abcde", "%41", "ab.c", "-_9"}) {
    EXPECT_EQ(Base64UrlDecode(bad).status().code(),
              StatusCode::kInvalidArgument)
        << bad;
  }
}

}  // namespace
}  // namespace jit
