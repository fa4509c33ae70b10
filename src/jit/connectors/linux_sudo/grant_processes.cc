#include "jit/connectors/linux_sudo/grant_processes.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <map>
#include <set>
#include <system_error>
#include <thread>

namespace jit {
namespace {

using namespace std::chrono_literals;

constexpr size_t kMaxCmdline = 4096;
constexpr size_t kMaxEnviron = 256 * 1024;
constexpr int kMaxKillRounds = 5;
constexpr auto kPollEvery = 20ms;
constexpr auto kKillWait = 1s;

// Reads at most `cap` bytes; nullopt when the file cannot be opened or read
// (typically: the process is gone).
std::optional<std::string> ReadSmallFile(const std::filesystem::path& path,
                                         size_t cap) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  while (out.size() < cap) {
    ssize_t n = ::read(fd, buf, std::min(sizeof(buf), cap - out.size()));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

template <typename T>
bool ParseNumber(std::string_view text, T& out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::vector<std::string_view> SplitSpaces(std::string_view text) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    if (end > pos) out.push_back(text.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

struct StatFields {
  char state = '?';
  pid_t ppid = 0;
  unsigned long long start_ticks = 0;
};

// /proc/PID/stat: "pid (comm) state ppid ... starttime ...". comm may hold
// spaces and parentheses, so fields are counted from the last ')'.
std::optional<StatFields> ReadStat(const std::filesystem::path& dir) {
  std::optional<std::string> text = ReadSmallFile(dir / "stat", 4096);
  if (!text) return std::nullopt;
  size_t close = text->rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::vector<std::string_view> f =
      SplitSpaces(std::string_view(*text).substr(close + 1));
  constexpr size_t kStartTimeIndex = 19;  // field 22 counted from state (3)
  if (f.size() <= kStartTimeIndex || f[0].size() != 1) return std::nullopt;
  StatFields out;
  out.state = f[0][0];
  if (!ParseNumber(f[1], out.ppid) ||
      !ParseNumber(f[kStartTimeIndex], out.start_ticks)) {
    return std::nullopt;
  }
  return out;
}

std::optional<uid_t> ReadRealUid(const std::filesystem::path& dir) {
  std::optional<std::string> text = ReadSmallFile(dir / "status", 16384);
  if (!text) return std::nullopt;
  size_t at = text->find("\nUid:");
  if (at == std::string::npos) return std::nullopt;
  size_t begin = text->find_first_not_of(" \t", at + 5);
  size_t end = text->find_first_of(" \t\n", begin);
  if (begin == std::string::npos || end == std::string::npos) {
    return std::nullopt;
  }
  uid_t uid = 0;
  if (!ParseNumber(std::string_view(*text).substr(begin, end - begin), uid)) {
    return std::nullopt;
  }
  return uid;
}

std::string ReadExe(const std::filesystem::path& dir) {
  std::error_code ec;
  std::string exe = std::filesystem::read_symlink(dir / "exe", ec).string();
  if (ec) return "";
  constexpr std::string_view kDeleted = " (deleted)";
  if (exe.size() > kDeleted.size() &&
      exe.compare(exe.size() - kDeleted.size(), kDeleted.size(), kDeleted) ==
          0) {
    exe.resize(exe.size() - kDeleted.size());
  }
  return exe;
}

std::string ReadCmdline(const std::filesystem::path& dir) {
  std::string text = ReadSmallFile(dir / "cmdline", kMaxCmdline).value_or("");
  while (!text.empty() && text.back() == '\0') text.pop_back();
  std::replace(text.begin(), text.end(), '\0', ' ');
  return text;
}

std::optional<std::string> ReadSudoUser(const std::filesystem::path& dir) {
  std::optional<std::string> env = ReadSmallFile(dir / "environ", kMaxEnviron);
  if (!env) return std::nullopt;
  constexpr std::string_view kKey = "SUDO_USER=";
  std::string_view rest(*env);
  while (!rest.empty()) {
    size_t nul = rest.find('\0');
    std::string_view entry = rest.substr(0, nul);
    if (entry.substr(0, kKey.size()) == kKey) {
      return std::string(entry.substr(kKey.size()));
    }
    if (nul == std::string_view::npos) break;
    rest.remove_prefix(nul + 1);
  }
  return std::nullopt;
}

struct BootClock {
  long long boot_seconds = 0;  // /proc/stat btime
  long ticks_per_second = 100;
};

StatusOr<BootClock> ReadBootClock(const std::filesystem::path& proc_root) {
  std::optional<std::string> text =
      ReadSmallFile(proc_root / "stat", 1024 * 1024);
  if (!text) {
    return UnavailableError(
        fmt::format("cannot read {}", (proc_root / "stat").string()));
  }
  size_t at = text->find("\nbtime ");
  size_t end = at == std::string::npos ? at : text->find('\n', at + 7);
  BootClock out;
  if (at == std::string::npos || end == std::string::npos ||
      !ParseNumber(std::string_view(*text).substr(at + 7, end - at - 7),
                   out.boot_seconds)) {
    return UnavailableError("no btime in /proc/stat");
  }
  long hz = ::sysconf(_SC_CLK_TCK);
  if (hz > 0) out.ticks_per_second = hz;
  return out;
}

SystemTime StartTime(const BootClock& boot, unsigned long long ticks) {
  auto since_boot = std::chrono::milliseconds(static_cast<long long>(ticks) *
                                              1000 / boot.ticks_per_second);
  return SystemTime(std::chrono::seconds(boot.boot_seconds)) + since_boot;
}

std::optional<ProcessInfo> ReadProcess(const std::filesystem::path& dir,
                                       pid_t pid, const BootClock& boot) {
  std::optional<StatFields> stat = ReadStat(dir);
  if (!stat || stat->state == 'Z' || stat->state == 'X') return std::nullopt;
  std::optional<uid_t> uid = ReadRealUid(dir);
  if (!uid) return std::nullopt;
  ProcessInfo p;
  p.pid = pid;
  p.ppid = stat->ppid;
  p.real_uid = *uid;
  p.start_ticks = stat->start_ticks;
  p.started = StartTime(boot, stat->start_ticks);
  p.exe = ReadExe(dir);
  p.cmdline = ReadCmdline(dir);
  p.sudo_user = ReadSudoUser(dir);
  return p;
}

// Whether `p` (pid + start time) is still a live process.
bool StillThere(const std::filesystem::path& proc_root, const ProcessInfo& p) {
  std::optional<StatFields> stat = ReadStat(proc_root / std::to_string(p.pid));
  return stat && stat->state != 'Z' && stat->state != 'X' &&
         stat->start_ticks == p.start_ticks;
}

// Signals `p` only if it is still the process that was selected: the pidfd
// pins the process, then the start time is checked against it.
void SignalProcess(const std::filesystem::path& proc_root, const ProcessInfo& p,
                   int sig) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
  if (fd < 0) {
    if (errno == ENOSYS && StillThere(proc_root, p)) ::kill(p.pid, sig);
    return;
  }
  if (StillThere(proc_root, p)) {
    ::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0);
  }
  ::close(fd);
}

void SignalAll(const std::filesystem::path& proc_root,
               const std::vector<ProcessInfo>& procs, int sig) {
  for (const ProcessInfo& p : procs) SignalProcess(proc_root, p, sig);
}

// Polls until none of `procs` is left or `until`; true when none is left.
bool WaitGone(const std::filesystem::path& proc_root,
              const std::vector<ProcessInfo>& procs, Deadline until) {
  while (true) {
    bool any = std::any_of(
        procs.begin(), procs.end(),
        [&](const ProcessInfo& p) { return StillThere(proc_root, p); });
    if (!any) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(kPollEvery);
  }
}

StatusOr<std::vector<ProcessInfo>> SelectNow(
    const std::filesystem::path& proc_root, const GrantProcessQuery& q) {
  StatusOr<std::vector<ProcessInfo>> table = ReadProcessTable(proc_root);
  if (!table.ok()) return table.status();
  return SelectGrantProcesses(*table, q);
}

}  // namespace

StatusOr<std::vector<ProcessInfo>> ReadProcessTable(
    const std::filesystem::path& proc_root) {
  StatusOr<BootClock> boot = ReadBootClock(proc_root);
  if (!boot.ok()) return boot.status();
  std::error_code ec;
  std::filesystem::directory_iterator it(proc_root, ec);
  if (ec) {
    return UnavailableError(
        fmt::format("cannot list {}: {}", proc_root.string(), ec.message()));
  }
  std::vector<ProcessInfo> out;
  for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
    if (ec) {
      return UnavailableError(
          fmt::format("cannot list {}: {}", proc_root.string(), ec.message()));
    }
    pid_t pid = 0;
    if (!ParseNumber(it->path().filename().string(), pid) || pid <= 0) {
      continue;
    }
    std::optional<ProcessInfo> p = ReadProcess(it->path(), pid, *boot);
    if (p) out.push_back(*std::move(p));
  }
  return out;
}

std::vector<ProcessInfo> SelectGrantProcesses(
    const std::vector<ProcessInfo>& table, const GrantProcessQuery& q) {
  const SystemTime earliest = q.since - kStartSlack;
  std::set<pid_t> chosen;
  for (const ProcessInfo& p : table) {
    if (p.started < earliest) continue;
    bool sudo_of_user = q.uid && p.exe == q.sudo_exe && p.real_uid == *q.uid;
    bool under_sudo_of_user = p.sudo_user && *p.sudo_user == q.user;
    if (sudo_of_user || under_sudo_of_user) chosen.insert(p.pid);
  }
  std::multimap<pid_t, pid_t> children;  // ppid -> pid
  for (const ProcessInfo& p : table) children.emplace(p.ppid, p.pid);
  std::vector<pid_t> queue(chosen.begin(), chosen.end());
  while (!queue.empty()) {  // bounded: each pid enters `chosen` once
    pid_t parent = queue.back();
    queue.pop_back();
    auto [begin, end] = children.equal_range(parent);
    for (auto it = begin; it != end; ++it) {
      if (chosen.insert(it->second).second) queue.push_back(it->second);
    }
  }
  std::vector<ProcessInfo> out;
  for (const ProcessInfo& p : table) {
    if (chosen.count(p.pid)) out.push_back(p);
  }
  std::sort(
      out.begin(), out.end(),
      [](const ProcessInfo& a, const ProcessInfo& b) { return a.pid < b.pid; });
  return out;
}

std::vector<Session> SessionsOf(const std::vector<ProcessInfo>& selected) {
  std::set<pid_t> pids;
  for (const ProcessInfo& p : selected) pids.insert(p.pid);
  std::vector<Session> out;
  for (const ProcessInfo& p : selected) {
    if (pids.count(p.ppid)) continue;
    out.push_back(Session{std::to_string(p.pid),
                          fmt::format("pid {}: {}", p.pid, p.cmdline)});
  }
  return out;
}

StatusOr<std::vector<ProcessInfo>> EndGrantProcesses(
    const std::filesystem::path& proc_root, const GrantProcessQuery& q,
    std::chrono::milliseconds grace, Deadline deadline) {
  for (int round = 0; round < kMaxKillRounds; ++round) {
    StatusOr<std::vector<ProcessInfo>> procs = SelectNow(proc_root, q);
    if (!procs.ok() || procs->empty()) return procs;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return procs;
    if (round == 0) {
      // SIGTERM first: sudo passes it on to the command, which may clean
      // up. SIGCONT wakes stopped processes so they see it.
      SignalAll(proc_root, *procs, SIGTERM);
      SignalAll(proc_root, *procs, SIGCONT);
      WaitGone(proc_root, *procs, std::min<Deadline>(now + grace, deadline));
      continue;
    }
    SignalAll(proc_root, *procs, SIGKILL);
    WaitGone(proc_root, *procs, std::min<Deadline>(now + kKillWait, deadline));
  }
  return SelectNow(proc_root, q);
}

}  // namespace jit
