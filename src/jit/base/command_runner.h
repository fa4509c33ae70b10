#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "jit/base/status.h"

namespace jit {

struct CommandResult {
  int exit_code = -1;  // the process's exit status; 128+N if killed by signal N
  std::string out;     // stdout, capped at 64 KiB
  std::string err;     // stderr, capped at 64 KiB
};

// Runs a program directly (fork/exec of argv[0], no shell), with exactly the
// environment given, stdin from /dev/null, and a timeout after which the
// process group is killed. Thread-safe.
class CommandRunner {
 public:
  virtual ~CommandRunner() = default;
  // Errors: kInvalidArgument for an empty argv; kDeadlineExceeded when the
  // timeout hit (process killed); kUnavailable when it could not be started.
  // A non-zero exit is NOT an error here: it is in CommandResult.
  virtual StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                                      const std::map<std::string, std::string>& env,
                                      std::chrono::milliseconds timeout) = 0;
};

// The real one: posix_spawn + poll on the pipes.
class PosixCommandRunner final : public CommandRunner {
 public:
  StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                              const std::map<std::string, std::string>& env,
                              std::chrono::milliseconds timeout) override;
};

}  // namespace jit
