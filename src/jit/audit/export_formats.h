#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "jit/audit/event.h"
#include "jit/base/status.h"

namespace jit {

// Audit events in the formats other tools read (docs/audit.md "Exports").
// Pure functions: no I/O, thread-safe. Text that is not valid UTF-8 comes
// out with each bad byte replaced by U+FFFD; nothing here fails on any input.

// `s` with every byte that does not start a valid UTF-8 sequence (overlong
// forms and surrogates included) replaced by U+FFFD.
std::string ReplaceInvalidUtf8(std::string_view s);

// The event as the API shows it (GET /v1/audit) as a JSON value: `data` is
// an object when it prints back to exactly the stored text, the stored text
// as a string otherwise, so the hash stays checkable.
nlohmann::json AuditEventObject(const AuditEvent& e);

// The event as the API shows it (GET /v1/audit): one compact JSON object.
// `data` is an object when it prints back to exactly the stored text, the
// stored text as a string otherwise, so the hash stays checkable.
std::string AuditEventJson(const AuditEvent& e);

// The inverse of AuditEventJson, for events read back from the API or an
// export line. kInvalidArgument when the text is not such an object.
StatusOr<AuditEvent> ParseAuditEventJson(std::string_view text);

// One CSV cell per RFC 4180, made safe for spreadsheets: a cell starting
// with = + - @ TAB or CR gets a leading single quote so it is never
// evaluated as a formula; cells with , " CR or LF are quoted, " doubled,
// line breaks kept inside the quotes.
std::string CsvCell(std::string_view text);

// The header record and one record per event, each ending in CRLF:
// seq,time,type,actor,subject,request_id,grant_id,data,prev_hash,hash.
std::string CsvHeader();
std::string CsvRow(const AuditEvent& e);

// An OCSF-shaped event (one compact JSON object); the class per event type
// is in docs/audit.md "OCSF mapping".
std::string OcsfJson(const AuditEvent& e);

// RFC 5424 severities (0 emergency .. 7 debug) jitd gives each type.
int SyslogSeverity(AuditType t);

// One RFC 5424 message (no framing, no trailing newline):
//   <PRI>1 TIMESTAMP HOSTNAME jitd - MSGID [jitd@32473 ...] MSG
// PRI = facility * 8 + SyslogSeverity(type); `facility` must be 0..23
// (clamped otherwise). TIMESTAMP in UTC; HOSTNAME is `hostname` cut to
// printable ASCII (255 bytes, "-" when empty); MSGID the event type;
// SD-PARAM values escape " \ and ] (RFC 5424 6.3.3) and show control
// characters as U+FFFD; MSG is
// AuditEventJson with non-ASCII escaped, so it is plain ASCII.
std::string SyslogMessage(const AuditEvent& e, int facility,
                          std::string_view hostname);

}  // namespace jit
