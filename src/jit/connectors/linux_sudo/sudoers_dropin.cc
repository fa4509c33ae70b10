#include "jit/connectors/linux_sudo/sudoers_dropin.h"

#include <date/date.h>
#include <fmt/format.h>

#include <algorithm>
#include <sstream>

#include "jit/base/duration.h"

namespace jit {
namespace {

constexpr size_t kMaxUserName = 32;
constexpr size_t kMaxCommands = 64;
constexpr size_t kMaxCommandLength = 1024;
constexpr size_t kMaxPathLength = 1024;
constexpr char kNotAfterKey[] = "NOTAFTER=";
constexpr char kNotAfterFormat[] = "%Y%m%d%H%M%SZ";

bool IsLowerOrDigit(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool IsAlnum(char c) { return IsLowerOrDigit(c) || (c >= 'A' && c <= 'Z'); }

bool IsPathChar(char c) {
  return IsAlnum(c) || c == '_' || c == '.' || c == '+' || c == '-' || c == '/';
}

bool IsArgChar(char c) { return IsPathChar(c) || c == '@' || c == '%'; }

// Absolute, no empty/"."/".." segment, no trailing slash.
bool IsNormalisedAbsolutePath(std::string_view path) {
  if (path.size() < 2 || path.front() != '/' || path.back() == '/') {
    return false;
  }
  if (!std::all_of(path.begin(), path.end(), IsPathChar)) return false;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string_view::npos) slash = path.size();
    std::string_view segment = path.substr(pos, slash - pos);
    if (segment.empty() || segment == "." || segment == "..") return false;
    pos = slash + 1;
  }
  return true;
}

// Quoted for an error message: control bytes shown as escapes, capped.
std::string Shown(std::string_view text) {
  std::string out = "\"";
  for (char c : text.substr(0, 80)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  if (text.size() > 80) out += "...";
  return out + "\"";
}

Status ValidateArguments(std::string_view command, std::string_view args) {
  // One space between arguments, none trailing: "a  b" or "a " would make
  // sudoers match other argument lists than the one written here.
  if (args.empty() || args.back() == ' ') {
    return InvalidArgumentError(
        fmt::format("command {} has a trailing space", Shown(command)));
  }
  for (size_t i = 0; i < args.size(); ++i) {
    if (args[i] == ' ' && (i == 0 || args[i - 1] == ' ')) {
      return InvalidArgumentError(
          fmt::format("command {}: arguments must be separated by one space",
                      Shown(command)));
    }
    if (args[i] != ' ' && !IsArgChar(args[i])) {
      return InvalidArgumentError(fmt::format(
          "command {}: argument character {} is not allowed (allowed: "
          "letters, digits, _ . + - / @ %)",
          Shown(command), Shown(args.substr(i, 1))));
    }
  }
  return OkStatus();
}

}  // namespace

Status ValidateUserName(std::string_view name, std::string_view what) {
  bool ok = !name.empty() && name.size() <= kMaxUserName &&
            ((name[0] >= 'a' && name[0] <= 'z') || name[0] == '_') &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return IsLowerOrDigit(c) || c == '_' || c == '-';
            });
  if (ok) return OkStatus();
  return InvalidArgumentError(fmt::format(
      "{} {} is not a valid user name ([a-z_][a-z0-9_-]*, at most {} "
      "characters)",
      what, Shown(name), kMaxUserName));
}

Status ValidateCommand(std::string_view command) {
  if (command == "ALL") return OkStatus();
  if (command.size() > kMaxCommandLength) {
    return InvalidArgumentError(
        fmt::format("command {} is longer than {} bytes", Shown(command),
                    kMaxCommandLength));
  }
  size_t space = command.find(' ');
  std::string_view path = command.substr(0, space);
  if (!IsNormalisedAbsolutePath(path)) {
    return InvalidArgumentError(fmt::format(
        "command {} must start with an absolute, normalised path of letters, "
        "digits and _ . + - / (no directory, no \"..\")",
        Shown(command)));
  }
  if (space == std::string_view::npos) return OkStatus();
  return ValidateArguments(command, command.substr(space + 1));
}

