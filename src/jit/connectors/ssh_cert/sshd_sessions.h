#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
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
  // The pid in the line's `sshd[PID]:` / `sshd-session[PID]:` syslog tag;
  // 0 for sshd's own -E lines, which carry none.
  pid_t sshd_pid = 0;
};

// The certificate logins in sshd log text (LogLevel VERBOSE):
//   Connection from A port P on B port Q rdomain ""
//   Accepted publickey for USER from A port P ssh2: T-CERT SHA256:.. ID KEYID
//     (serial N) CA T SHA256:..
// Only two line shapes count, so that text sshd logs from a client (a user
// name) or a local user logs through syslog (`logger`) cannot pass for them:
//  - sshd's own -E lines: the message starts the line. A later "Connection
//    from" the same A:P forgets the earlier login there (sshd wrote both).
//  - syslog lines whose tag, the first word ending in ':', is `sshd[PID]:`
//    or `sshd-session[PID]:`, the message right after it. Anyone can log
//    such a tag, so these lines only ever add: each (A:P, PID, KEYID) is a
//    login of its own, "Connection from" forgets nothing (it gives the
//    server end if none is known yet), and FindLiveSshdSessions keeps a
//    login only when PID is the process holding the connection. A forged
//    line can thus not hide a login; at worst it names a second grant for
//    a live connection.
// Pure; thread-safe.
std::vector<SshdCertLogin> ParseSshdLog(std::string_view log);

// A live sshd connection process serving one of the logins.
struct SshdSession {
  pid_t pid = 0;  // the per-connection sshd monitor ("sshd: USER [priv]")
  SshdCertLogin login;
};

// The sshd processes that hold an established TCP connection matching one
// of `logins`, looked up in /proc/net/tcp{,6} and /proc/PID/fd. A login
// from an -E line matches by client end, and server end when known; one
// from a syslog line by client end and its sshd_pid, which must be the
// holding process. Of the processes holding a connection,
// the outermost (the monitor) is reported. Reads only; needs permission to
// read other processes' fds (root). kUnavailable when /proc, or the fds of
// a live sshd process, cannot be read: a session could hide there.
StatusOr<std::vector<SshdSession>> FindLiveSshdSessions(
    const std::vector<SshdCertLogin>& logins);

// Sends `sig` to each of `roots`, their descendants, and every process in
// a POSIX session led by one of those (a user's shell and its jobs). Never
// signals pid 1 or this process. Each process is signalled through a pidfd
// after checking its start time against the /proc snapshot, so a pid
// reused meanwhile is never hit. Best effort: processes gone meanwhile are
// skipped.
void SignalProcessTrees(const std::set<pid_t>& roots, int sig);

// A process as seen once in /proc: the pid and its start time (clock ticks
// since boot), which together name it across pid reuse.
struct ProcessIdentity {
  pid_t pid = 0;
  unsigned long long start_ticks = 0;
};

// The identity of live (not zombie) process `pid`; nullopt when it is gone.
std::optional<ProcessIdentity> IdentifyProcess(pid_t pid);

// Sends `sig` to `p` only if it is still that process: a pidfd pins the
// pid, then the start time is compared. Returns whether it was signalled.
bool SignalIfSame(const ProcessIdentity& p, int sig);

}  // namespace jit
