#pragma once

#include <string>
#include <string_view>

#include "jit/base/status.h"

namespace jit {

// Whether a connection string may carry its own password.
enum class DsnPassword { kAllowed, kRefused };

// Checks a PostgreSQL connection string (libpq key=value or
// postgresql:// URI) the way libpq parses it. Errors: kInvalidArgument when
// libpq cannot parse it, or it holds a password and `password` is kRefused
// (a password belongs in a file only jitd can read, not in the config).
// The message never repeats the string (it may hold a secret).
Status CheckDsn(std::string_view dsn, DsnPassword password);

// The connection string stored in `path`: an absolute path to a regular
// file that group and others cannot access (the rule libpq applies to
// ~/.pgpass), holding one non-empty line (a trailing newline is dropped).
// kInvalidArgument otherwise, naming the path and the reason.
StatusOr<std::string> ReadDsnFile(const std::string& path);

// `dsn` with jitd's defaults for keywords it leaves unset: connect_timeout
// (so a lost network fails a connect in seconds, not minutes) and
// fallback_application_name=jitd (visible in pg_stat_activity). `dsn` must
// have passed CheckDsn.
std::string WithConnectDefaults(const std::string& dsn);

}  // namespace jit
