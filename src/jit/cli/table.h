#pragma once

#include <cstddef>
#include <map>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace jit {

// A text table with simple left-aligned columns separated by two spaces.
// Every cell passes through SanitizeForTerminal when added, so server text
// can be put in as received. Not thread-safe; a value type.
class Table {
 public:
  explicit Table(std::vector<std::string> headers);

  // Cells after sanitizing in column `column` are cut to `max_width` code
  // points (see TruncateText). Applies to rows added later.
  void SetMaxWidth(size_t column, size_t max_width);

  // Missing cells are empty; extra cells are dropped.
  void AddRow(std::vector<std::string> cells);

  size_t row_count() const { return rows_.size(); }

  // Header line, then one line per row. The last column is not padded.
  void Render(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::map<size_t, size_t> max_widths_;
  std::vector<std::vector<std::string>> rows_;
};

// Prints "key:  value" lines with the values aligned; values are sanitized.
void RenderKeyValues(
    std::ostream& out,
    const std::vector<std::pair<std::string, std::string>>& rows);

}  // namespace jit
