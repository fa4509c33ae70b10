#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/status.h"

namespace jit {

// One Server-Sent Event, as the WHATWG "event stream interpretation" defines
// it.
struct SseEvent {
  std::string id;     // the last `id:` seen on the stream so far (it persists)
  std::string event;  // this event's `event:`; empty when it had none
  std::string data;   // its `data:` lines joined with "\n"
};

// Turns a text/event-stream into events while it arrives in pieces of any
// size. Lines end in LF, CRLF or CR; `:` lines are comments; an event ends at
// a blank line and is only produced when it had at least one `data:` line;
// `retry:` and unknown fields are ignored; a leading UTF-8 BOM is skipped.
// Thread-compatible.
class SseParser {
 public:
  // `max_event_bytes` caps one line and the data of one event.
  explicit SseParser(size_t max_event_bytes = 1024 * 1024)
      : max_event_bytes_(max_event_bytes) {}

  // Consumes `bytes`; returns the events they complete, in stream order.
  // kResourceExhausted when a line or an event's data grows over the cap;
  // the parser is unusable afterwards.
  StatusOr<std::vector<SseEvent>> Feed(std::string_view bytes);

 private:
  void ProcessLine(std::string_view line, std::vector<SseEvent>& out);
  void ProcessField(std::string_view field, std::string_view value);
  void Dispatch(std::vector<SseEvent>& out);

  size_t max_event_bytes_;
  std::string line_;        // the unfinished line
  bool after_cr_ = false;   // the last byte was CR: an LF next belongs to it
  bool first_line_ = true;  // a BOM may start it
  std::string last_id_;
  std::string event_;
  std::string data_;  // each data line plus "\n"
};

}  // namespace jit
