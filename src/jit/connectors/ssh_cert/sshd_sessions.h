#pragma once

#include <sys/types.h>

#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "jit/base/status.h"

namespace jit {

// A login sshd recorded as authenticated by a certificate.
struct SshdCertLogin {
  std::string user;
  std::string key_id;
  uint64_t serial = 0;
  std::string client_address;  // normalised (inet_ntop of the parsed form)
  uint16_t client_port = 0;
  // The server end, from the preceding "Connection from" line; empty/0
  // when the log does not have it.
  std::string server_address;
  uint16_t server_port = 0;
};

// The certificate logins in sshd log text (LogLevel VERBOSE; plain `-E`
// lines or syslog lines with a prefix), the latest per TCP connection:
//   Connection from A port P on B port Q rdomain ""
//   Accepted publickey for USER from A port P ssh2: T-CERT SHA256:.. ID KEYID
//     (serial N) CA T SHA256:..
// A later "Connection from" the same A:P forgets the earlier login there.
// Pure; thread-safe.
std::vector<SshdCertLogin> ParseSshdLog(std::string_view log);

// A live sshd connection process serving one of the logins.
struct SshdSession {
  pid_t pid = 0;  // the per-connection sshd monitor ("sshd: USER [priv]")
  SshdCertLogin login;
};

// The sshd processes that hold an established TCP connection matching one
// of `logins` (client end, and server end when known), looked up in
// /proc/net/tcp{,6} and /proc/PID/fd. Of the processes holding a
// connection, the outermost (the monitor) is reported. Reads only; needs
// permission to read other processes' fds (root). kUnavailable when /proc
// cannot be read.
StatusOr<std::vector<SshdSession>> FindLiveSshdSessions(
    const std::vector<SshdCertLogin>& logins);

// Sends `sig` to each of `roots`, their descendants, and every process in
// a POSIX session led by one of those (a user's shell and its jobs). Never
// signals pid 1 or this process. Best effort: processes gone meanwhile
// are skipped.
void SignalProcessTrees(const std::set<pid_t>& roots, int sig);

}  // namespace jit
