#include "jit/connectors/linux_sudo/linux_sudo_connector.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/base/status_macros.h"
#include "jit/connectors/common/config_json.h"
#include "jit/connectors/common/deadline.h"
#include "jit/connectors/common/params.h"
#include "jit/connectors/linux_sudo/grant_processes.h"
#include "jit/connectors/linux_sudo/sudo_log.h"
#include "jit/connectors/linux_sudo/sudoers_dropin.h"

namespace jit {
namespace {

using namespace std::chrono_literals;

constexpr char kDropInPrefix[] = "jitd_";
constexpr char kPath[] = "/usr/sbin:/usr/bin:/sbin:/bin";
constexpr auto kTermGrace = 2s;
constexpr size_t kMaxDropIn = 64 * 1024;
constexpr uintmax_t kMaxLogBytes = 64 * 1024 * 1024;
constexpr size_t kMaxActivityText = 4096;
constexpr size_t kMaxStderrInMessage = 512;

const std::vector<std::string> kKnownKeys = {
    "name",        "type",    "sudoers_dir", "visudo",
    "pam_service", "log_dir", "timeout",     "discovery"};
const std::vector<std::string> kKnownParams = {"commands", "runas", "user"};

std::string ErrnoText(int err) { return std::strerror(err); }

// The account's uid; nullopt when there is no such account.
StatusOr<std::optional<uid_t>> LookupUid(const std::string& user) {
  struct passwd pw;
  struct passwd* found = nullptr;
  std::vector<char> buf(16384);
  int rc = ::getpwnam_r(user.c_str(), &pw, buf.data(), buf.size(), &found);
  if (rc != 0) {
    return UnavailableError(
        fmt::format("cannot look up user \"{}\": {}", user, ErrnoText(rc)));
  }
  if (found == nullptr) return std::optional<uid_t>();
  return std::optional<uid_t>(pw.pw_uid);
}

Status RequireAccount(const std::string& user, std::string_view what) {
  JIT_ASSIGN_OR_RETURN(std::optional<uid_t> uid, LookupUid(user));
  if (!uid) {
    return InvalidArgumentError(
        fmt::format("{} \"{}\" has no account on this host", what, user));
  }
  return OkStatus();
}

// nullopt when the file does not exist.
StatusOr<std::optional<std::string>> ReadOptionalFile(
    const std::filesystem::path& path, uintmax_t cap) {
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec == std::errc::no_such_file_or_directory) {
    return std::optional<std::string>();
  }
  if (ec) {
    return UnavailableError(
        fmt::format("cannot stat {}: {}", path.string(), ec.message()));
  }
  if (size > cap) {
    return ResourceExhaustedError(fmt::format(
        "{} is {} bytes, over the {} read here", path.string(), size, cap));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!std::filesystem::exists(path, ec)) return std::optional<std::string>();
    return UnavailableError(fmt::format("cannot open {}", path.string()));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return std::optional<std::string>(text.str());
}

Status RemoveIfPresent(const std::filesystem::path& path) {
  if (::unlink(path.c_str()) == 0 || errno == ENOENT) return OkStatus();
  return UnavailableError(
      fmt::format("cannot remove {}: {}", path.string(), ErrnoText(errno)));
}

Status SyncDirectory(const std::filesystem::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return UnavailableError(
        fmt::format("cannot open {}: {}", dir.string(), ErrnoText(errno)));
  }
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) {
    return UnavailableError(
        fmt::format("cannot sync {}: {}", dir.string(), ErrnoText(err)));
  }
  return OkStatus();
}

// Creates `path` (which must not exist) as root-owned 0440 with `content`.
Status WriteNewFile(const std::filesystem::path& path,
                    const std::string& content) {
  int fd = ::open(path.c_str(),
                  O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0440);
  if (fd < 0) {
    return UnavailableError(
        fmt::format("cannot create {}: {}", path.string(), ErrnoText(errno)));
  }
  std::string_view rest = content;
  Status status;
  while (status.ok() && !rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = UnavailableError(
          fmt::format("cannot write {}: {}", path.string(), ErrnoText(errno)));
    } else {
      rest.remove_prefix(static_cast<size_t>(n));
    }
  }
  // umask may have narrowed the mode; sudo wants exactly root and 0440.
  if (status.ok() && (::fchown(fd, 0, 0) != 0 || ::fchmod(fd, 0440) != 0)) {
    status = UnavailableError(fmt::format("cannot make {} root-owned 0440: {}",
                                          path.string(), ErrnoText(errno)));
  }
  if (status.ok() && ::fsync(fd) != 0) {
    status = UnavailableError(
        fmt::format("cannot sync {}: {}", path.string(), ErrnoText(errno)));
  }
  ::close(fd);
  return status;
}

