#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "jit/base/status.h"
#include "jit/client/http_client.h"

namespace jit::testing {

// A scratch directory removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A free TCP port on 127.0.0.1 (bound, then released).
uint16_t FreePort();

struct Reply {
  int status = 0;
  nlohmann::json body;
  std::string raw;
};

// The real jitd binary, started on 127.0.0.1 with a config file written by
// the test, stopped (SIGTERM) when the object dies.
class JitdProcess {
 public:
  // `config_yaml` is written to DIR/jitd.yaml; the listen address and
  // data_dir are set by this class (a fresh port; DIR/data).
  JitdProcess(const std::string& dir, std::string config_yaml);
  // jitd on a config file the test did not write (e.g. from `jitd --init`),
  // left as it is: the fresh port is given with `--listen`; logs go to DIR.
  static std::unique_ptr<JitdProcess> ForConfigFile(
      const std::string& dir, const std::string& config_path);
  ~JitdProcess();

  // Starts jitd and waits (bounded, `ready_within`) until /readyz answers
  // 200.
  Status Start(std::chrono::seconds ready_within = std::chrono::seconds(20));
  // Starts jitd and returns its exit code and stderr when it exits by itself
  // within 20 s (for config errors).
  StatusOr<std::pair<int, std::string>> RunToExit();
  void Kill9();
  void Stop();
  // True once the process has ended (reaps it; e.g. a crash point fired),
  // or when it was never started.
  bool Exited();
  pid_t pid() const { return pid_; }
  void Signal(int sig);
  void RewriteConfig(std::string config_yaml);
  // Extra environment for the jitd process (e.g. libfaketime), from the
  // next Start() on.
  void SetEnv(std::map<std::string, std::string> env) {
    extra_env_ = std::move(env);
  }

  Reply Call(const std::string& method, const std::string& target,
             const std::string& token, const std::string& body = "",
             const std::map<std::string, std::string>& headers = {}) const;
  Reply Get(const std::string& target, const std::string& token) const {
    return Call("GET", target, token);
  }
  Reply Post(const std::string& target, const std::string& token,
             const nlohmann::json& body) const {
    return Call("POST", target, token, body.dump());
  }

  std::string url() const;
  const std::string& dir() const { return dir_; }
  std::string db_path() const { return dir_ + "/data/jitd.db"; }
  std::string config_path() const {
    return config_file_.empty() ? dir_ + "/jitd.yaml" : config_file_;
  }
  std::string log() const;
  uint16_t port() const { return port_; }

 private:
  struct ExistingFile {};
  JitdProcess(const std::string& dir, ExistingFile)
      : dir_(dir), port_(FreePort()) {}
  pid_t Spawn();

  std::string dir_;
  uint16_t port_;
  pid_t pid_ = -1;
  std::map<std::string, std::string> extra_env_;
  std::string config_file_;  // set by ForConfigFile
  std::vector<std::string> extra_args_;
};

// Runs a program with args and extra env; returns exit code and stdout+stderr.
struct ProgramResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
ProgramResult RunProgram(const std::vector<std::string>& argv,
                         const std::map<std::string, std::string>& env);

// Writes `secret` and a newline to DIR/NAME, readable by the owner only (as
// jitd wants its secret files); returns the path.
std::string WriteSecretFile(const std::string& dir, const std::string& name,
                            const std::string& secret);

// Runs `sqlite3 DB SQL` (the Debian sqlite3 CLI) and returns its stdout.
std::string Sqlite(const std::string& db, const std::string& sql);

// Polls `pred` every 20 ms until true or `limit` passed. Bounded.
bool WaitUntil(const std::function<bool()>& pred,
               std::chrono::milliseconds limit);

}  // namespace jit::testing
