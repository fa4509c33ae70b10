#include "jit/connectors/ssh_cert/sshd_sessions.h"

#include <arpa/inet.h>
#include <signal.h>
#include <unistd.h>

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

// Text after `marker` in `line`, if present.
std::optional<std::string_view> After(std::string_view line,
                                      std::string_view marker) {
  size_t at = line.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  return line.substr(at + marker.size());
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
  std::string comm;
};

// Every process from /proc/PID/stat.
std::map<pid_t, ProcInfo> ProcessTable() {
  std::map<pid_t, ProcInfo> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    std::optional<pid_t> pid = Number<pid_t>(entry.path().filename().string());
    if (!pid) continue;
    std::string stat = ReadText(entry.path() / "stat");
    size_t open = stat.find('(');
    size_t close = stat.rfind(')');  // comm may hold spaces and parentheses
    if (open == std::string::npos || close == std::string::npos) continue;
    std::vector<std::string_view> w =
        Words(std::string_view(stat).substr(close + 1));
    if (w.size() < 5 || w[0] == "Z") continue;  // zombies hold nothing
    std::optional<pid_t> ppid = Number<pid_t>(w[1]);
    std::optional<pid_t> sid = Number<pid_t>(w[3]);
    if (!ppid || !sid) continue;
    out[*pid] = ProcInfo{*ppid, *sid, stat.substr(open + 1, close - open - 1)};
  }
  return out;
}

std::set<uint64_t> SocketInodes(pid_t pid) {
  std::set<uint64_t> out;
  std::error_code ec;
  std::filesystem::path fds = "/proc/" + std::to_string(pid) + "/fd";
  for (const auto& entry : std::filesystem::directory_iterator(fds, ec)) {
    std::error_code link_ec;
    std::string target =
        std::filesystem::read_symlink(entry.path(), link_ec).string();
    if (link_ec || target.rfind("socket:[", 0) != 0) continue;
    std::optional<uint64_t> inode =
        Number<uint64_t>(std::string_view(target).substr(8, target.size() - 9));
    if (inode) out.insert(*inode);
  }
  return out;
}

bool Matches(const SshdCertLogin& login, const Connection& c) {
  if (login.client_address != c.remote.address ||
      login.client_port != c.remote.port) {
    return false;
  }
  if (login.server_port == 0) return true;
  return login.server_address == c.local.address &&
         login.server_port == c.local.port;
}

}  // namespace

std::vector<SshdCertLogin> ParseSshdLog(std::string_view log) {
  std::map<Endpoint, Endpoint> server_of;  // client -> server end
  std::map<Endpoint, SshdCertLogin> latest;
  while (!log.empty()) {
    size_t nl = log.find('\n');
    std::string_view line = log.substr(0, nl);
    log =
        nl == std::string_view::npos ? std::string_view() : log.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (auto rest = After(line, "Connection from ")) {
      if (auto ends = ParseConnectionLine(*rest)) {
        server_of[ends->first] = ends->second;
        latest.erase(ends->first);
      }
      continue;
    }
    if (auto rest = After(line, "Accepted publickey for ")) {
      std::optional<SshdCertLogin> login = ParseAcceptedLine(*rest);
      if (!login) continue;
      Endpoint client{login->client_address, login->client_port};
      auto server = server_of.find(client);
      if (server != server_of.end()) {
        login->server_address = server->second.address;
        login->server_port = server->second.port;
      }
      latest[client] = *std::move(login);
    }
  }
  std::vector<SshdCertLogin> out;
  for (auto& [client, login] : latest) out.push_back(std::move(login));
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
    for (uint64_t inode : SocketInodes(pid)) {
      auto conn = tcp.find(inode);
      if (conn == tcp.end()) continue;
      for (size_t i = 0; i < logins.size(); ++i) {
        if (Matches(logins[i], conn->second)) holder[pid] = i;
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
    if (pid > 1 && pid != self) ::kill(pid, sig);
  }
}

}  // namespace jit
