#include "jit/connectors/ssh_cert/ssh_cert_connector.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/connectors/common/config_json.h"
#include "jit/connectors/ssh_cert/ssh_cert_input.h"
#include "jit/connectors/ssh_cert/sshd_sessions.h"

namespace jit {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Certificates start this much before now: a host whose clock is a little
// behind must not refuse a fresh certificate.
constexpr auto kClockSkew = 60s;
// A grant is forgotten (and leaves the KRL) this long after its last
// certificate expired and after it was revoked: margin for hosts whose
// clocks run behind and for steps of jitd's own wall clock (M3).
constexpr auto kRetention = 24h;
// SIGTERM, then at most this long before SIGKILL.
constexpr auto kTermGrace = 2s;
constexpr auto kPollInterval = 50ms;
// Only the end of a huge session log is read.
constexpr std::streamoff kMaxLogBytes = 64 << 20;

const std::vector<std::string> kKnownKeys = {
    "name", "type", "krl_path", "session_log", "timeout", "discovery"};

constexpr fs::perms kOwnerOnly = fs::perms::owner_all;
constexpr fs::perms kOwnerReadWrite =
    fs::perms::owner_read | fs::perms::owner_write;
// sshd reads the KRL; it holds no secret.
constexpr fs::perms kWorldReadable =
    kOwnerReadWrite | fs::perms::group_read | fs::perms::others_read;

StatusOr<fs::path> ReadAbsolutePath(const ConnectorConfigReader& reader,
                                    std::string_view key, fs::path fallback) {
  JIT_ASSIGN_OR_RETURN(std::optional<std::string> text, reader.String(key));
  if (!text) return fallback;
  if (text->empty() || (*text)[0] != '/' ||
      text->find('\0') != std::string::npos) {
    return reader.Error(fmt::format("\"{}\" must be an absolute path", key));
  }
  return fs::path(*text);
}

bool IsDirName(std::string_view name) {
  return !name.empty() && name.size() <= 64 && name != "." && name != ".." &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' ||
                  c == '-' || c == '.';
         });
}

StatusOr<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return UnavailableError("cannot read " + path.string());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Empty when `st` (of `what`) is a file sshd, and nobody else, can have
// written: owned by root or by this process's user, not writable by group
// or others. Otherwise why not.
std::string UntrustedFileReason(const struct stat& st, std::string_view what) {
  if (!S_ISREG(st.st_mode))
    return fmt::format("{} is not a regular file", what);
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return fmt::format("{} is owned by uid {}, not root or jitd's user", what,
                       st.st_uid);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return fmt::format("{} is writable by group or others", what);
  }
  return "";
}

// Why `path` cannot be trusted as sshd's log, or "" when it can; the
// directory must not let others replace it (sticky directories, like
// /tmp, keep other users' files in place).
std::string UntrustedLogReason(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return fmt::format("cannot stat {}: {}", path.string(),
                       std::strerror(errno));
  }
  std::string reason = UntrustedFileReason(st, path.string());
  if (!reason.empty()) return reason;
  struct stat dir {};
  const fs::path parent = path.parent_path();
  if (::stat(parent.c_str(), &dir) != 0) {
    return fmt::format("cannot stat {}: {}", parent.string(),
                       std::strerror(errno));
  }
  if ((dir.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
      (dir.st_mode & S_ISVTX) == 0) {
    return fmt::format("{} is writable by group or others", parent.string());
  }
  return "";
}

// The last `max_bytes` of sshd's log. kUnavailable when it cannot be read
// or is not trustworthy (anyone could have written the logins in it).
StatusOr<std::string> ReadTail(const fs::path& path, std::streamoff max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return UnavailableError(fmt::format("cannot read session log {}: {}",
                                        path.string(), std::strerror(errno)));
  }
  struct stat st {};
  std::string reason = ::fstat(fd, &st) != 0 ? std::strerror(errno)
                                             : UntrustedFileReason(st, "it");
  if (reason.empty()) reason = UntrustedLogReason(path);  // the directory
  const off_t size = st.st_size;
  const off_t start = size > max_bytes ? size - max_bytes : 0;
  std::string text(static_cast<size_t>(size - start), '\0');
  size_t got = 0;
  while (reason.empty() && got < text.size()) {
    ssize_t n = ::pread(fd, text.data() + got, text.size() - got,
                        start + static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) reason = std::strerror(errno);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fd);
  if (!reason.empty()) {
    return UnavailableError(
        fmt::format("session log {}: {}", path.string(), reason));
  }
  text.resize(got);
  return text;
}

