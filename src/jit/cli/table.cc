#include "jit/cli/table.h"

#include <algorithm>

#include "jit/cli/terminal_text.h"

namespace jit {
namespace {

void RenderLine(std::ostream& out, const std::vector<std::string>& cells,
                const std::vector<size_t>& widths) {
  std::string line;
  for (size_t i = 0; i < cells.size(); ++i) {
    line += cells[i];
    if (i + 1 == cells.size()) break;
    line.append(widths[i] - DisplayWidth(cells[i]) + 2, ' ');
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  out << line << '\n';
}

}  // namespace

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::SetMaxWidth(size_t column, size_t max_width) {
  max_widths_[column] = max_width;
}

void Table::AddRow(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  for (size_t i = 0; i < cells.size(); ++i) {
    cells[i] = SanitizeForTerminal(cells[i]);
    auto limit = max_widths_.find(i);
    if (limit != max_widths_.end()) {
      cells[i] = TruncateText(cells[i], limit->second);
    }
  }
  rows_.push_back(std::move(cells));
}

void Table::Render(std::ostream& out) const {
  std::vector<size_t> widths;
  for (const std::string& header : headers_) {
    widths.push_back(DisplayWidth(header));
  }
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  RenderLine(out, headers_, widths);
  for (const auto& row : rows_) RenderLine(out, row, widths);
}

void RenderKeyValues(
    std::ostream& out,
    const std::vector<std::pair<std::string, std::string>>& rows) {
  size_t width = 0;
  for (const auto& [key, value] : rows) {
    width = std::max(width, DisplayWidth(key) + 1);
  }
  for (const auto& [key, value] : rows) {
    const std::string label = key + ":";
    out << label << std::string(width - DisplayWidth(label) + 2, ' ')
        << SanitizeForTerminal(value) << '\n';
  }
}

}  // namespace jit
