#include "jit/connectors/common/config_json.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace jit {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

ConnectorConfig Config(std::string json, std::string origin = "jitd.yaml:9") {
  return ConnectorConfig{"demo", "fake", std::move(json), std::move(origin)};
}

TEST(ConnectorConfigReaderTest, ReadsEachKindOfValue) {
  auto reader = ConnectorConfigReader::Parse(
      Config(R"({"s":"x","b":true,"l":["a","b"],"m":{"K":"v"}})"),
      {"s", "b", "l", "m", "absent"});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(reader->String("s")->value(), "x");
  EXPECT_EQ(reader->Bool("b")->value(), true);
  EXPECT_THAT(reader->StringList("l")->value(), ElementsAre("a", "b"));
  EXPECT_THAT(reader->StringMap("m")->value(), ElementsAre(Pair("K", "v")));
  EXPECT_FALSE(reader->String("absent")->has_value());
  EXPECT_TRUE(reader->Has("s"));
  EXPECT_FALSE(reader->Has("absent"));
}

TEST(ConnectorConfigReaderTest, DurationValueParsesOrNamesTheKey) {
  auto reader = ConnectorConfigReader::Parse(
      Config(R"({"timeout":"1m30s","bad":"soon","num":true})"),
      {"timeout", "bad", "num", "absent"});
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  EXPECT_EQ(reader->DurationValue("timeout")->value(),
            std::chrono::seconds(90));
  EXPECT_FALSE(reader->DurationValue("absent")->has_value());
  auto bad = reader->DurationValue("bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(bad.status().message(), HasSubstr("jitd.yaml:9: \"bad\": "));
  EXPECT_FALSE(reader->DurationValue("num").ok());
}

TEST(ConnectorConfigReaderTest, UnknownKeyIsRefusedWithOriginAndKnownKeys) {
  auto reader = ConnectorConfigReader::Parse(
      Config(R"({"name":"demo","nmae":1})"), {"type", "name"});
  EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      reader.status().message(),
      "jitd.yaml:9: unknown key \"nmae\" in connector \"demo\" (known: name, "
      "type)");
}

TEST(ConnectorConfigReaderTest, WithoutOriginNamesTheConnector) {
  auto reader = ConnectorConfigReader::Parse(Config(R"({"x":1})", ""), {});
  EXPECT_THAT(reader.status().message(),
              HasSubstr("connector \"demo\": unknown key"));
}

TEST(ConnectorConfigReaderTest, RefusesInvalidJsonAndNonObjects) {
  for (const char* text : {"", "{", "[]", "\"fake\"", "null"}) {
    auto reader = ConnectorConfigReader::Parse(Config(text), {});
    EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(reader.status().message(), HasSubstr("jitd.yaml:9: ")) << text;
  }
}

TEST(ConnectorConfigReaderTest, WrongTypesAreRefused) {
  auto reader = ConnectorConfigReader::Parse(
      Config(R"({"s":1,"b":"yes","l":["a",2],"m":{"K":1},"l2":"a"})"),
      {"s", "b", "l", "m", "l2"});
  ASSERT_TRUE(reader.ok());
  EXPECT_EQ(reader->String("s").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->Bool("b").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->StringList("l").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->StringList("l2").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(reader->StringMap("m").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_THAT(
      reader->Bool("b").status().message(),
      HasSubstr(
          "jitd.yaml:9: \"b\" in connector \"demo\" must be true or false"));
}

}  // namespace
}  // namespace jit
