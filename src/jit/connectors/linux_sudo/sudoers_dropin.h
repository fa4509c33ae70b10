#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"

namespace jit {

// The text of one sudoers drop-in file (one per grant) and the checks that
// keep every value in it from being read as sudoers syntax. Pure functions;
// thread-safe.

// What one grant writes into sudoers. Every field must have passed the
// Validate* functions below; RenderDropIn does not check again.
struct SudoRule {
  std::string grant_id;
  std::string user;   // who may run the commands
  std::string runas;  // as whom
  // Absolute paths, each optionally followed by fixed arguments, or exactly
  // {"ALL"}.
  std::vector<std::string> commands;
  SystemTime expires_at{};  // the grant's end; see NotAfterFor
  std::string logfile;      // sudo's log of this user's commands (JSON)
  std::optional<std::string> pam_service;
};

// A Linux user name as sudoers may take it unquoted: [a-z_][a-z0-9_-]*, at
// most 32 characters. kInvalidArgument naming `what` otherwise.
Status ValidateUserName(std::string_view name, std::string_view what);

// One `commands` entry: "ALL", or an absolute, normalised path of
// [A-Za-z0-9_.+-/] (no "//", "/./", "/../", no trailing "/": a directory
// would allow every program in it), optionally followed by arguments of
// [A-Za-z0-9_.+-/@%] separated by single spaces. Anything sudoers gives a
// meaning to (",", ":", "=", "\\", quotes, wildcards, newlines, "!") is
// refused with kInvalidArgument.
Status ValidateCommand(std::string_view command);

// The whole `commands` list: 1..64 entries, each valid, "ALL" only alone.
Status ValidateCommands(const std::vector<std::string>& commands);

// A grant id usable in a sudoers.d file name: [A-Za-z0-9_-], 1..128 chars
// (sudo skips names with "." or ending in "~", so those must not occur).
Status ValidateGrantId(std::string_view grant_id);

// An absolute, normalised path of [A-Za-z0-9_.+-/] (a sudoers Defaults
// value or a config path). kInvalidArgument naming `what` otherwise.
Status ValidateSudoersPath(std::string_view path, std::string_view what);
// A PAM service name: [A-Za-z0-9_-] plus "." not first, 1..64 chars.
Status ValidatePamServiceName(std::string_view name);

// The NOTAFTER written for a grant ending at `expires_at`. sudo compares
// whole seconds and still allows during the NOTAFTER second itself, so this
// is the whole second that ends at or before `expires_at` minus one: sudo's
// last allowed instant then lies before `expires_at`, never after.
SystemTime NotAfterFor(SystemTime expires_at);

// `t` as sudoers NOTAFTER text: UTC "YYYYMMDDHHMMSSZ" with the Z, whatever
// the process time zone (THREATS T26). Rounded down to the second.
std::string FormatNotAfter(SystemTime t);

// The drop-in file's content.
std::string RenderDropIn(const SudoRule& rule);

// The NOTAFTER of the user spec in drop-in `text`; nullopt when it has
// none. kInvalidArgument when a NOTAFTER is there but unreadable.
StatusOr<std::optional<SystemTime>> ReadNotAfter(std::string_view text);

}  // namespace jit