Status CheckDeadline(Deadline deadline, std::string_view what) {
  if (std::chrono::steady_clock::now() >= deadline) {
    return DeadlineExceededError(
        fmt::format("{}: deadline already passed", what));
  }
  return OkStatus();
}

// A scratch directory inside `parent`, removed with its contents on scope
// exit (it holds a user's public key and its certificate, nothing secret).
class ScratchDir {
 public:
  static StatusOr<ScratchDir> Make(const fs::path& parent) {
    std::string tmpl = (parent / "tmp-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      return UnavailableError("cannot create a temp dir in " + parent.string());
    return ScratchDir(tmpl);
  }
  ScratchDir(ScratchDir&& other) noexcept : path_(std::move(other.path_)) {
    other.path_.clear();
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ignored;  // a leftover scratch dir holds no secret
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  explicit ScratchDir(fs::path path) : path_(std::move(path)) {}
  fs::path path_;
};

}  // namespace

StatusOr<SshCertConnectorConfig> ParseSshCertConnectorConfig(
    const ConnectorConfig& config) {
  JIT_ASSIGN_OR_RETURN(ConnectorConfigReader reader,
                       ConnectorConfigReader::Parse(config, kKnownKeys));
  JIT_RETURN_IF_ERROR(reader.String("name").status());
  JIT_RETURN_IF_ERROR(reader.String("type").status());
  SshCertConnectorConfig out;
  out.name = config.name;
  if (!IsDirName(out.name)) {
    return reader.Error(
        "ssh_cert connector name must be 1-64 of [A-Za-z0-9_.-] (it names "
        "the CA's directory)");
  }
  JIT_ASSIGN_OR_RETURN(out.krl_path,
                       ReadAbsolutePath(reader, "krl_path", out.krl_path));
  if (reader.Has("session_log")) {
    JIT_ASSIGN_OR_RETURN(out.session_log,
                         ReadAbsolutePath(reader, "session_log", {}));
    std::error_code ec;
    if (fs::exists(*out.session_log, ec)) {
      std::string reason = UntrustedLogReason(*out.session_log);
      if (!reason.empty()) {
        return reader.Error(
            "\"session_log\": " + reason +
            "; anyone able to write it could hide or invent ssh sessions");
      }
    }
  }
  JIT_ASSIGN_OR_RETURN(std::optional<Duration> timeout,
                       reader.DurationValue("timeout"));
  if (timeout) out.timeout = *timeout;
  return out;
}

SshCertConnector::SshCertConnector(SshCertConnectorConfig config,
                                   const Environment& env, fs::path dir,
                                   SshCertState state)
    : config_(std::move(config)),
      env_(env),
      keygen_(env.commands, config_.timeout),
      dir_(std::move(dir)),
      state_(std::move(state)) {}

StatusOr<std::unique_ptr<SshCertConnector>> SshCertConnector::Create(
    SshCertConnectorConfig config, const Environment& env) {
  const std::string context = fmt::format("connector \"{}\"", config.name);
  if (env.data_dir.empty()) {
    return InvalidArgumentError(context + ": ssh_cert needs a data_dir");
  }
  fs::path dir = env.data_dir / "ssh_cert" / config.name;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (!ec) fs::permissions(dir, kOwnerOnly, ec);
  if (ec) {
    return UnavailableError(fmt::format("{}: cannot create {}: {}", context,
                                        dir.string(), ec.message()));
  }
  StatusOr<SshCertState> state = SshCertState::Load(dir / "state.json");
  if (!state.ok()) return state.status().WithContext(context);
  std::unique_ptr<SshCertConnector> c(new SshCertConnector(
      std::move(config), env, std::move(dir), *std::move(state)));
  // Generating a key and a KRL: a few ssh-keygen runs.
  const Deadline deadline =
      std::chrono::steady_clock::now() + 4 * c->config_.timeout;
  Status ready = c->LoadOrCreateCa(deadline);
  if (ready.ok()) {
    std::lock_guard lock(c->mu_);
    ready = c->SaveState();
    if (ready.ok()) ready = c->WriteKrl(deadline);
  }
  if (!ready.ok()) return ready.WithContext(context);
  return c;
}

Status SshCertConnector::LoadOrCreateCa(Deadline deadline) {
  const fs::path key = dir_ / "ca";
  const fs::path pub = dir_ / "ca.pub";
  std::error_code ec;
  if (!fs::exists(key, ec)) {
    fs::remove(pub, ec);  // a stray .pub would make ssh-keygen ask
    JIT_RETURN_IF_ERROR(
        keygen_.GenerateEd25519(key, "jitd-ca-" + config_.name, deadline));
  }
  fs::permissions(key, kOwnerReadWrite, ec);
  if (ec) return UnavailableError("cannot chmod " + key.string());
  if (!fs::exists(pub, ec)) {
    JIT_ASSIGN_OR_RETURN(std::string line, keygen_.PublicKeyOf(key, deadline));
    JIT_RETURN_IF_ERROR(WriteFileAtomically(pub, line, kWorldReadable));
  }
  JIT_ASSIGN_OR_RETURN(ca_public_key_, ReadFile(pub));
  if (ca_public_key_.empty() || ca_public_key_.back() != '\n')
    ca_public_key_ += '\n';
  return OkStatus();
}

Status SshCertConnector::SaveState() {
  state_.Prune(env_.clock.Now(), kRetention);
  return state_.Save();
}

Status SshCertConnector::WriteKrl(Deadline deadline) {
  std::string spec;
  for (const std::string& id : state_.RevokedIds()) {
    spec += "id: " + id + "\n";  // ids passed ValidateKeyId: no newlines
  }
  JIT_ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Make(dir_));
  const fs::path spec_file = scratch.path() / "krl.spec";
  JIT_RETURN_IF_ERROR(WriteFileAtomically(spec_file, spec, kOwnerReadWrite));
  // Built beside krl_path so the final rename is atomic; sshd never sees a
  // half-written KRL.
  fs::path tmp = config_.krl_path;
  tmp += ".tmp-" + fs::path(scratch.path()).filename().string();
  Status built = keygen_.GenerateKrl(tmp, dir_ / "ca.pub", spec_file, deadline);
  std::error_code ec;
  if (built.ok()) fs::permissions(tmp, kWorldReadable, ec);
  if (built.ok() && !ec) fs::rename(tmp, config_.krl_path, ec);
  if (!built.ok() || ec) {
    fs::remove(tmp, ec);
    if (!built.ok()) return built;
    return UnavailableError("cannot replace KRL " + config_.krl_path.string());
  }
  krl_current_ = true;
  return OkStatus();
}

