// PostgresServer, declared in postgres_server.h.
#include "tests/support/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <system_error>
#include <thread>

#include "jit/base/status_macros.h"

namespace jit::testing {
namespace {

using namespace std::chrono_literals;

constexpr char kBinDir[] = "/usr/lib/postgresql/15/bin";
constexpr char kPgauditLib[] = "/usr/lib/postgresql/15/lib/pgaudit.so";
constexpr int kStartAttempts = 3;  // a free port can be taken meanwhile

struct RunAs {
  std::optional<uid_t> uid;
  std::optional<gid_t> gid;
};

// Runs argv (no shell) as `who`, output appended to `log`; waits at most
// `limit`, then kills it. Returns the exit code, -1 when it did not finish.
int Run(const std::vector<std::string>& argv, const RunAs& who,
        const std::string& log, std::chrono::seconds limit) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    int null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0) dup2(null_fd, 0);
    if (who.gid && (setgroups(0, nullptr) != 0 || setgid(*who.gid) != 0))
      _exit(126);
    if (who.uid && setuid(*who.uid) != 0) _exit(126);
    std::vector<char*> args;
    for (const std::string& a : argv)
      args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  const auto end = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (true) {
    pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) break;
    if (done < 0) return -1;
    if (std::chrono::steady_clock::now() >= end) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string ReadTail(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  std::string all = text.str();
  return all.size() <= max_bytes ? all : all.substr(all.size() - max_bytes);
}

// Where cluster dirs go: memory-backed /dev/shm when there is one (a test
// cluster is written and deleted within seconds), else the temp dir.
std::filesystem::path TempRoot() {
  if (access("/dev/shm", W_OK | X_OK) == 0) return "/dev/shm";
  return std::filesystem::temp_directory_path();
}

// Single-quoted postgresql.conf string.
std::string ConfString(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'')
      out += "''";
    else
      out.push_back(c);
  }
  return out + "'";
}

// An exclusive flock on `path`, waited for at most 120 s (another test
// making the template holds it for a few seconds).
class TemplateLock {
 public:
  explicit TemplateLock(const std::string& path) {
    fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    const auto end = std::chrono::steady_clock::now() + 120s;
    while (fd_ >= 0 && std::chrono::steady_clock::now() < end) {
      if (flock(fd_, LOCK_EX | LOCK_NB) == 0) {
        held_ = true;
        return;
      }
      std::this_thread::sleep_for(50ms);
    }
  }
  ~TemplateLock() {
    if (fd_ >= 0) close(fd_);  // releases the lock
  }
  TemplateLock(const TemplateLock&) = delete;
  TemplateLock& operator=(const TemplateLock&) = delete;
  bool held() const { return held_; }

 private:
  int fd_ = -1;
  bool held_ = false;
};

struct PgConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};

}  // namespace

uint16_t FreeLocalPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  uint16_t port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

