// Feeds grant fields through the checks the linux_sudo connector applies
// before RenderDropIn (whose contract is: every field passed the Validate*
// functions) and then reads the drop-in back as sudoers would. Input: fields
// separated by NUL bytes, in order grant_id, target_user, commands (the
// entitlement param, JSON text), runas (JSON text; empty = not given),
// log_dir, pam_service (empty = not given), expires_at (decimal ms; values
// fold into 2001..2096).
// Properties: hostile input is refused with a one-line message, or the file
// has its two comments, one Defaults line per setting and exactly one rule
// line, built from the given fields only; no byte starts a second rule,
// option, continuation, include or command; NOTAFTER reads back one second
// before expiry.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "harness.h"
#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/connectors/common/params.h"
#include "jit/connectors/linux_sudo/sudoers_dropin.h"

namespace jit::fuzz {
namespace {

struct Fields {
  std::string grant_id;
  std::string user;
  std::string commands_json;
  std::string runas_json;
  std::string log_dir;
  std::string pam_service;
  SystemTime expires_at{};
};

std::vector<std::string> Split(std::string_view text, char sep,
                               size_t max_parts) {
  std::vector<std::string> parts;
  while (parts.size() + 1 < max_parts) {
    size_t at = text.find(sep);
    if (at == std::string_view::npos) break;
    parts.emplace_back(text.substr(0, at));
    text.remove_prefix(at + 1);
  }
  parts.emplace_back(text);
  return parts;
}

Fields Decode(std::string_view input) {
  std::vector<std::string> p = Split(input, '\0', 7);
  p.resize(7);
  Fields f{p[0], p[1], p[2], p[3], p[4], p[5], {}};
  uint64_t ms = 0;
  for (char c : p[6].substr(0, 18)) {
    if (c >= '0' && c <= '9') ms = ms * 10 + static_cast<uint64_t>(c - '0');
  }
  f.expires_at = SystemTime(std::chrono::milliseconds(
      1'000'000'000'000 + static_cast<int64_t>(ms % 3'000'000'000'000)));
  return f;
}

// The connector's order of checks (LinuxSudoConnector::Grant and
// ParseLinuxSudoConfig); any refusal ends the grant.
StatusOr<SudoRule> BuildRule(const Fields& f) {
  GrantSpec g;
  g.grant_id = f.grant_id;
  g.target_user = f.user;
  g.params_json["commands"] = f.commands_json;
  if (!f.runas_json.empty()) g.params_json["runas"] = f.runas_json;
  g.expires_at = f.expires_at;
  SudoRule rule;
  rule.grant_id = g.grant_id;
  rule.user = g.target_user;
  rule.runas = "root";
  rule.expires_at = g.expires_at;
  JIT_RETURN_IF_ERROR(ValidateGrantId(g.grant_id));
  JIT_RETURN_IF_ERROR(ValidateUserName(g.target_user, "target user"));
  JIT_ASSIGN_OR_RETURN(rule.commands, GetStringListParam(g, "commands"));
  JIT_RETURN_IF_ERROR(ValidateCommands(rule.commands));
  if (HasParam(g, "runas")) {
    JIT_ASSIGN_OR_RETURN(rule.runas, GetStringParam(g, "runas"));
    JIT_RETURN_IF_ERROR(ValidateUserName(rule.runas, "runas"));
  }
  JIT_RETURN_IF_ERROR(ValidateSudoersPath(f.log_dir, "\"log_dir\""));
  rule.logfile =
      (std::filesystem::path(f.log_dir) / ("sudo_" + g.target_user + ".log"))
          .string();
  if (!f.pam_service.empty()) {
    JIT_RETURN_IF_ERROR(ValidatePamServiceName(f.pam_service));
    rule.pam_service = f.pam_service;
  }
  return rule;
}

bool IsPlainValue(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
           c == '/' || c == '+';
  });
}

bool IsCommandChar(char c) {
  return IsPlainValue(std::string_view(&c, 1)) || c == '@' || c == '%' ||
         c == ' ';
}