Status ValidateCommands(const std::vector<std::string>& commands) {
  if (commands.empty()) {
    return InvalidArgumentError("\"commands\" must list at least one command");
  }
  if (commands.size() > kMaxCommands) {
    return InvalidArgumentError(
        fmt::format("\"commands\" lists more than {} commands", kMaxCommands));
  }
  for (const std::string& c : commands) {
    Status valid = ValidateCommand(c);
    if (!valid.ok()) return valid;
    if (c == "ALL" && commands.size() > 1) {
      return InvalidArgumentError(
          "\"commands\": ALL must be the only entry when given");
    }
  }
  return OkStatus();
}

Status ValidateGrantId(std::string_view grant_id) {
  bool ok = !grant_id.empty() && grant_id.size() <= 128 &&
            std::all_of(grant_id.begin(), grant_id.end(), [](char c) {
              return IsAlnum(c) || c == '_' || c == '-';
            });
  if (ok) return OkStatus();
  return InvalidArgumentError(fmt::format(
      "grant id {} cannot name a sudoers file ([A-Za-z0-9_-], at most 128 "
      "characters)",
      Shown(grant_id)));
}

Status ValidateSudoersPath(std::string_view path, std::string_view what) {
  if (path.size() <= kMaxPathLength && IsNormalisedAbsolutePath(path)) {
    return OkStatus();
  }
  return InvalidArgumentError(fmt::format(
      "{} {} must be an absolute, normalised path of letters, digits and "
      "_ . + - /",
      what, Shown(path)));
}

Status ValidatePamServiceName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return IsAlnum(c) || c == '_' || c == '-' || c == '.';
            });
  if (ok) return OkStatus();
  return InvalidArgumentError(fmt::format(
      "pam_service {} must be a PAM service name ([A-Za-z0-9_.-], not "
      "starting with \".\", at most 64 characters)",
      Shown(name)));
}

SystemTime NotAfterFor(SystemTime expires_at) {
  return std::chrono::floor<std::chrono::seconds>(expires_at) -
         std::chrono::seconds(1);
}

std::string FormatNotAfter(SystemTime t) {
  // date::format on a sys_time prints UTC; TZ is never consulted.
  return date::format(kNotAfterFormat,
                      std::chrono::floor<std::chrono::seconds>(t));
}

std::string RenderDropIn(const SudoRule& rule) {
  std::string out = fmt::format(
      "# Written by jitd for grant {}; removed when the grant ends.\n"
      "# expires_at {}\n"
      "Defaults:{} logfile={}, log_format=json\n",
      rule.grant_id, FormatTime(rule.expires_at), rule.user, rule.logfile);
  if (rule.pam_service) {
    out += fmt::format("Defaults:{} pam_service={}\n", rule.user,
                       *rule.pam_service);
  }
  out += fmt::format("{} ALL=({}) {}{} NOPASSWD: {}\n", rule.user, rule.runas,
                     kNotAfterKey, FormatNotAfter(NotAfterFor(rule.expires_at)),
                     fmt::join(rule.commands, ", "));
  return out;
}

StatusOr<std::optional<SystemTime>> ReadNotAfter(std::string_view text) {
  size_t at = text.find(kNotAfterKey);
  if (at == std::string_view::npos) return std::optional<SystemTime>();
  std::string value(text.substr(at + sizeof(kNotAfterKey) - 1, 15));
  std::istringstream in(value);
  date::sys_seconds t;
  in >> date::parse(kNotAfterFormat, t);
  if (in.fail() || value.size() != 15) {
    return InvalidArgumentError(
        fmt::format("unreadable NOTAFTER {}", Shown(value)));
  }
  return std::optional<SystemTime>(t);
}

}  // namespace jit
