#include "jit/connectors/ssh_cert/sshd_sessions.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <tuple>

namespace jit {
namespace {

struct Endpoint {
  std::string address;
  uint16_t port = 0;
  auto operator<=>(const Endpoint&) const = default;
};

struct Connection {
  Endpoint local;
  Endpoint remote;
};

std::vector<std::string_view> Words(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t start = s.find_first_not_of(' ');
    if (start == std::string_view::npos) break;
    s.remove_prefix(start);
    size_t end = s.find(' ');
    out.push_back(s.substr(0, end));
    s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  }
  return out;
}

template <typename T>
std::optional<T> Number(std::string_view s, int base = 10) {
  T value{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return value;
}

// The canonical text of an IP address; IPv4-mapped IPv6 as plain IPv4
// (sshd logs those as IPv4 too). nullopt when it is not an address.
std::optional<std::string> NormalAddress(std::string_view text) {
  std::string s(text);
  char buf[INET6_ADDRSTRLEN];
  in_addr v4{};
  if (inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    return std::string(inet_ntop(AF_INET, &v4, buf, sizeof(buf)));
  }
  in6_addr v6{};
  if (inet_pton(AF_INET6, s.c_str(), &v6) != 1) return std::nullopt;
  if (IN6_IS_ADDR_V4MAPPED(&v6)) {
    std::memcpy(&v4, &v6.s6_addr[12], 4);
    return std::string(inet_ntop(AF_INET, &v4, buf, sizeof(buf)));
  }
  return std::string(inet_ntop(AF_INET6, &v6, buf, sizeof(buf)));
}

std::optional<Endpoint> ParseEndpoint(std::string_view address,
                                      std::string_view port) {
  std::optional<std::string> a = NormalAddress(address);
  std::optional<uint16_t> p = Number<uint16_t>(port);
  if (!a || !p) return std::nullopt;
  return Endpoint{*a, *p};
}

// "Connection from A port P on B port Q ..." -> (client, server).
std::optional<std::pair<Endpoint, Endpoint>> ParseConnectionLine(
    std::string_view rest) {
  std::vector<std::string_view> w = Words(rest);
  if (w.size() < 7 || w[1] != "port" || w[3] != "on" || w[5] != "port")
    return std::nullopt;
  std::optional<Endpoint> client = ParseEndpoint(w[0], w[2]);
  std::optional<Endpoint> server = ParseEndpoint(w[4], w[6]);
  if (!client || !server) return std::nullopt;
  return std::make_pair(*client, *server);
}

// "Accepted publickey for USER from A port P ssh2: T FP ID K (serial N) ..."
std::optional<SshdCertLogin> ParseAcceptedLine(std::string_view rest) {
  std::vector<std::string_view> w = Words(rest);
  if (w.size() < 13 || w[1] != "from" || w[3] != "port" || w[5] != "ssh2:" ||
      w[8] != "ID" || w[10] != "(serial" || w[11].empty() ||
      w[11].back() != ')') {
    return std::nullopt;
  }
  std::optional<Endpoint> client = ParseEndpoint(w[2], w[4]);
  std::optional<uint64_t> serial =
      Number<uint64_t>(w[11].substr(0, w[11].size() - 1));
  if (!client || !serial) return std::nullopt;
  SshdCertLogin login;
  login.user = std::string(w[0]);
  login.key_id = std::string(w[9]);
  login.serial = *serial;
  login.client_address = client->address;
  login.client_port = client->port;
  return login;
}

// Text after `prefix` when `text` starts with it.
std::optional<std::string_view> AfterPrefix(std::string_view text,
                                            std::string_view prefix) {
  if (text.substr(0, prefix.size()) != prefix) return std::nullopt;
  return text.substr(prefix.size());
}

constexpr std::string_view kConnectionFrom = "Connection from ";
constexpr std::string_view kAcceptedPublickey = "Accepted publickey for ";

// One sshd message: its text and the pid of its syslog tag (0: -E line).
struct SshdMessage {
  std::string_view text;
  pid_t pid = 0;
};

// PID of a syslog tag "sshd[PID]:" or "sshd-session[PID]:".
std::optional<pid_t> SshdTagPid(std::string_view tag) {
  for (std::string_view program : {"sshd[", "sshd-session["}) {
    std::optional<std::string_view> rest = AfterPrefix(tag, program);
    if (!rest || rest->size() < 3 || rest->substr(rest->size() - 2) != "]:")
      continue;
    std::optional<pid_t> pid = Number<pid_t>(rest->substr(0, rest->size() - 2));
    if (pid && *pid > 0) return pid;
  }
  return std::nullopt;
}

// The sshd message of `line`: the whole line when it starts with one of
// the messages read here (-E), else the text after the syslog tag (the
// first word ending in ':') when that tag is sshd's.
std::optional<SshdMessage> ReadSshdMessage(std::string_view line) {
  if (AfterPrefix(line, kConnectionFrom) ||
      AfterPrefix(line, kAcceptedPublickey)) {
    return SshdMessage{line, 0};
  }
  size_t pos = 0;
  while (pos < line.size()) {
    size_t start = line.find_first_not_of(' ', pos);
    if (start == std::string_view::npos) return std::nullopt;
    size_t end = line.find(' ', start);
    std::string_view word =
        line.substr(start, end == std::string_view::npos ? end : end - start);
    if (word.back() == ':') {
      std::optional<pid_t> pid = SshdTagPid(word);
      if (!pid || end == std::string_view::npos) return std::nullopt;
      return SshdMessage{line.substr(end + 1), *pid};
    }
    pos = end;
  }
  return std::nullopt;
}

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// inode -> connection, for established TCP sockets in this network
// namespace. Addresses in /proc/net are hex words in host byte order.
std::map<uint64_t, Connection> EstablishedTcp() {
  std::map<uint64_t, Connection> out;
  for (int family : {AF_INET, AF_INET6}) {
    std::istringstream in(
        ReadText(family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6"));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::vector<std::string_view> w = Words(line);
      if (w.size() < 10 || w[3] != "01") continue;  // 01 = ESTABLISHED
      auto endpoint =
          [family](std::string_view hex) -> std::optional<Endpoint> {
        size_t colon = hex.find(':');
        if (colon == std::string_view::npos) return std::nullopt;
        std::optional<uint16_t> port =
            Number<uint16_t>(hex.substr(colon + 1), 16);
        std::string_view addr = hex.substr(0, colon);
        unsigned char raw[16];
        size_t words = family == AF_INET ? 1 : 4;
        if (!port || addr.size() != words * 8) return std::nullopt;
        for (size_t i = 0; i < words; ++i) {
          std::optional<uint32_t> word =
              Number<uint32_t>(addr.substr(i * 8, 8), 16);
          if (!word) return std::nullopt;
          std::memcpy(raw + i * 4, &*word, 4);
        }
        char buf[INET6_ADDRSTRLEN];
        if (inet_ntop(family, raw, buf, sizeof(buf)) == nullptr)
          return std::nullopt;
        std::optional<std::string> normal = NormalAddress(buf);
        if (!normal) return std::nullopt;
        return Endpoint{*normal, *port};
      };
      std::optional<Endpoint> local = endpoint(w[1]);
      std::optional<Endpoint> remote = endpoint(w[2]);
      std::optional<uint64_t> inode = Number<uint64_t>(w[9]);
      if (local && remote && inode && *inode != 0)
        out[*inode] = Connection{*local, *remote};
    }
  }
  return out;
}

struct ProcInfo {
  pid_t ppid = 0;
  pid_t sid = 0;
  unsigned long long start_ticks = 0;
  std::string comm;
};

// /proc/PID/stat of a live process; nullopt when gone or a zombie.
std::optional<ProcInfo> ReadProc(pid_t pid) {
  std::string stat = ReadText("/proc/" + std::to_string(pid) + "/stat");
  size_t open = stat.find('(');
  size_t close = stat.rfind(')');  // comm may hold spaces and parentheses
  if (open == std::string::npos || close == std::string::npos || close < open)
    return std::nullopt;
  std::vector<std::string_view> w =
      Words(std::string_view(stat).substr(close + 1));
  constexpr size_t kStartTime = 19;  // field 22, counted from state (3)
  if (w.size() <= kStartTime || w[0] == "Z" || w[0] == "X")
    return std::nullopt;  // zombies hold nothing
  std::optional<pid_t> ppid = Number<pid_t>(w[1]);
  std::optional<pid_t> sid = Number<pid_t>(w[3]);
  std::optional<unsigned long long> start =
      Number<unsigned long long>(w[kStartTime]);
  if (!ppid || !sid || !start) return std::nullopt;
  return ProcInfo{*ppid, *sid, *start, stat.substr(open + 1, close - open - 1)};
}

// Every live process.
std::map<pid_t, ProcInfo> ProcessTable() {
  std::map<pid_t, ProcInfo> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::optional<pid_t> pid = Number<pid_t>(entry.path().filename().string());
    if (!pid) continue;
    if (std::optional<ProcInfo> info = ReadProc(*pid)) out[*pid] = *info;
  }
  return out;
}

bool ProcessGone(pid_t pid) {
  std::error_code ec;
  return !std::filesystem::exists("/proc/" + std::to_string(pid), ec) && !ec;
}

// The socket inodes among `pid`'s fds; empty when the process is gone.
// kUnavailable when its fds cannot be read (not root): a session held
// there would otherwise go unseen.
StatusOr<std::set<uint64_t>> SocketInodes(pid_t pid) {
  std::set<uint64_t> out;
  const std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
  auto unreadable = [&](const std::error_code& ec) -> Status {
    return UnavailableError(
        fmt::format("cannot read {}: {}", fds.string(), ec.message()));
  };
  std::error_code ec;
  std::filesystem::directory_iterator it(fds, ec);
  for (; !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::error_code link_ec;
    std::string target = std::filesystem::read_symlink(it->path(), link_ec);
    if (link_ec || target.rfind("socket:[", 0) != 0) continue;  // fd closed
    std::optional<uint64_t> inode =
        Number<uint64_t>(std::string_view(target).substr(8, target.size() - 9));
    if (inode) out.insert(*inode);
  }
  if (!ec) return out;
  if (ProcessGone(pid)) return std::set<uint64_t>();
  return unreadable(ec);
}

bool Matches(const SshdCertLogin& login, const Connection& c, pid_t holder) {
  if (login.client_address != c.remote.address ||
      login.client_port != c.remote.port) {
    return false;
  }
  if (login.sshd_pid != 0) {
    // sshd logs with the pid of the connection's monitor, which holds the
    // socket itself. Its parent (the listener) must not pass.
    return login.sshd_pid == holder;
  }
  if (login.server_port == 0) return true;
  return login.server_address == c.local.address &&
         login.server_port == c.local.port;
}

// A login is told apart by connection, logging process and grant.
struct LoginKey {
  Endpoint client;
  pid_t pid = 0;
  std::string key_id;
  auto operator<=>(const LoginKey&) const = default;
};

}  // namespace

std::vector<SshdCertLogin> ParseSshdLog(std::string_view log) {
  // (client end, tag pid) -> server end
  std::map<std::pair<Endpoint, pid_t>, Endpoint> server_of;
  std::map<LoginKey, SshdCertLogin> logins;
  while (!log.empty()) {
    size_t nl = log.find('\n');
    std::string_view line = log.substr(0, nl);
    log =
        nl == std::string_view::npos ? std::string_view() : log.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::optional<SshdMessage> msg = ReadSshdMessage(line);
    if (!msg) continue;
    if (auto rest = AfterPrefix(msg->text, kConnectionFrom)) {
      std::optional<std::pair<Endpoint, Endpoint>> ends =
          ParseConnectionLine(*rest);
      if (!ends) continue;
      if (msg->pid != 0) {  // a tagged line only adds what is not known
        server_of.try_emplace({ends->first, msg->pid}, ends->second);
        continue;
      }
      server_of[{ends->first, 0}] = ends->second;
      std::erase_if(logins, [&](const auto& entry) {
        return entry.first.pid == 0 && entry.first.client == ends->first;
      });
      continue;
    }
    if (auto rest = AfterPrefix(msg->text, kAcceptedPublickey)) {
      std::optional<SshdCertLogin> login = ParseAcceptedLine(*rest);
      if (!login) continue;
      login->sshd_pid = msg->pid;
      Endpoint client{login->client_address, login->client_port};
      auto server = server_of.find({client, msg->pid});
      if (server != server_of.end()) {
        login->server_address = server->second.address;
        login->server_port = server->second.port;
      }
      LoginKey key{client, msg->pid, login->key_id};
      logins[std::move(key)] = *std::move(login);
    }
  }
  std::vector<SshdCertLogin> out;
  for (auto& [key, login] : logins) out.push_back(std::move(login));
  return out;
}

StatusOr<std::vector<SshdSession>> FindLiveSshdSessions(
    const std::vector<SshdCertLogin>& logins) {
  if (logins.empty()) return std::vector<SshdSession>();
  if (!std::filesystem::exists("/proc/net/tcp")) {
    return UnavailableError("cannot read /proc/net/tcp");
  }
  const std::map<uint64_t, Connection> tcp = EstablishedTcp();
  const std::map<pid_t, ProcInfo> procs = ProcessTable();
  std::map<pid_t, size_t> holder;  // sshd pid -> index in logins
  for (const auto& [pid, info] : procs) {
    // "sshd", or "sshd-session" in OpenSSH 9.8 and later.
    if (info.comm.rfind("sshd", 0) != 0) continue;
    StatusOr<std::set<uint64_t>> inodes = SocketInodes(pid);
    if (!inodes.ok()) return inodes.status();
    for (uint64_t inode : *inodes) {
      auto conn = tcp.find(inode);
      if (conn == tcp.end()) continue;
      for (size_t i = 0; i < logins.size(); ++i) {
        if (Matches(logins[i], conn->second, pid)) holder[pid] = i;
      }
    }
  }
  std::vector<SshdSession> out;
  for (const auto& [pid, index] : holder) {
    // The privilege-separated child holds the socket too; report the
    // monitor above it only.
    auto parent = holder.find(procs.at(pid).ppid);
    if (parent != holder.end() && parent->second == index) continue;
    out.push_back(SshdSession{pid, logins[index]});
  }
  return out;
}

std::optional<ProcessIdentity> IdentifyProcess(pid_t pid) {
  std::optional<ProcInfo> info = ReadProc(pid);
  if (!info) return std::nullopt;
  return ProcessIdentity{pid, info->start_ticks};
}

bool SignalIfSame(const ProcessIdentity& p, int sig) {
  auto same = [&p] {
    std::optional<ProcInfo> now = ReadProc(p.pid);
    return now && now->start_ticks == p.start_ticks;
  };
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, p.pid, 0));
  if (fd < 0) {
    // Kernels before 5.3: no pinning; the start time is checked just
    // before kill().
    return errno == ENOSYS && same() && ::kill(p.pid, sig) == 0;
  }
  // With the pidfd open the pid cannot be reused: if the start time still
  // matches, the pidfd is the process that was selected.
  bool sent =
      same() && ::syscall(SYS_pidfd_send_signal, fd, sig, nullptr, 0) == 0;
  ::close(fd);
  return sent;
}

void SignalProcessTrees(const std::set<pid_t>& roots, int sig) {
  const std::map<pid_t, ProcInfo> procs = ProcessTable();
  std::set<pid_t> targets;
  for (pid_t root : roots) {
    if (procs.count(root) != 0) targets.insert(root);
  }
  for (size_t before = 0; before != targets.size();) {  // until closed
    before = targets.size();
    std::set<pid_t> sessions;
    for (pid_t t : targets) {
      auto it = procs.find(t);
      if (it != procs.end() && it->second.sid == t) sessions.insert(t);
    }
    for (const auto& [pid, info] : procs) {
      if (targets.count(info.ppid) != 0 || sessions.count(info.sid) != 0)
        targets.insert(pid);
    }
  }
  const pid_t self = ::getpid();
  for (pid_t pid : targets) {
    if (pid <= 1 || pid == self) continue;
    (void)SignalIfSame(ProcessIdentity{pid, procs.at(pid).start_ticks}, sig);
  }
}

}  // namespace jit