Status SshCertConnector::Error(StatusCode code, std::string_view what,
                               const GrantSpec& g) const {
  return Status(code, fmt::format("connector \"{}\": grant {}: {}",
                                  config_.name, g.grant_id, what));
}

Status SshCertConnector::Grant(const GrantSpec& g, Deadline deadline) {
  JIT_RETURN_IF_ERROR(CheckDeadline(deadline, "ssh_cert grant"));
  JIT_RETURN_IF_ERROR(ValidateKeyId(g.grant_id));
  // Bad params fail at activation, not at the first certificate.
  StatusOr<CertificatePolicy> policy = ReadCertificatePolicy(g, "");
  if (!policy.ok()) {
    return Error(StatusCode::kInvalidArgument, policy.status().message(), g);
  }
  if (g.expires_at <= env_.clock.Now()) {
    return Error(StatusCode::kFailedPrecondition, "grant already expired", g);
  }
  std::lock_guard lock(mu_);
  SshCertGrantRecord& r = state_.grants()[g.grant_id];
  if (r.revoked) {
    return Error(StatusCode::kFailedPrecondition,
                 "grant was revoked; grant ids are not reused", g);
  }
  r.expires_at = g.expires_at;  // an extension moves it
  return SaveState();
}

Status SshCertConnector::Revoke(const GrantSpec& g, Deadline deadline) {
  JIT_RETURN_IF_ERROR(CheckDeadline(deadline, "ssh_cert revoke"));
  JIT_RETURN_IF_ERROR(ValidateKeyId(g.grant_id));
  std::lock_guard lock(mu_);
  // Revoked even when never granted here: the KRL entry costs little and
  // covers certificates this state has lost track of.
  SshCertGrantRecord& r = state_.grants()[g.grant_id];
  const SystemTime expires_at = std::max(r.expires_at, g.expires_at);
  std::error_code ec;
  if (r.revoked && r.expires_at == expires_at && krl_current_ &&
      fs::exists(config_.krl_path, ec)) {
    return OkStatus();  // already in the KRL sshd reads
  }
  r.revoked = true;
  r.revoked_at = std::max(r.revoked_at, env_.clock.Now());
  r.expires_at = expires_at;
  krl_current_ = false;
  JIT_RETURN_IF_ERROR(SaveState());
  // Until this succeeds krl_current_ stays false: a retry rewrites the KRL.
  return WriteKrl(deadline);
}

