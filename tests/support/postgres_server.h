#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/status.h"

namespace jit::testing {

// A free TCP port on 127.0.0.1 (bound to port 0, then released). Another
// process may take it before the caller binds it; callers that can, retry.
uint16_t FreeLocalPort();

struct PostgresServerOptions {
  // Loads pgaudit (shared_preload_libraries) and writes the server log as
  // jsonlog through the logging collector (log/ in the data dir), with
  // log_timezone set to `log_timezone`.
  bool pgaudit = false;
  std::string log_timezone = "UTC";
  // pg_hba.conf lines placed before the catch-all `trust` lines, e.g.
  // "host pwdb all 127.0.0.1/32 scram-sha-256" for a password-only database.
  std::vector<std::string> hba_lines;
  // Extra postgresql.conf lines ("name = value").
  std::vector<std::string> conf_lines;
};

// Rows of a query result; NULL is nullopt.
using SqlRows = std::vector<std::vector<std::optional<std::string>>>;

// A real PostgreSQL 15 cluster for one test, in a fresh temp dir (under
// /dev/shm when present; a copy of
// a cluster initdb made once per build, kept in the build dir), listening on
// 127.0.0.1 on a free port with its unix socket in the temp dir. Superuser
// `postgres`; every other login is trusted from 127.0.0.1 unless `hba_lines`
// say otherwise. Tuned for speed (fsync off, small buffers), never for data
// safety.
//
// PostgreSQL refuses to run as root, so under root the cluster belongs to
// the Debian `postgres` system account. The destructor always stops the
// server (immediate mode) and removes the directory, also when the test
// failed. Not thread-safe; one owner.
class PostgresServer {
 public:
  // initdb + start. kUnavailable (with the tail of the server log) when the
  // binaries are missing or the server does not come up within 30 s.
  static StatusOr<std::unique_ptr<PostgresServer>> Start(
      PostgresServerOptions options = {});
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // Stops (fast mode, waits) / starts again on the same port and data.
  Status Stop();
  Status StartAgain();
  Status Restart();
  bool running() const { return running_; }

  uint16_t port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string data_dir() const { return dir_ + "/data"; }
  // libpq key/value connection string over TCP to 127.0.0.1.
  std::string Dsn(const std::string& user,
                  const std::string& dbname = "postgres") const;
  // The same as a postgresql:// URI.
  std::string Uri(const std::string& user,
                  const std::string& dbname = "postgres") const;

  // Runs `sql` (one or more statements) as the superuser in `dbname`.
  // Returns the rows of the last statement. kUnavailable when the server
  // cannot be reached; kInvalidArgument with the server's message on a SQL
  // error.
  StatusOr<SqlRows> Query(const std::string& sql,
                          const std::string& dbname = "postgres") const;
  Status Exec(const std::string& sql,
              const std::string& dbname = "postgres") const;
  // The single value of a one-row, one-column query ("" for NULL).
  StatusOr<std::string> QueryValue(
      const std::string& sql, const std::string& dbname = "postgres") const;

  // The server's own log (startup log plus, with pgaudit, nothing else:
  // the collector writes to data/log/). For failure messages.
  std::string LogTail(size_t max_bytes = 4096) const;

 private:
  explicit PostgresServer(PostgresServerOptions options)
      : options_(std::move(options)) {}
  Status Init();
  Status MakeDataDir();
  Status WriteConfig();
  Status StartOnce();
  std::string LogPath() const { return dir_ + "/server.log"; }

  PostgresServerOptions options_;
  std::string dir_;
  uint16_t port_ = 0;
  // The account the cluster runs as; nullopt = this process's own.
  std::optional<uid_t> run_uid_;
  std::optional<gid_t> run_gid_;
  bool running_ = false;
};

// The real psql client (/usr/bin/psql -X -v ON_ERROR_STOP=1 DSN) as a
// child process, output to `out_path`, its stdin held open so it sits in a
// session until told otherwise. Killed on destruction if still alive.
class PsqlProcess {
 public:
  PsqlProcess(const std::string& dsn, const std::string& out_path);
  ~PsqlProcess();
  PsqlProcess(const PsqlProcess&) = delete;
  PsqlProcess& operator=(const PsqlProcess&) = delete;

  // Writes `text` to psql's stdin.
  void Send(const std::string& text);
  // The exit code once psql ended, polling up to `limit`.
  std::optional<int> WaitExit(std::chrono::milliseconds limit);
  std::string Output() const;

 private:
  std::string out_path_;
  pid_t pid_ = -1;
  int stdin_ = -1;
  std::optional<int> exit_code_;
};

// The directory of the PostgreSQL 15 server binaries (initdb, pg_ctl).
std::string PostgresBinDir();

// Whether the PostgreSQL 15 server binaries are installed (tests that need
// them GTEST_SKIP otherwise, saying why).
bool PostgresInstalled();

// Whether pgaudit is installed for PostgreSQL 15.
bool PgauditInstalled();

}  // namespace jit::testing
