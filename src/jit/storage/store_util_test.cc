#include "jit/storage/store_util.h"

#include <gtest/gtest.h>

namespace jit {
namespace {

TEST(StoreUtilTest, CursorRoundTrips) {
  for (int64_t position : {int64_t{1}, int64_t{42}, int64_t{1} << 53}) {
    StatusOr<int64_t> decoded = DecodeCursor(EncodeCursor(position));
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(*decoded, position);
  }
}

TEST(StoreUtilTest, EmptyCursorStartsAtTheBeginning) {
  StatusOr<int64_t> decoded = DecodeCursor("");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, 0);
}

TEST(StoreUtilTest, ForeignCursorsAreInvalidArgument) {
  for (const char* cursor : {"x", "c", "c0", "c-3", "c+3", "3", "c3 ", "c0x1",
                             "c99999999999999999999"}) {
    EXPECT_EQ(DecodeCursor(cursor).status().code(),
              StatusCode::kInvalidArgument)
        << cursor;
  }
}

TEST(StoreUtilTest, PageLimitIsClamped) {
  EXPECT_EQ(ClampPageLimit(-1), 1);
  EXPECT_EQ(ClampPageLimit(0), 1);
  EXPECT_EQ(ClampPageLimit(1), 1);
  EXPECT_EQ(ClampPageLimit(250), 250);
  EXPECT_EQ(ClampPageLimit(1000), 1000);
  EXPECT_EQ(ClampPageLimit(1001), 1000);
}

}  // namespace
}  // namespace jit