StatusOr<bool> SshCertConnector::IsActive(const GrantSpec& g,
                                          Deadline deadline) {
  JIT_RETURN_IF_ERROR(CheckDeadline(deadline, "ssh_cert check"));
  if (env_.clock.Now() >= g.expires_at) return false;
  std::lock_guard lock(mu_);
  auto it = state_.grants().find(g.grant_id);
  return it != state_.grants().end() && !it->second.revoked;
}

StatusOr<std::string> SshCertConnector::PublicKey() { return ca_public_key_; }

StatusOr<std::string> SshCertConnector::RevocationList() {
  std::lock_guard lock(mu_);
  return ReadFile(config_.krl_path);
}

StatusOr<std::string> SshCertConnector::Issue(const GrantSpec& g,
                                              const std::string& public_key,
                                              const std::string& source_address,
                                              Deadline deadline) {
  JIT_RETURN_IF_ERROR(CheckDeadline(deadline, "ssh_cert issue"));
  JIT_RETURN_IF_ERROR(ValidateKeyId(g.grant_id));
  StatusOr<std::string> key = NormalizeUserPublicKey(public_key);
  if (!key.ok())
    return Error(StatusCode::kInvalidArgument, key.status().message(), g);
  StatusOr<CertificatePolicy> policy = ReadCertificatePolicy(g, source_address);
  if (!policy.ok()) {
    return Error(StatusCode::kInvalidArgument, policy.status().message(), g);
  }
  const SystemTime now = env_.clock.Now();
  if (now >= g.expires_at) {
    return Error(StatusCode::kFailedPrecondition, "grant has expired", g);
  }
  CertificateRequest req;
  req.key_id = g.grant_id;
  req.principal = policy->principal;
  req.permit_port_forwarding = policy->permit_port_forwarding;
  req.permit_agent_forwarding = policy->permit_agent_forwarding;
  req.permit_x11_forwarding = policy->permit_x11_forwarding;
  req.source_address = policy->source_address;
  req.valid_after = std::max(now, g.starts_at) - kClockSkew;
  // Cut to whole seconds downwards: never valid past the grant (T23, T26).
  req.valid_before = std::chrono::floor<std::chrono::seconds>(g.expires_at);
  if (req.valid_before <= now) {
    return Error(StatusCode::kFailedPrecondition, "grant has expired", g);
  }

  JIT_RETURN_IF_ERROR(ReserveSerial(g, req));
  // Signed without the lock: Revoke and RevocationList never wait for
  // ssh-keygen runs of an Issue.
  JIT_ASSIGN_OR_RETURN(std::string cert, SignInTempDir(req, *key, deadline));
  std::lock_guard lock(mu_);
  // Revoked while signing: the KRL names the key id, so the certificate is
  // refused anyway; it is not handed out either.
  auto it = state_.grants().find(g.grant_id);
  if (it == state_.grants().end() || it->second.revoked) {
    return Error(StatusCode::kFailedPrecondition, "grant was revoked", g);
  }
  return cert;
}

