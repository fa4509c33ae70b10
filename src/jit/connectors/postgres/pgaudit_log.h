#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace jit {

// Reading pgaudit records out of PostgreSQL's jsonlog (log_destination =
// 'jsonlog'). Pure functions over text; thread-safe.

// The fields of one pgaudit message ("AUDIT: SESSION,1,1,READ,SELECT,,,
// select 1,<not logged>"), CSV as pgaudit writes it.
struct PgauditRecord {
  std::string audit_type;  // SESSION | OBJECT
  std::string statement_id;
  std::string substatement_id;
  std::string statement_class;  // READ, WRITE, ROLE, DDL...
  std::string command;          // SELECT, GRANT...
  std::string statement;
};

// nullopt when `message` is not a pgaudit record.
std::optional<PgauditRecord> ParsePgauditMessage(std::string_view message);

// One statement found in the log.
struct PgauditLogEntry {
  // The jsonlog "timestamp" without its zone abbreviation, i.e. local time
  // in the server's log_timezone ("2026-11-24 04:01:12.470"). Abbreviations
  // are ambiguous (PostgreSQL reads "IST" as Israel time), so the caller
  // converts with the zone's full name.
  std::string local_time;
  std::string pid;
  std::string session_id;  // jsonlog session_id
  std::string statement;
};

// Whether the text handed to ParsePgauditJsonlog starts at a line start.
enum class LogStart { kLineStart, kMidLine };

// The pgaudit records of `user` (the session's login user) in `text`, one
// per statement (a statement touching several objects is logged several
// times with the same statement id; the first is kept), in log order.
// Lines that are not complete JSON objects are skipped; with kMidLine the
// first (partial) line is skipped too.
std::vector<PgauditLogEntry> ParsePgauditJsonlog(std::string_view text,
                                                 std::string_view user,
                                                 LogStart start);

// `text` cut to at most `max_bytes`, back to a UTF-8 character boundary.
std::string TruncateUtf8(std::string_view text, size_t max_bytes);

}  // namespace jit
