#include "jit/cli/table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace jit {
namespace {

std::string Render(const Table& table) {
  std::ostringstream out;
  table.Render(out);
  return out.str();
}

TEST(TableTest, AlignsColumnsToTheWidestCell) {
  Table table({"ID", "STATE", "NOTE"});
  table.AddRow({"req_1", "pending", "x"});
  table.AddRow({"r2", "active", ""});
  EXPECT_EQ(Render(table),
            "ID     STATE    NOTE\n"
            "req_1  pending  x\n"
            "r2     active\n");
}

TEST(TableTest, MeasuresNonAsciiByCodePoints) {
  Table table({"WHO", "X"});
  table.AddRow({"jürgen", "1"});
  EXPECT_EQ(Render(table),
            "WHO     X\n"
            "jürgen  1\n");
}

TEST(TableTest, SanitizesEveryCell) {
  Table table({"A", "B"});
  table.AddRow({"\x1b[31mred", "a\nb\u202E"});
  EXPECT_EQ(Render(table),
            "A            B\n"
            "\\x1b[31mred  a\\nb\\u202E\n");
}

TEST(TableTest, TruncatesAColumnWithAMaxWidth) {
  Table table({"A", "B"});
  table.SetMaxWidth(1, 8);
  table.AddRow({"x", "0123456789"});
  EXPECT_EQ(Render(table),
            "A  B\n"
            "x  01234...\n");
}

TEST(TableTest, FillsMissingCells) {
  Table table({"A", "B", "C"});
  table.AddRow({"1"});
  EXPECT_EQ(table.row_count(), 1u);
  EXPECT_EQ(Render(table), "A  B  C\n1\n");
}

TEST(RenderKeyValuesTest, AlignsValuesAndSanitizesThem) {
  std::ostringstream out;
  RenderKeyValues(out, {{"id", "req_1"}, {"justification", "a\x1b[0m"}});
  EXPECT_EQ(out.str(),
            "id:             req_1\n"
            "justification:  a\\x1b[0m\n");
}

}  // namespace
}  // namespace jit