Status SshCertConnector::ReserveSerial(const GrantSpec& g,
                                       CertificateRequest& req) {
  std::lock_guard lock(mu_);
  auto it = state_.grants().find(g.grant_id);
  if (it == state_.grants().end() || it->second.revoked) {
    return Error(StatusCode::kFailedPrecondition,
                 it == state_.grants().end() ? "grant is not active here"
                                             : "grant was revoked",
                 g);
  }
  req.serial = state_.TakeSerial();
  it->second.certs_valid_until =
      std::max(it->second.certs_valid_until, req.valid_before);
  // Saved before signing: a serial is never handed out twice, and the
  // revoked entry outlives every certificate.
  return SaveState();
}

StatusOr<std::string> SshCertConnector::SignInTempDir(
    const CertificateRequest& req, const std::string& public_key,
    Deadline deadline) {
  JIT_ASSIGN_OR_RETURN(ScratchDir scratch, ScratchDir::Make(dir_));
  const fs::path pub = scratch.path() / "user.pub";
  JIT_RETURN_IF_ERROR(WriteFileAtomically(pub, public_key, kOwnerReadWrite));
  JIT_RETURN_IF_ERROR(keygen_.CheckPublicKey(pub, deadline));
  return keygen_.Sign(dir_ / "ca", req, pub, deadline);
}

StatusOr<std::vector<Session>> SshCertConnector::LiveSessions(
    const GrantSpec& g) const {
  std::vector<Session> out;
  if (!config_.session_log) return out;
  JIT_ASSIGN_OR_RETURN(std::string log,
                       ReadTail(*config_.session_log, kMaxLogBytes));
  std::vector<SshdCertLogin> logins = ParseSshdLog(log);
  std::erase_if(
      logins, [&g](const SshdCertLogin& l) { return l.key_id != g.grant_id; });
  JIT_ASSIGN_OR_RETURN(std::vector<SshdSession> live,
                       FindLiveSshdSessions(logins));
  for (const SshdSession& s : live) {
    out.push_back(Session{
        std::to_string(s.pid),
        fmt::format("ssh login {} from {} port {}, certificate serial {}",
                    s.login.user, s.login.client_address, s.login.client_port,
                    s.login.serial)});
  }
  return out;
}

StatusOr<std::vector<Session>> SshCertConnector::ListSessions(
    const GrantSpec& g, Deadline deadline) {
  JIT_RETURN_IF_ERROR(CheckDeadline(deadline, "ssh_cert sessions"));
  return LiveSessions(g);
}

StatusOr<std::vector<Session>> SshCertConnector::KillSessions(
    const GrantSpec& g, Deadline deadline) {
  JIT_RETURN_IF_ERROR(CheckDeadline(deadline, "ssh_cert kill sessions"));
  JIT_ASSIGN_OR_RETURN(std::vector<Session> live, LiveSessions(g));
  const auto term_until =
      std::min(deadline, std::chrono::steady_clock::now() + kTermGrace);
  for (int sig : {SIGTERM, SIGKILL}) {
    if (live.empty()) break;
    std::set<pid_t> pids;
    for (const Session& s : live) pids.insert(std::stoi(s.id));
    SignalProcessTrees(pids, sig);
    const auto until = sig == SIGTERM ? term_until : deadline;
    // Bounded by `until`: polling processes of the real sshd.
    while (!live.empty() && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(kPollInterval);
      JIT_ASSIGN_OR_RETURN(live, LiveSessions(g));
    }
  }
  return live;
}

StatusOr<std::unique_ptr<Connector>> MakeSshCertConnector(
    const ConnectorConfig& config, const Environment& env) {
  JIT_ASSIGN_OR_RETURN(SshCertConnectorConfig parsed,
                       ParseSshCertConnectorConfig(config));
  JIT_ASSIGN_OR_RETURN(std::unique_ptr<SshCertConnector> c,
                       SshCertConnector::Create(std::move(parsed), env));
  return std::unique_ptr<Connector>(std::move(c));
}

}  // namespace jit
