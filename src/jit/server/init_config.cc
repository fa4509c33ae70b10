#include "jit/server/init_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "jit/base/ids.h"
#include "jit/base/sha256.h"
#include "jit/base/status_macros.h"
#include "jit/server/config.h"

namespace jit {
namespace {

namespace fs = std::filesystem;

constexpr size_t kAdminTokenBytes = 32;

// A JSON string is a valid YAML double-quoted scalar: paths with spaces,
// quotes or `#` stay one value.
std::string Quoted(std::string_view text) {
  return nlohmann::json(std::string(text)).dump();
}

std::string ErrnoText() { return std::strerror(errno); }

Status MakeConfigDir(const fs::path& dir) {
  std::error_code ec;
  if (fs::is_directory(dir, ec)) return OkStatus();
  if (fs::exists(dir, ec))
    return UnavailableError(dir.string() + " exists and is not a directory");
  fs::create_directories(dir, ec);
  if (ec)
    return UnavailableError("cannot create " + dir.string() + ": " +
                            ec.message());
  fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  if (ec)
    return UnavailableError("cannot chmod 0700 " + dir.string() + ": " +
                            ec.message());
  return OkStatus();
}

// Writes `text` to a fresh 0600 file beside `final_path`; returns its path.
StatusOr<std::string> WriteAside(const fs::path& final_path,
                                 std::string_view text) {
  std::string tmpl = final_path.string() + ".init-XXXXXX";
  int fd = mkstemp(tmpl.data());  // mode 0600
  if (fd < 0)
    return UnavailableError("cannot create a file in " +
                            final_path.parent_path().string() + ": " +
                            ErrnoText());
  bool ok = fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ok && fsync(fd) == 0;
  std::string why = ok ? "" : ErrnoText();
  close(fd);
  if (!ok) {
    unlink(tmpl.c_str());
    return UnavailableError("cannot write " + tmpl + ": " + why);
  }
  return tmpl;
}

// link(2) fails with EEXIST instead of replacing: an existing config is
// never overwritten, even by two --init runs racing.
Status LinkIntoPlace(const std::string& aside, const fs::path& final_path) {
  int rc = link(aside.c_str(), final_path.c_str());
  int err = errno;
  unlink(aside.c_str());
  if (rc == 0) return OkStatus();
  if (err == EEXIST)
    return AlreadyExistsError(final_path.string() +
                              " exists; jitd --init never overwrites a "
                              "config (move it away first)");
  return UnavailableError("cannot create " + final_path.string() + ": " +
                          std::strerror(err));
}

}  // namespace

std::string StarterConfigYaml(const InitOptions& o,
                              std::string_view admin_token_sha256) {
  std::string y;
  y += "# jitd starter configuration, written by `jitd --init`.\n";
  y += "# Every key is described in docs/configuration.md. `kill -HUP` of\n";
  y += "# jitd reloads tokens, roles, entitlements and policies; the rest\n";
  y += "# needs a restart. Check a change offline: jit policy lint FILE\n\n";
  y += "# Plain HTTP is allowed on loopback only. For other addresses add\n";
  y += "# `tls: {cert: ..., key: ...}`, or run behind a TLS proxy on this\n";
  y += "# host (docs/operations/replicas.md).\n";
  y += "listen: " + Quoted(o.listen) + "\n\n";
  y += "# The SQLite database (jitd.db), the audit signing key and the\n";
  y += "# other keys live here; jitd keeps it mode 0700. Back it up as\n";
  y += "# docs/operations/backup.md says (not with cp while jitd runs).\n";
  y += "data_dir: " + Quoted(o.data_dir) + "\n";
  y += "# One jitd on one machine. Several replicas need PostgreSQL:\n";
  y += "# storage: {postgres: {dsn_file: /etc/jitd/postgres.dsn}}\n";
  y += "storage: sqlite\n";
  y += "log_level: info\n";
  if (!o.web_dir.empty()) {
    y += "\n# The web console, served at /.\n";
    y += "web: {dir: " + Quoted(o.web_dir) + "}\n";
  }
  y += "\nauth:\n";
  y += "  tokens:\n";
  y += "    # The administrator. `jitd --init` printed this token once;\n";
  y += "    # only its SHA-256 is kept. For a new token:\n";
  y += "    #   t=$(openssl rand -hex 32); printf %s \"$t\" | sha256sum\n";
  y += "    # and put the hash here (token_sha256), the token in a safe "
       "place.\n";
  y += "    - subject: admin\n";
  y += "      groups: [secops, audit]\n";
  y += "      token_sha256: " + Quoted(admin_token_sha256) + "\n";
  y += "    # People: one entry per person, or `auth.oidc` for your identity\n";
  y += "    # provider (docs/identity.md).\n";
  y += "    # - {subject: alice, groups: [dev], token_sha256: \"...\"}\n";
  y += "    # - {subject: bob, groups: [sre], token_sha256: \"...\"}\n\n";
  y += "# Which groups hold which jitd role. `enforcer` is for enforcement\n";
  y += "# points (pam_jit.so through enforcement_socket needs no token).\n";
  y += "roles: {admin: [secops], auditor: [audit], enforcer: [hosts]}\n\n";
  y += "connectors:\n";
  y += "  # `fake` grants nothing outside jitd: it only remembers who holds\n";
  y += "  # what (here in a state file), so every flow can be tried before a\n";
  y += "  # real target is connected. Real connectors: docs/connectors/.\n";
  y += "  - name: demo\n";
  y += "    type: fake\n";
  y += "    state_file: " + Quoted(o.data_dir + "/fake-demo.json") + "\n\n";
  y += "entitlements:\n";
  y += "  - name: demo-read\n";
  y += "    connector: demo\n";
  y += "    params: {role: app_read}\n";
  y += "    max_duration: 1h\n";
  y += "    description: Read-only access to the demo target\n";
  y += "  - name: demo-admin\n";
  y += "    connector: demo\n";
  y += "    params: {role: app_admin, user: \"{subject}_adm\"}\n";
  y += "    max_duration: 2h\n";
  y += "    description: Administrator of the demo target\n\n";
  y += "# The first policy that covers the subject and entitlement and whose\n";
  y += "# every rule passes allows the request.\n";
  y += "policies:\n";
  y += "  # Developers read at once, for at most 30 minutes.\n";
  y += "  - name: dev-read\n";
  y += "    subjects: {groups: [dev]}\n";
  y += "    entitlements: [demo-read]\n";
  y += "    max_duration: 30m\n";
  y += "    require: {justification_min_chars: 10}\n";
  y += "    approval: {auto: true}\n";
  y += "  # Administration needs a ticket and one approver from `sre`\n";
  y += "  # (never the requester); emergencies skip approval and alert.\n";
  y += "  - name: dev-admin\n";
  y += "    subjects: {groups: [dev]}\n";
  y += "    entitlements: [demo-admin]\n";
  y += "    max_duration: 1h\n";
  y += "    require: {justification_min_chars: 15, ticket_pattern: "
       "\"^OPS-[0-9]+$\"}\n";
  y += "    approval: {groups: [sre], count: 1}\n";
  y += "    approval_timeout: 1h\n";
  y += "    emergency: {allowed: true, max_duration: 15m}\n";
  return y;
}

StatusOr<InitResult> WriteStarterConfig(InitOptions o) {
  if (o.dir.empty()) return InvalidArgumentError("--init needs a directory");
  std::string host;
  uint16_t port = 0;
  JIT_RETURN_IF_ERROR(ParseListen(o.listen, host, port));
  std::error_code ec;
  fs::path dir = fs::absolute(o.dir, ec).lexically_normal();
  if (ec) return InvalidArgumentError("bad directory " + o.dir);
  o.dir = dir.string();
  fs::path data =
      o.data_dir.empty() ? dir / "data" : fs::absolute(o.data_dir, ec);
  if (ec) return InvalidArgumentError("bad data_dir " + o.data_dir);
  o.data_dir = data.lexically_normal().string();
  fs::path final_path = dir / "jitd.yaml";
  if (fs::exists(final_path, ec))
    return AlreadyExistsError(final_path.string() +
                              " exists; jitd --init never overwrites a "
                              "config (move it away first)");
  JIT_RETURN_IF_ERROR(MakeConfigDir(dir));

  InitResult r{final_path.string(), o.data_dir, o.listen,
               RandomHex(kAdminTokenBytes)};
  JIT_ASSIGN_OR_RETURN(
      std::string aside,
      WriteAside(final_path, StarterConfigYaml(o, Sha256Hex(r.admin_token))));
  if (StatusOr<Config> check = LoadConfig(aside); !check.ok()) {
    unlink(aside.c_str());
    return InternalError("the starter config does not load: " +
                         check.status().message());
  }
  JIT_RETURN_IF_ERROR(LinkIntoPlace(aside, final_path));
  return r;
}

std::string InstalledWebDir(const std::string& exe) {
  std::error_code ec;
  fs::path web = fs::path(exe).parent_path() / ".." / "share" / "jitd" / "web";
  web = fs::weakly_canonical(web, ec);
  if (ec || !fs::is_regular_file(web / "index.html", ec)) return "";
  return web.string();
}

}  // namespace jit
