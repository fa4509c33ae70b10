#include "jit/audit/export_formats.h"

#include <algorithm>
#include <array>
#include <nlohmann/json.hpp>
#include <tuple>

#include "jit/base/duration.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Length of the valid UTF-8 sequence at the start of `s`, 0 when invalid.
size_t ValidSequence(std::string_view s) {
  const auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;  // overlong
    if (c == 0xED) hi = 0x9F;  // surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;  // overlong
    if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  if (b(1) < lo || b(1) > hi) return 0;
  for (size_t i = 2; i < n; ++i) {
    if (b(i) < 0x80 || b(i) > 0xBF) return 0;
  }
  return n;
}

json StringOrNull(const std::string& s) {
  return s.empty() ? json(nullptr) : json(ReplaceInvalidUtf8(s));
}

json EventObject(const AuditEvent& e) {
  json data = json::parse(e.data, nullptr, /*allow_exceptions=*/false);
  if (data.is_discarded() ||
      data.dump(-1, ' ', false, json::error_handler_t::replace) != e.data) {
    data = ReplaceInvalidUtf8(e.data);
  }
  return {{"seq", e.seq},
          {"time", FormatTime(e.time)},
          {"type", ToString(e.type)},
          {"actor", ReplaceInvalidUtf8(e.actor)},
          {"subject", ReplaceInvalidUtf8(e.subject)},
          {"request_id", StringOrNull(e.request_id)},
          {"grant_id", StringOrNull(e.grant_id)},
          {"data", std::move(data)},
          {"prev_hash", e.prev_hash},
          {"hash", e.hash}};
}

std::string Dump(const json& j, bool ascii) {
  return j.dump(-1, ' ', ascii, json::error_handler_t::replace);
}

StatusOr<std::string> TextField(const json& j, const char* key, bool nullable) {
  auto it = j.find(key);
  if (it != j.end() && it->is_string()) return it->get<std::string>();
  if (nullable && (it == j.end() || it->is_null())) return std::string();
  return InvalidArgumentError(std::string("event field \"") + key +
                              "\" missing or not a string");
}

// --- OCSF

struct OcsfClass {
  int class_uid;
  std::string_view class_name;
  int category_uid;
  std::string_view category_name;
  int activity_id;
  std::string_view activity_name;
};

constexpr OcsfClass kAssign{3005, "User Access Management",
                            3,    "Identity & Access Management",
                            1,    "Assign Privileges"};
constexpr OcsfClass kRevoke{3005, "User Access Management",
                            3,    "Identity & Access Management",
                            2,    "Revoke Privileges"};
constexpr OcsfClass kApiCreate{6003, "API Activity", 6, "Application Activity",
                               1,    "Create"};
constexpr OcsfClass kApiUpdate{6003, "API Activity", 6, "Application Activity",
                               3,    "Update"};
constexpr OcsfClass kApiOther{6003, "API Activity", 6, "Application Activity",
                              99,   "Other"};

OcsfClass OcsfClassOf(AuditType t) {
  switch (t) {
    case AuditType::kGrantActivated:
    case AuditType::kGrantExtended:
    case AuditType::kGrantCredentialIssued:
    case AuditType::kEmergencyUsed:
      return kAssign;
    case AuditType::kGrantRevoked:
    case AuditType::kGrantExpired:
    case AuditType::kGrantRevokeFailed:
    case AuditType::kGrantSessionsKilled:
      return kRevoke;
    case AuditType::kRequestCreated:
    case AuditType::kTokenCreated:
    case AuditType::kBreakglassIssued:
      return kApiCreate;
    case AuditType::kRequestRejected:
    case AuditType::kRequestApproved:
    case AuditType::kRequestDenied:
    case AuditType::kRequestCancelled:
    case AuditType::kRequestTimedOut:
    case AuditType::kTokenRevoked:
    case AuditType::kMfaTotpEnrolled:
    case AuditType::kMfaTotpConfirmed:
    case AuditType::kMfaTotpReset:
    case AuditType::kEmergencyReviewed:
    case AuditType::kBreakglassRevoked:
      return kApiUpdate;
    case AuditType::kGrantActivity:
    case AuditType::kPolicyLoaded:
    case AuditType::kDriftFound:
    case AuditType::kAuditCheckpoint:
    case AuditType::kAuditVerifyFailed:
    case AuditType::kGrantExpiring:
      return kApiOther;
  }
  return kApiOther;
}