PsqlProcess::PsqlProcess(const std::string& dsn, const std::string& out_path)
    : out_path_(out_path) {
  int fds[2];
  if (pipe(fds) != 0) return;
  pid_ = fork();
  if (pid_ == 0) {
    dup2(fds[0], 0);
    int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(out, 1);
    dup2(out, 2);
    close(fds[1]);
    execl("/usr/bin/psql", "psql", "-X", "-v", "ON_ERROR_STOP=1", dsn.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[0]);
  stdin_ = fds[1];
}

PsqlProcess::~PsqlProcess() {
  if (stdin_ >= 0) close(stdin_);
  if (pid_ > 0 && !exit_code_) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

void PsqlProcess::Send(const std::string& text) {
  // A psql that already ended shows in WaitExit(); the SIGPIPE of writing
  // to it is blocked and consumed here instead of ending the test.
  sigset_t pipe_only, old;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
  ssize_t n = write(stdin_, text.data(), text.size());
  if (n < 0 && errno == EPIPE) {
    timespec zero{0, 0};
    sigtimedwait(&pipe_only, nullptr, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
}

std::optional<int> PsqlProcess::WaitExit(std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!exit_code_ && pid_ > 0) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
      break;
    }
    if (std::chrono::steady_clock::now() >= end) break;
    std::this_thread::sleep_for(20ms);
  }
  return exit_code_;
}

std::string PsqlProcess::Output() const { return ReadTail(out_path_, 1 << 20); }

std::string PostgresBinDir() { return kBinDir; }

bool PostgresInstalled() {
  return access((std::string(kBinDir) + "/initdb").c_str(), X_OK) == 0 &&
         access((std::string(kBinDir) + "/pg_ctl").c_str(), X_OK) == 0;
}

bool PgauditInstalled() { return access(kPgauditLib, R_OK) == 0; }

StatusOr<std::unique_ptr<PostgresServer>> PostgresServer::Start(
    PostgresServerOptions options) {
  if (!PostgresInstalled()) {
    return UnavailableError(std::string("PostgreSQL 15 not installed in ") +
                            kBinDir);
  }
  if (options.pgaudit && !PgauditInstalled()) {
    return UnavailableError("pgaudit for PostgreSQL 15 is not installed");
  }
  std::unique_ptr<PostgresServer> server(
      new PostgresServer(std::move(options)));
  JIT_RETURN_IF_ERROR(server->Init());
  Status started = UnavailableError("not started");
  for (int attempt = 0; attempt < kStartAttempts && !started.ok(); ++attempt) {
    server->port_ = FreeLocalPort();
    JIT_RETURN_IF_ERROR(server->WriteConfig());
    started = server->StartOnce();
  }
  JIT_RETURN_IF_ERROR(started);
  return server;
}

Status PostgresServer::Init() {
  std::string tmpl = (TempRoot() / "jit_pg_XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    return UnavailableError("mkdtemp failed for the PostgreSQL test dir");
  }
  dir_ = tmpl;
  if (geteuid() == 0) {
    struct passwd* pw = getpwnam("postgres");
    if (pw == nullptr) {
      return UnavailableError("running as root needs the postgres account");
    }
    run_uid_ = pw->pw_uid;
    run_gid_ = pw->pw_gid;
    if (chown(dir_.c_str(), *run_uid_, *run_gid_) != 0) {
      return UnavailableError("chown of " + dir_ + " failed");
    }
  }
  chmod(dir_.c_str(), 0700);
  return MakeDataDir();
}

// initdb costs about a second of CPU per test; a cluster copied from a
// template made once per build (under the build dir, never the shared temp
// dir) costs a tenth of that.
Status PostgresServer::MakeDataDir() {
  const std::string log = dir_ + "/initdb.log";
#ifdef JIT_PG_TEMPLATE_DIR
  const std::string tmpl =
      std::string(JIT_PG_TEMPLATE_DIR) + "_uid" + std::to_string(geteuid());
  TemplateLock lock(tmpl + ".lock");
  if (!lock.held()) return UnavailableError("cannot lock " + tmpl + ".lock");
  if (std::filesystem::exists(tmpl + "/PG_VERSION")) {
    int rc = Run({"/bin/cp", "-a", tmpl, data_dir()}, RunAs{}, log, 60s);
    if (rc == 0) return OkStatus();
    return UnavailableError("copying the cluster template failed: " +
                            ReadTail(log, 2048));
  }
#endif
  int rc = Run({std::string(kBinDir) + "/initdb", "-D", data_dir(), "-U",
                "postgres", "--auth=trust", "--no-sync", "--encoding=UTF8",
                "--locale=C", "--wal-segsize=1"},
               RunAs{run_uid_, run_gid_}, log, 60s);
  if (rc != 0) {
    return UnavailableError("initdb exited " + std::to_string(rc) + ": " +
                            ReadTail(log, 2048));
  }
#ifdef JIT_PG_TEMPLATE_DIR
  // Published whole or not at all (rename), under the lock.
  std::error_code ignored;
  std::filesystem::remove_all(tmpl + ".tmp", ignored);
  if (Run({"/bin/cp", "-a", data_dir(), tmpl + ".tmp"}, RunAs{}, log, 60s) ==
      0) {
    std::filesystem::rename(tmpl + ".tmp", tmpl, ignored);
  }
#endif
  return OkStatus();
}

Status PostgresServer::WriteConfig() {
  // postgresql.auto.conf is read last, so these win over initdb's defaults;
  // it is rewritten whole on every (re)try with a new port.
  std::ofstream conf(data_dir() + "/postgresql.auto.conf", std::ios::trunc);
  conf << "listen_addresses = '127.0.0.1'\n"
       << "port = " << port_ << "\n"
       << "unix_socket_directories = " << ConfString(dir_) << "\n"
       << "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n"
       << "shared_buffers = 8MB\nmax_connections = 40\n"
       << "wal_level = minimal\nmax_wal_senders = 0\n"
       << "autovacuum = off\n";
  if (options_.pgaudit) {
    conf << "shared_preload_libraries = 'pgaudit'\n"
         << "logging_collector = on\nlog_destination = 'jsonlog'\n"
         << "log_directory = 'log'\n"
         << "log_timezone = " << ConfString(options_.log_timezone) << "\n";
  }
  for (const std::string& line : options_.conf_lines) conf << line << "\n";
  conf.close();
  if (!conf) return UnavailableError("cannot write postgresql.auto.conf");

  std::ofstream hba(data_dir() + "/pg_hba.conf", std::ios::trunc);
  for (const std::string& line : options_.hba_lines) hba << line << "\n";
  hba << "local all all trust\n"
      << "host all all 127.0.0.1/32 trust\n";
  hba.close();
  if (!hba) return UnavailableError("cannot write pg_hba.conf");
  if (run_uid_) {
    for (const char* f : {"/postgresql.auto.conf", "/pg_hba.conf"}) {
      if (chown((data_dir() + f).c_str(), *run_uid_, *run_gid_) != 0)
        return UnavailableError("chown of the server config failed");
    }
  }
  return OkStatus();
}

Status PostgresServer::StartOnce() {
  int rc = Run({std::string(kBinDir) + "/pg_ctl", "start", "-w", "-t", "30",
                "-D", data_dir(), "-l", LogPath()},
               RunAs{run_uid_, run_gid_}, dir_ + "/pg_ctl.log", 40s);
  if (rc != 0) {
    return UnavailableError("pg_ctl start exited " + std::to_string(rc) + ": " +
                            LogTail());
  }
  running_ = true;
  return OkStatus();
}

Status PostgresServer::Stop() {
  if (!running_) return OkStatus();
  int rc = Run({std::string(kBinDir) + "/pg_ctl", "stop", "-w", "-t", "30",
                "-m", "fast", "-D", data_dir()},
               RunAs{run_uid_, run_gid_}, dir_ + "/pg_ctl.log", 40s);
  if (rc != 0) {
    return UnavailableError("pg_ctl stop exited " + std::to_string(rc));
  }
  running_ = false;
  return OkStatus();
}

Status PostgresServer::StartAgain() {
  if (running_) return OkStatus();
  return StartOnce();
}

Status PostgresServer::Restart() {
  JIT_RETURN_IF_ERROR(Stop());
  return StartAgain();
}

PostgresServer::~PostgresServer() {
  if (running_) {
    // Immediate: nothing here needs a clean shutdown, and a stuck client
    // must not hold the test up.
    Run({std::string(kBinDir) + "/pg_ctl", "stop", "-w", "-t", "20", "-m",
         "immediate", "-D", data_dir()},
        RunAs{run_uid_, run_gid_}, dir_ + "/pg_ctl.log", 30s);
  }
  if (!dir_.empty()) {
    std::error_code ignored;  // best effort: a leftover temp dir harms nothing
    std::filesystem::remove_all(dir_, ignored);
  }
}

std::string PostgresServer::Dsn(const std::string& user,
                                const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + user +
         " dbname=" + dbname + " connect_timeout=5";
}

std::string PostgresServer::Uri(const std::string& user,
                                const std::string& dbname) const {
  return "postgresql://" + user + "@127.0.0.1:" + std::to_string(port_) + "/" +
         dbname;
}

StatusOr<SqlRows> PostgresServer::Query(const std::string& sql,
                                        const std::string& dbname) const {
  std::unique_ptr<PGconn, PgConnDeleter> conn(
      PQconnectdb(Dsn("postgres", dbname).c_str()));
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return UnavailableError(std::string("superuser connect: ") +
                            PQerrorMessage(conn.get()));
  }
  std::unique_ptr<PGresult, PgResultDeleter> res(
      PQexec(conn.get(), sql.c_str()));
  ExecStatusType st = PQresultStatus(res.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    return InvalidArgumentError(sql + ": " + PQerrorMessage(conn.get()));
  }
  SqlRows rows;
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    std::vector<std::optional<std::string>> row;
    for (int c = 0; c < PQnfields(res.get()); ++c) {
      if (PQgetisnull(res.get(), r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(PQgetvalue(res.get(), r, c));
      }
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

Status PostgresServer::Exec(const std::string& sql,
                            const std::string& dbname) const {
  return Query(sql, dbname).status();
}

StatusOr<std::string> PostgresServer::QueryValue(
    const std::string& sql, const std::string& dbname) const {
  JIT_ASSIGN_OR_RETURN(SqlRows rows, Query(sql, dbname));
  if (rows.size() != 1 || rows[0].size() != 1) {
    return InvalidArgumentError(sql + ": expected one value, got " +
                                std::to_string(rows.size()) + " rows");
  }
  return rows[0][0].value_or("");
}

std::string PostgresServer::LogTail(size_t max_bytes) const {
  return ReadTail(LogPath(), max_bytes);
}

}  // namespace jit::testing