std::string Trimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  while (!text.empty() &&
         std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  return std::string(text.substr(0, kMaxStderrInMessage));
}

// Cut to at most `cap` bytes on a UTF-8 character boundary.
std::string Capped(std::string text, size_t cap) {
  if (text.size() <= cap) return text;
  size_t cut = cap;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80)
    --cut;
  text.resize(cut);
  return text;
}

StatusOr<std::string> ReadPath(const ConnectorConfigReader& reader,
                               std::string_view key, std::string fallback) {
  JIT_ASSIGN_OR_RETURN(std::optional<std::string> value, reader.String(key));
  std::string path = value.value_or(std::move(fallback));
  Status valid = ValidateSudoersPath(path, fmt::format("\"{}\"", key));
  if (!valid.ok()) return reader.Error(valid.message());
  return path;
}

Status CheckParams(const GrantSpec& g) {
  for (const auto& [name, json] : g.params_json) {
    if (std::find(kKnownParams.begin(), kKnownParams.end(), name) ==
        kKnownParams.end()) {
      return InvalidArgumentError(fmt::format(
          "unknown param \"{}\" (known: commands, runas, user)", name));
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<LinuxSudoConfig> ParseLinuxSudoConfig(const ConnectorConfig& config) {
  JIT_ASSIGN_OR_RETURN(ConnectorConfigReader reader,
                       ConnectorConfigReader::Parse(config, kKnownKeys));
  JIT_RETURN_IF_ERROR(reader.String("name").status());
  JIT_RETURN_IF_ERROR(reader.String("type").status());
  LinuxSudoConfig out;
  out.name = config.name;
  JIT_ASSIGN_OR_RETURN(out.sudoers_dir,
                       ReadPath(reader, "sudoers_dir", "/etc/sudoers.d"));
  JIT_ASSIGN_OR_RETURN(out.visudo,
                       ReadPath(reader, "visudo", "/usr/sbin/visudo"));
  JIT_ASSIGN_OR_RETURN(out.log_dir,
                       ReadPath(reader, "log_dir", "/var/log/jitd"));
  JIT_ASSIGN_OR_RETURN(std::optional<std::string> pam_service,
                       reader.String("pam_service"));
  if (pam_service) {
    Status valid = ValidatePamServiceName(*pam_service);
    if (!valid.ok()) return reader.Error(valid.message());
    out.pam_service = std::move(pam_service);
  }
  JIT_ASSIGN_OR_RETURN(std::optional<Duration> timeout,
                       reader.DurationValue("timeout"));
  if (timeout) out.timeout = *timeout;
  return out;
}

LinuxSudoConnector::LinuxSudoConnector(LinuxSudoConfig config,
                                       CommandRunner& runner,
                                       const Clock& clock)
    : config_(std::move(config)), runner_(runner), clock_(clock) {}

std::filesystem::path LinuxSudoConnector::DropInPath(
    const std::string& grant_id) const {
  return config_.sudoers_dir / (kDropInPrefix + grant_id);
}

std::filesystem::path LinuxSudoConnector::LogFile(
    const std::string& user) const {
  return config_.log_dir / ("sudo_" + user + ".log");
}

std::string LinuxSudoConnector::Context(std::string_view what,
                                        const GrantSpec& g) const {
  return fmt::format("connector \"{}\": {} {}", config_.name, what, g.grant_id);
}

Status LinuxSudoConnector::RunVisudo(const std::filesystem::path& file,
                                     Deadline deadline) const {
  JIT_ASSIGN_OR_RETURN(std::chrono::milliseconds left,
                       TimeLeft(deadline, "visudo"));
  JIT_ASSIGN_OR_RETURN(
      CommandResult r,
      runner_.Run({config_.visudo, "-c", "-f", file.string()},
                  {{"PATH", kPath}}, std::min(config_.timeout, left)));
  if (r.exit_code == 0) return OkStatus();
  // Validation should have kept out anything sudoers refuses; if visudo
  // still objects, the same params will fail again.
  std::string err = Trimmed(r.err.empty() ? r.out : r.err);
  return InvalidArgumentError(fmt::format(
      "visudo refused the drop-in (exit {}): {}", r.exit_code, err));
}

Status LinuxSudoConnector::WriteValidated(const std::filesystem::path& path,
                                          const std::string& content,
                                          Deadline deadline) const {
  // sudo skips names holding a ".", so a half-written or refused file is
  // never read.
  std::filesystem::path temp =
      path.parent_path() /
      fmt::format(".{}.{}.tmp", path.filename().string(), RandomHex(8));
  Status status = WriteNewFile(temp, content);
  if (status.ok()) status = RunVisudo(temp, deadline);
  if (status.ok() && ::rename(temp.c_str(), path.c_str()) != 0) {
    status = UnavailableError(fmt::format("cannot rename {} to {}: {}",
                                          temp.string(), path.string(),
                                          ErrnoText(errno)));
  }
  if (!status.ok()) {
    (void)RemoveIfPresent(temp);  // best effort: sudo ignores the name
    return status;
  }
  return SyncDirectory(path.parent_path());
}

Status LinuxSudoConnector::Grant(const GrantSpec& g, Deadline deadline) {
  const std::string context = Context("grant", g);
  JIT_RETURN_IF_ERROR(TimeLeft(deadline, context).status());
  SudoRule rule;
  rule.grant_id = g.grant_id;
  rule.user = g.target_user;
  rule.runas = "root";
  rule.expires_at = g.expires_at;
  rule.logfile = LogFile(g.target_user).string();
  rule.pam_service = config_.pam_service;
  Status status = ValidateGrantId(g.grant_id);
  if (status.ok()) status = CheckParams(g);
  if (status.ok()) status = ValidateUserName(g.target_user, "target user");
  if (status.ok()) {
    StatusOr<std::vector<std::string>> commands =
        GetStringListParam(g, "commands");
    status = commands.status();
    if (status.ok()) rule.commands = *std::move(commands);
  }
  if (status.ok()) status = ValidateCommands(rule.commands);
  if (status.ok() && HasParam(g, "runas")) {
    StatusOr<std::string> runas = GetStringParam(g, "runas");
    status = runas.status();
    if (status.ok()) rule.runas = *std::move(runas);
    if (status.ok()) status = ValidateUserName(rule.runas, "runas");
  }
  if (status.ok()) status = RequireAccount(rule.user, "target user");
  if (status.ok()) status = RequireAccount(rule.runas, "runas");
  if (!status.ok()) return status.WithContext(context);

  const std::filesystem::path path = DropInPath(g.grant_id);
  const std::string content = RenderDropIn(rule);
  StatusOr<std::optional<std::string>> current =
      ReadOptionalFile(path, kMaxDropIn);
  if (current.ok() && *current == content) return OkStatus();
  std::error_code ec;
  std::filesystem::create_directories(config_.log_dir, ec);
  if (ec) {
    return UnavailableError(fmt::format("cannot create {}: {}",
                                        config_.log_dir.string(), ec.message()))
        .WithContext(context);
  }
  status = WriteValidated(path, content, deadline);
  if (!status.ok()) return status.WithContext(context);
  return OkStatus();
}

Status LinuxSudoConnector::ClearTimestamp(const std::string& user) const {
  return RemoveIfPresent(config_.timestamp_dir / user);
}

Status LinuxSudoConnector::Revoke(const GrantSpec& g, Deadline deadline) {
  const std::string context = Context("revoke", g);
  JIT_RETURN_IF_ERROR(TimeLeft(deadline, context).status());
  Status status = ValidateGrantId(g.grant_id);
  if (!status.ok()) return status.WithContext(context);
  status = RemoveIfPresent(DropInPath(g.grant_id));
  if (status.ok()) status = SyncDirectory(config_.sudoers_dir);
  if (!status.ok()) return status.WithContext(context);
  // A user name Grant would have refused never got a drop-in, so there are
  // no sessions or timestamps of it to clean up.
  if (!ValidateUserName(g.target_user, "target user").ok()) return OkStatus();
  status = ClearTimestamp(g.target_user);
  if (!status.ok()) return status.WithContext(context);
  // Survivors are not an error here: KillSessions reports them.
  StatusOr<std::vector<Session>> survivors = KillSessions(g, deadline);
  if (!survivors.ok() &&
      survivors.status().code() != StatusCode::kDeadlineExceeded) {
    return survivors.status();
  }
  return OkStatus();
}

StatusOr<bool> LinuxSudoConnector::IsActive(const GrantSpec& g,
                                            Deadline deadline) {
  const std::string context = Context("check", g);
  JIT_RETURN_IF_ERROR(TimeLeft(deadline, context).status());
  Status valid = ValidateGrantId(g.grant_id);
  if (!valid.ok()) return valid.WithContext(context);
  StatusOr<std::optional<std::string>> text =
      ReadOptionalFile(DropInPath(g.grant_id), kMaxDropIn);
  if (!text.ok()) return text.status().WithContext(context);
  if (!*text) return false;
  StatusOr<std::optional<SystemTime>> not_after = ReadNotAfter(**text);
  // A drop-in whose end cannot be read is held for all we know: saying so
  // makes the caller revoke it.
  if (!not_after.ok() || !*not_after) return true;
  // sudo allows through the whole NOTAFTER second.
  return clock_.Now() < **not_after + std::chrono::seconds(1);
}

StatusOr<std::vector<Session>> LinuxSudoConnector::ListSessions(
    const GrantSpec& g, Deadline deadline) {
  const std::string context = Context("list sessions of", g);
  JIT_RETURN_IF_ERROR(TimeLeft(deadline, context).status());
  Status valid = ValidateUserName(g.target_user, "target user");
  if (!valid.ok()) return valid.WithContext(context);
  JIT_ASSIGN_OR_RETURN(std::optional<uid_t> uid, LookupUid(g.target_user));
  GrantProcessQuery q{uid, g.target_user, g.starts_at, config_.sudo_exe};
  StatusOr<std::vector<ProcessInfo>> table =
      ReadProcessTable(config_.proc_root);
  if (!table.ok()) return table.status().WithContext(context);
  return SessionsOf(SelectGrantProcesses(*table, q));
}

StatusOr<std::vector<Session>> LinuxSudoConnector::KillSessions(
    const GrantSpec& g, Deadline deadline) {
  const std::string context = Context("end sessions of", g);
  JIT_RETURN_IF_ERROR(TimeLeft(deadline, context).status());
  Status valid = ValidateUserName(g.target_user, "target user");
  if (!valid.ok()) return valid.WithContext(context);
  JIT_ASSIGN_OR_RETURN(std::optional<uid_t> uid, LookupUid(g.target_user));
  GrantProcessQuery q{uid, g.target_user, g.starts_at, config_.sudo_exe};
  StatusOr<std::vector<ProcessInfo>> left = EndGrantProcesses(
      config_.proc_root, q,
      std::chrono::duration_cast<std::chrono::milliseconds>(kTermGrace),
      deadline);
  if (!left.ok()) return left.status().WithContext(context);
  return SessionsOf(*left);
}

StatusOr<std::vector<Activity>> LinuxSudoConnector::ActivitySince(
    const GrantSpec& g, SystemTime since, Deadline deadline) {
  const std::string context = Context("read activity of", g);
  JIT_RETURN_IF_ERROR(TimeLeft(deadline, context).status());
  Status valid = ValidateUserName(g.target_user, "target user");
  if (!valid.ok()) return valid.WithContext(context);
  StatusOr<std::optional<std::string>> text =
      ReadOptionalFile(LogFile(g.target_user), kMaxLogBytes);
  if (!text.ok()) return text.status().WithContext(context);
  std::vector<Activity> out;
  if (!*text) return out;
  const SystemTime from = std::max(since, g.starts_at);
  for (SudoLogEntry& e : ParseSudoJsonLog(**text)) {
    if (e.user != g.target_user || e.submitted < from ||
        e.submitted > g.expires_at) {
      continue;
    }
    out.push_back(
        Activity{e.submitted, "command", std::move(e.uuid),
                 Capped(std::move(e.command_line), kMaxActivityText)});
  }
  std::stable_sort(
      out.begin(), out.end(),
      [](const Activity& a, const Activity& b) { return a.at < b.at; });
  return out;
}

StatusOr<std::unique_ptr<Connector>> MakeLinuxSudoConnector(
    const ConnectorConfig& config, const Environment& env) {
  JIT_ASSIGN_OR_RETURN(LinuxSudoConfig parsed, ParseLinuxSudoConfig(config));
  return std::unique_ptr<Connector>(std::make_unique<LinuxSudoConnector>(
      std::move(parsed), env.commands, env.clock));
}

}  // namespace jit
