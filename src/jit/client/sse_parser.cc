#include "jit/client/sse_parser.h"

#include <utility>

namespace jit {
namespace {

constexpr std::string_view kBom = "\xEF\xBB\xBF";

}  // namespace

StatusOr<std::vector<SseEvent>> SseParser::Feed(std::string_view bytes) {
  std::vector<SseEvent> events;
  for (char c : bytes) {
    bool skip = after_cr_ && c == '\n';
    after_cr_ = c == '\r';
    if (skip) continue;
    if (c == '\r' || c == '\n') {
      ProcessLine(line_, events);
      line_.clear();
    } else {
      line_.push_back(c);
    }
    if (line_.size() + data_.size() > max_event_bytes_) {
      return ResourceExhaustedError("server-sent event exceeds " +
                                    std::to_string(max_event_bytes_) +
                                    " bytes");
    }
  }
  return events;
}

void SseParser::ProcessLine(std::string_view line, std::vector<SseEvent>& out) {
  if (first_line_) {
    first_line_ = false;
    if (line.substr(0, kBom.size()) == kBom) line.remove_prefix(kBom.size());
  }
  if (line.empty()) {
    Dispatch(out);
    return;
  }
  if (line.front() == ':') return;  // a comment, e.g. a keep-alive
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    ProcessField(line, "");
    return;
  }
  std::string_view value = line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  ProcessField(line.substr(0, colon), value);
}

void SseParser::ProcessField(std::string_view field, std::string_view value) {
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    event_ = std::string(value);
  } else if (field == "id" && value.find('\0') == std::string_view::npos) {
    last_id_ = std::string(value);
  }
}

void SseParser::Dispatch(std::vector<SseEvent>& out) {
  std::string event = std::exchange(event_, "");
  if (data_.empty()) return;
  data_.pop_back();  // the "\n" after the last data line
  out.push_back(SseEvent{last_id_, std::move(event), std::exchange(data_, "")});
}

}  // namespace jit