bool IsFailure(AuditType t) {
  return t == AuditType::kGrantRevokeFailed ||
         t == AuditType::kRequestRejected || t == AuditType::kRequestDenied;
}

// OCSF severity_id from the syslog severity: 1 Informational .. 4 High.
std::pair<int, std::string_view> OcsfSeverity(AuditType t) {
  switch (SyslogSeverity(t)) {
    case 3:
      return {4, "High"};
    case 4:
      return {3, "Medium"};
    case 5:
      return {2, "Low"};
    default:
      return {1, "Informational"};
  }
}

json OcsfPrivileges(const json& data) {
  json out = json::array();
  if (!data.is_object()) return out;
  auto it = data.find("entitlement");
  if (it != data.end() && it->is_string()) out.push_back(*it);
  return out;
}

// --- syslog

std::string PrintableAscii(std::string_view s, size_t max) {
  std::string out;
  for (char c : s) {
    if (out.size() == max) break;
    if (c >= 33 && c <= 126) out += c;
  }
  return out.empty() ? "-" : out;
}

std::string SdValue(std::string_view s) {
  std::string out;
  for (char c : ReplaceInvalidUtf8(s)) {
    // Line breaks are legal here but break line-based collectors; the
    // exact text is in MSG.
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
      out += kReplacement;
      continue;
    }
    if (c == '"' || c == '\\' || c == ']') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string ReplaceInvalidUtf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  while (!s.empty()) {
    const size_t n = ValidSequence(s);
    if (n == 0) {
      out += kReplacement;
      s.remove_prefix(1);
      continue;
    }
    out.append(s.substr(0, n));
    s.remove_prefix(n);
  }
  return out;
}

json AuditEventObject(const AuditEvent& e) { return EventObject(e); }

std::string AuditEventJson(const AuditEvent& e) {
  return Dump(EventObject(e), /*ascii=*/false);
}

StatusOr<AuditEvent> ParseAuditEventJson(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return InvalidArgumentError("event is not a JSON object");
  AuditEvent e;
  auto seq = j.find("seq");
  if (seq == j.end() || !seq->is_number_integer())
    return InvalidArgumentError("event field \"seq\" missing or not a number");
  e.seq = seq->get<int64_t>();
  StatusOr<std::string> time = TextField(j, "time", false);
  if (!time.ok()) return time.status();
  StatusOr<SystemTime> t = ParseTime(*time);
  if (!t.ok()) return t.status();
  e.time = *t;
  StatusOr<std::string> type = TextField(j, "type", false);
  if (!type.ok()) return type.status();
  StatusOr<AuditType> parsed_type = ParseAuditType(*type);
  if (!parsed_type.ok()) return parsed_type.status();
  e.type = *parsed_type;
  for (auto [key, out, nullable] : {std::tuple{"actor", &e.actor, false},
                                    {"subject", &e.subject, false},
                                    {"request_id", &e.request_id, true},
                                    {"grant_id", &e.grant_id, true},
                                    {"prev_hash", &e.prev_hash, false},
                                    {"hash", &e.hash, false}}) {
    StatusOr<std::string> v = TextField(j, key, nullable);
    if (!v.ok()) return v.status();
    *out = std::move(*v);
  }
  auto data = j.find("data");
  if (data == j.end()) return InvalidArgumentError("event has no \"data\"");
  e.data = data->is_string() ? data->get<std::string>() : Dump(*data, false);
  return e;
}