// The rule line, read as sudoers reads it: USER ALL=(RUNAS)
// NOTAFTER=YYYYMMDDHHMMSSZ NOPASSWD: CMD, CMD...
void CheckRuleLine(std::string_view line, const SudoRule& rule) {
  std::string head = rule.user + " ALL=(" + rule.runas + ") NOTAFTER=";
  Check(line.substr(0, head.size()) == head, "rule line has a wrong head");
  line.remove_prefix(head.size());
  Check(line.size() > 26, "rule line is cut short");
  std::string_view stamp = line.substr(0, 14);
  Check(std::all_of(stamp.begin(), stamp.end(),
                    [](char c) { return c >= '0' && c <= '9'; }),
        "NOTAFTER is not 14 digits");
  Check(line.substr(14, 12) == "Z NOPASSWD: ", "no NOPASSWD after NOTAFTER");
  std::string_view cmds = line.substr(26);
  Check(std::all_of(cmds.begin(), cmds.end(),
                    [](char c) { return IsCommandChar(c) || c == ','; }),
        "a sudoers special character reached the command list");
  Check(Split(cmds, ',', 65).size() == rule.commands.size(),
        "the command list holds another number of commands than given");
  std::string joined;
  for (const std::string& c : rule.commands) {
    joined += (joined.empty() ? "" : ", ") + c;
  }
  Check(cmds == joined, "the command list differs from the commands given");
}

void CheckDropIn(const std::string& text, const SudoRule& rule) {
  Check(!text.empty() && text.back() == '\n', "drop-in not newline-ended");
  Check(std::none_of(text.begin(), text.end(),
                     [](char c) {
                       unsigned char u = static_cast<unsigned char>(c);
                       return (u < 0x20 && c != '\n') || u >= 0x7f ||
                              c == '\\' || c == '"';
                     }),
        "drop-in holds a control byte, backslash or quote");
  std::vector<std::string> lines =
      Split(std::string_view(text).substr(0, text.size() - 1), '\n', 100);
  size_t want = rule.pam_service ? 5 : 4;
  Check(lines.size() == want, "drop-in has an unexpected number of lines");
  Check(lines[0].rfind("# Written by jitd for grant " + rule.grant_id + ";",
                       0) == 0,
        "first comment line is wrong");
  Check(lines[1] == "# expires_at " + FormatTime(rule.expires_at),
        "second comment line is wrong");
  Check(IsPlainValue(rule.logfile), "logfile is not a plain value");
  Check(lines[2] == "Defaults:" + rule.user + " logfile=" + rule.logfile +
                        ", log_format=json",
        "logfile Defaults line is wrong");
  if (rule.pam_service) {
    Check(lines[3] ==
              "Defaults:" + rule.user + " pam_service=" + *rule.pam_service,
          "pam_service Defaults line is wrong");
  }
  CheckRuleLine(lines.back(), rule);
  StatusOr<std::optional<SystemTime>> not_after = ReadNotAfter(text);
  Check(not_after.ok() && not_after->has_value(), "NOTAFTER unreadable");
  Check(**not_after == NotAfterFor(rule.expires_at),
        "NOTAFTER read back wrong");
  Check(**not_after < rule.expires_at, "NOTAFTER not before expiry");
}

}  // namespace

void FuzzSudoersDropIn(std::span<const uint8_t> data) {
  Fields f = Decode(std::string_view(reinterpret_cast<const char*>(data.data()),
                                     data.size()));
  StatusOr<SudoRule> rule = BuildRule(f);
  if (!rule.ok()) {
    const std::string& why = rule.status().message();
    Check(rule.status().code() == StatusCode::kInvalidArgument,
          "a refusal is not kInvalidArgument");
    Check(!why.empty() && why.find('\n') == std::string::npos &&
              why.find('\r') == std::string::npos,
          "a refusal message is empty or spans lines");
    return;
  }
  CheckDropIn(RenderDropIn(*rule), *rule);
}

}  // namespace jit::fuzz
