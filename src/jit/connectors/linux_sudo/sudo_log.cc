#include "jit/connectors/linux_sudo/sudo_log.h"

#include <nlohmann/json.hpp>
#include <optional>

namespace jit {
namespace {

using Json = nlohmann::json;

std::string StringField(const Json& event, const char* key) {
  auto it = event.find(key);
  if (it == event.end() || !it->is_string()) return "";
  return it->get<std::string>();
}

std::optional<SystemTime> SubmitTime(const Json& event) {
  auto t = event.find("submit_time");
  if (t == event.end() || !t->is_object()) return std::nullopt;
  auto s = t->find("seconds");
  auto ns = t->find("nanoseconds");
  if (s == t->end() || !s->is_number_integer()) return std::nullopt;
  std::chrono::nanoseconds frac(0);
  if (ns != t->end() && ns->is_number_integer()) {
    frac = std::chrono::nanoseconds(ns->get<long long>());
  }
  return SystemTime(std::chrono::seconds(s->get<long long>())) +
         std::chrono::duration_cast<SystemTime::duration>(frac);
}

// "command" is the resolved path; runargv[0] is what the user typed.
std::string CommandLine(const Json& event) {
  std::string out = StringField(event, "command");
  auto argv = event.find("runargv");
  if (argv == event.end() || !argv->is_array()) return out;
  for (size_t i = 1; i < argv->size(); ++i) {
    if (!(*argv)[i].is_string()) continue;
    out += ' ';
    out += (*argv)[i].get<std::string>();
  }
  return out;
}

std::optional<SudoLogEntry> ToEntry(const Json& event) {
  if (!event.is_object()) return std::nullopt;
  std::optional<SystemTime> at = SubmitTime(event);
  std::string user = StringField(event, "submituser");
  if (!at || user.empty()) return std::nullopt;
  return SudoLogEntry{*at, std::move(user), StringField(event, "runuser"),
                      CommandLine(event), StringField(event, "uuid")};
}

}  // namespace

std::vector<SudoLogEntry> ParseSudoJsonLog(std::string_view text) {
  std::vector<SudoLogEntry> out;
  std::string key;
  // The log's top-level keys repeat, which a parsed object cannot hold, so
  // each event is taken as it completes and then dropped from the document.
  auto on_event = [&](int depth, Json::parse_event_t ev, Json& parsed) {
    if (depth != 1) return true;
    if (ev == Json::parse_event_t::key) {
      key = parsed.is_string() ? parsed.get<std::string>() : "";
      return true;
    }
    if (ev == Json::parse_event_t::object_end && key == "accept") {
      std::optional<SudoLogEntry> entry = ToEntry(parsed);
      if (entry) out.push_back(*std::move(entry));
    }
    return ev == Json::parse_event_t::object_start;
  };
  try {
    // The document itself is not wanted: events were taken on the way.
    Json rest = Json::parse(text.begin(), text.end(), on_event,
                            /*allow_exceptions=*/false);
    rest = nullptr;
  } catch (const Json::exception&) {
    // Only reachable through a type mismatch nlohmann reports by throwing;
    // events read so far are kept, the rest of the file is unreadable.
  }
  return out;
}

}  // namespace jit