std::string CsvCell(std::string_view text) {
  std::string cell = ReplaceInvalidUtf8(text);
  if (!cell.empty() &&
      std::string_view("=+-@\t\r").find(cell[0]) != std::string_view::npos) {
    cell.insert(cell.begin(), '\'');
  }
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string CsvHeader() {
  return "seq,time,type,actor,subject,request_id,grant_id,data,prev_hash,"
         "hash\r\n";
}

std::string CsvRow(const AuditEvent& e) {
  const std::array<std::string, 10> cells = {std::to_string(e.seq),
                                             FormatTime(e.time),
                                             std::string(ToString(e.type)),
                                             e.actor,
                                             e.subject,
                                             e.request_id,
                                             e.grant_id,
                                             e.data,
                                             e.prev_hash,
                                             e.hash};
  std::string row;
  for (const std::string& c : cells) {
    if (!row.empty()) row += ',';
    row += CsvCell(c);
  }
  return row + "\r\n";
}

std::string OcsfJson(const AuditEvent& e) {
  const OcsfClass c = OcsfClassOf(e.type);
  const auto [severity_id, severity] = OcsfSeverity(e.type);
  const bool failed = IsFailure(e.type);
  json event = EventObject(e);
  json o = {
      {"class_uid", c.class_uid},
      {"class_name", c.class_name},
      {"category_uid", c.category_uid},
      {"category_name", c.category_name},
      {"activity_id", c.activity_id},
      {"activity_name", c.activity_id == 99 ? std::string(ToString(e.type))
                                            : std::string(c.activity_name)},
      {"type_uid", c.class_uid * 100 + c.activity_id},
      {"type_name",
       std::string(c.class_name) + ": " + std::string(c.activity_name)},
      {"time", ToUnixMillis(e.time)},
      {"severity_id", severity_id},
      {"severity", severity},
      {"status_id", failed ? 2 : 1},
      {"status", failed ? "Failure" : "Success"},
      {"message", ToString(e.type)},
      {"metadata",
       {{"version", "1.1.0"},
        {"product", {{"name", "jitd"}, {"vendor_name", "jitd"}}},
        {"uid", std::to_string(e.seq)},
        {"log_name", "audit"},
        {"original_time", FormatTime(e.time)},
        {"correlation_uid", StringOrNull(e.request_id)}}},
      {"actor", {{"user", {{"name", ReplaceInvalidUtf8(e.actor)}}}}},
      {"user", {{"name", ReplaceInvalidUtf8(e.subject)}}},
      {"unmapped", {{"jitd", event}}},
  };
  if (c.class_uid == 3005) {
    o["privileges"] = OcsfPrivileges(event["data"]);
    if (!e.grant_id.empty())
      o["resource"] = {{"uid", ReplaceInvalidUtf8(e.grant_id)},
                       {"type", "grant"}};
  } else {
    o["api"] = {{"operation", ToString(e.type)}};
  }
  return Dump(o, /*ascii=*/false);
}

int SyslogSeverity(AuditType t) {
  switch (t) {
    case AuditType::kGrantRevokeFailed:
      return 3;  // err: a privilege may outlive its grant
    case AuditType::kAuditVerifyFailed:
      return 3;  // err: the record may have been edited
    case AuditType::kEmergencyUsed:
    case AuditType::kDriftFound:
      return 4;  // warning
    case AuditType::kRequestRejected:
    case AuditType::kRequestDenied:
    case AuditType::kRequestApproved:
    case AuditType::kGrantActivated:
    case AuditType::kGrantExtended:
    case AuditType::kGrantRevoked:
    case AuditType::kGrantExpired:
    case AuditType::kGrantSessionsKilled:
    case AuditType::kGrantCredentialIssued:
      return 5;  // notice
    default:
      return 6;  // info
  }
}

std::string SyslogMessage(const AuditEvent& e, int facility,
                          std::string_view hostname) {
  facility = std::clamp(facility, 0, 23);
  const int pri = facility * 8 + SyslogSeverity(e.type);
  std::string sd = "[jitd@32473 seq=\"" + std::to_string(e.seq) + "\"";
  for (auto [name, value] : {std::pair{"actor", &e.actor},
                             {"subject", &e.subject},
                             {"request_id", &e.request_id},
                             {"grant_id", &e.grant_id},
                             {"hash", &e.hash}}) {
    if (value->empty()) continue;
    sd += std::string(" ") + name + "=\"" + SdValue(*value) + "\"";
  }
  sd += "]";
  return "<" + std::to_string(pri) + ">1 " + FormatTime(e.time) + " " +
         PrintableAscii(hostname, 255) + " jitd - " +
         PrintableAscii(ToString(e.type), 32) + " " + sd + " " +
         Dump(EventObject(e), /*ascii=*/true);
}

}  // namespace jit
