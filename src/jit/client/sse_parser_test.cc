#include "jit/client/sse_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace jit {
namespace {

std::vector<SseEvent> FeedAll(SseParser& parser, std::string_view bytes) {
  StatusOr<std::vector<SseEvent>> events = parser.Feed(bytes);
  EXPECT_TRUE(events.ok()) << events.status().ToString();
  return events.ok() ? *events : std::vector<SseEvent>{};
}

TEST(SseParserTest, ParsesIdEventAndData) {
  SseParser parser;

  auto events = FeedAll(parser, "id: 7\nevent: audit\ndata: {\"seq\":7}\n\n");

  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].id, "7");
  EXPECT_EQ(events[0].event, "audit");
  EXPECT_EQ(events[0].data, "{\"seq\":7}");
}

TEST(SseParserTest, JoinsMultiLineDataWithNewlines) {
  SseParser parser;

  auto events = FeedAll(parser, "data: one\ndata:two\ndata:  three\n\n");

  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "one\ntwo\n three");  // only one space is dropped
}

TEST(SseParserTest, IgnoresCommentsAndUnknownFields) {
  SseParser parser;

  auto events =
      FeedAll(parser, ": keep-alive\n\nretry: 10\nfoo: bar\ndata: x\n\n");

  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "x");
}

TEST(SseParserTest, EventWithoutDataIsNotProduced) {
  SseParser parser;

  auto events = FeedAll(parser, "event: ping\n\ndata: y\n\n");

  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].event, "");  // the type does not leak into the next
  EXPECT_EQ(events[0].data, "y");
}

TEST(SseParserTest, IdPersistsUntilReplaced) {
  SseParser parser;

  auto events =
      FeedAll(parser, "id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n");

  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].id, "1");
  EXPECT_EQ(events[1].id, "1");
  EXPECT_EQ(events[2].id, "2");
}

TEST(SseParserTest, AcceptsCrLfAndBareCrLineEnds) {
  SseParser parser;

  auto events = FeedAll(parser, "data: a\r\ndata: b\r\rdata: c\r\n\r\n");

  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].data, "a\nb");
  EXPECT_EQ(events[1].data, "c");
}

TEST(SseParserTest, PiecesOfAnySizeGiveTheSameEvents) {
  const std::string stream =
      "\xEF\xBB\xBFid: 1\r\nevent: e\r\ndata: x\r\ndata: y\r\n\r\n:c\n"
      "data: z\n\n";
  SseParser whole;
  auto expected = FeedAll(whole, stream);
  ASSERT_EQ(expected.size(), 2u);
  ASSERT_EQ(expected[0].id, "1");  // the BOM is not part of the field name

  SseParser bytewise;
  std::vector<SseEvent> got;
  for (char c : stream) {
    for (SseEvent& e : FeedAll(bytewise, std::string(1, c))) got.push_back(e);
  }

  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].id, expected[i].id);
    EXPECT_EQ(got[i].event, expected[i].event);
    EXPECT_EQ(got[i].data, expected[i].data);
  }
}

TEST(SseParserTest, UnfinishedEventIsHeldBack) {
  SseParser parser;

  EXPECT_TRUE(FeedAll(parser, "data: par").empty());
  EXPECT_TRUE(FeedAll(parser, "tial\n").empty());
  auto events = FeedAll(parser, "\n");

  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "partial");
}

TEST(SseParserTest, OversizedEventIsResourceExhausted) {
  SseParser parser(/*max_event_bytes=*/64);

  StatusOr<std::vector<SseEvent>> events =
      parser.Feed("data: " + std::string(100, 'x'));

  EXPECT_EQ(events.status().code(), StatusCode::kResourceExhausted);
}

TEST(SseParserTest, ManyDataLinesCountTowardTheCap) {
  SseParser parser(/*max_event_bytes=*/64);
  std::string lines;
  for (int i = 0; i < 20; ++i) lines += "data: 12345\n";

  StatusOr<std::vector<SseEvent>> events = parser.Feed(lines);

  EXPECT_EQ(events.status().code(), StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace jit
