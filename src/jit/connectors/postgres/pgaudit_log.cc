#include "jit/connectors/postgres/pgaudit_log.h"

#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace jit {
namespace {

constexpr std::string_view kAuditPrefix = "AUDIT: ";
constexpr size_t kMinFields = 8;  // up to and including STATEMENT

// Splits one CSV line as pgaudit writes it: a field holding a comma, quote
// or line break is wrapped in double quotes with inner quotes doubled.
// nullopt for an unterminated quoted field.
std::optional<std::vector<std::string>> SplitCsv(std::string_view line) {
  std::vector<std::string> fields;
  size_t i = 0;
  while (true) {
    std::string field;
    if (i < line.size() && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < line.size()) {
        if (line[i] != '"') {
          field.push_back(line[i++]);
        } else if (i + 1 < line.size() && line[i + 1] == '"') {
          field.push_back('"');
          i += 2;
        } else {
          ++i;
          closed = true;
          break;
        }
      }
      if (!closed) return std::nullopt;
    } else {
      size_t comma = line.find(',', i);
      size_t end = comma == std::string_view::npos ? line.size() : comma;
      field.assign(line.substr(i, end - i));
      i = end;
    }
    fields.push_back(std::move(field));
    if (i >= line.size()) return fields;
    if (line[i] != ',') return std::nullopt;  // text after a closing quote
    ++i;
  }
}

std::string StringField(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return "";
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return "";
}

// The timestamp without its trailing zone abbreviation.
std::string LocalTime(const std::string& timestamp) {
  size_t space = timestamp.rfind(' ');
  return space == std::string::npos ? timestamp : timestamp.substr(0, space);
}

}  // namespace

std::optional<PgauditRecord> ParsePgauditMessage(std::string_view message) {
  if (message.substr(0, kAuditPrefix.size()) != kAuditPrefix)
    return std::nullopt;
  auto fields = SplitCsv(message.substr(kAuditPrefix.size()));
  if (!fields || fields->size() < kMinFields) return std::nullopt;
  PgauditRecord r;
  r.audit_type = (*fields)[0];
  r.statement_id = (*fields)[1];
  r.substatement_id = (*fields)[2];
  r.statement_class = (*fields)[3];
  r.command = (*fields)[4];
  r.statement = (*fields)[7];
  return r;
}

std::vector<PgauditLogEntry> ParsePgauditJsonlog(std::string_view text,
                                                 std::string_view user,
                                                 LogStart start) {
  std::vector<PgauditLogEntry> out;
  std::set<std::pair<std::string, std::string>> seen;  // session, statement
  bool skip = start == LogStart::kMidLine;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text =
        nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (std::exchange(skip, false)) continue;
    if (line.find("AUDIT: ") == std::string_view::npos) continue;
    nlohmann::json obj = nlohmann::json::parse(line, nullptr,
                                               /*allow_exceptions=*/false);
    if (!obj.is_object()) continue;
    if (StringField(obj, "user") != user) continue;
    std::optional<PgauditRecord> rec =
        ParsePgauditMessage(StringField(obj, "message"));
    if (!rec) continue;
    std::string session = StringField(obj, "session_id");
    if (!seen.emplace(session, rec->statement_id).second) continue;
    out.push_back(PgauditLogEntry{LocalTime(StringField(obj, "timestamp")),
                                  StringField(obj, "pid"), session,
                                  std::move(rec->statement)});
  }
  return out;
}

std::string TruncateUtf8(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t cut = max_bytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  return std::string(text.substr(0, cut));
}

}  // namespace jit
