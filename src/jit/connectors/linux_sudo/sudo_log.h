#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "jit/base/clock.h"

namespace jit {

// One command sudo accepted, as its JSON event log recorded it.
struct SudoLogEntry {
  SystemTime submitted{};
  std::string user;          // who ran sudo (submituser)
  std::string runas;         // as whom (runuser)
  std::string command_line;  // resolved command and its arguments
  std::string uuid;          // sudo's id of the event
};

// Reads the text of a sudo log file written with `log_format=json`: one
// JSON object whose keys repeat ("accept", "reject", "alert", ...), each an
// event, which sudo closes again after every append. Returns the "accept"
// events in file order; rejected and malformed events are skipped, and
// reading stops quietly at a syntax error (an append in progress). Never
// throws; thread-safe.
std::vector<SudoLogEntry> ParseSudoJsonLog(std::string_view text);

}  // namespace jit
