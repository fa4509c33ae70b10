#include "jit/base/ids.h"

#include <set>
#include <string>

#include "gtest/gtest.h"

namespace jit {
namespace {

TEST(NewIdTest, HasPrefixAnd32LowerHexDigits) {
  std::string id = NewId("req_");
  ASSERT_EQ(id.size(), 4u + 32u);
  EXPECT_EQ(id.substr(0, 4), "req_");
  for (char c : id.substr(4)) {
    EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << id;
  }
  EXPECT_TRUE(LooksLikeId(id, "req_"));
}

TEST(NewIdTest, IdsDoNotRepeat) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(NewId("grt_"));
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(RandomHexTest, WritesTwoCharsPerByte) {
  EXPECT_EQ(RandomHex(0), "");
  EXPECT_EQ(RandomHex(1).size(), 2u);
  EXPECT_EQ(RandomHex(32).size(), 64u);
  EXPECT_NE(RandomHex(16), RandomHex(16));
}

TEST(LooksLikeIdTest, RefusesWhatNewIdCannotProduce) {
  const std::string hex32 = "0123456789abcdef0123456789abcdef";
  EXPECT_TRUE(LooksLikeId("req_" + hex32, "req_"));
  EXPECT_FALSE(LooksLikeId("grt_" + hex32, "req_"));            // other prefix
  EXPECT_FALSE(LooksLikeId("req_" + hex32 + "0", "req_"));      // too long
  EXPECT_FALSE(LooksLikeId("req_" + hex32.substr(1), "req_"));  // too short
  EXPECT_FALSE(LooksLikeId("req_0123456789ABCDEF0123456789abcdef", "req_"));
  EXPECT_FALSE(LooksLikeId("req_0123456789abcdeg0123456789abcdef", "req_"));
  EXPECT_FALSE(LooksLikeId("req_../../../etc/passwd/0123456789ab", "req_"));
  EXPECT_FALSE(LooksLikeId("", "req_"));
}

}  // namespace
}  // namespace jit

#include "jit/base/sha256.h"

namespace jit {
namespace {

TEST(Sha256HexTest, MatchesKnownVectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HexEncodeTest, EncodesEachByteAsTwoLowerCaseDigits) {
  const unsigned char bytes[] = {0x00, 0x0f, 0xa0, 0xff};
  EXPECT_EQ(HexEncode(bytes, sizeof(bytes)), "000fa0ff");
}

}  // namespace
}  // namespace jit
