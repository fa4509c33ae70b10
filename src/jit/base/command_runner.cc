#include "jit/base/command_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

namespace jit {
namespace {

constexpr size_t kMaxCapture = 64 * 1024;
// Without a pidfd, the exit of a child that closed its pipes early is noticed
// by looking again at this interval.
constexpr std::chrono::milliseconds kExitRecheck{20};

using SteadyTime = std::chrono::steady_clock::time_point;

std::string ErrnoText(int err) { return std::system_category().message(err); }

// Owns one file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) Reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

struct Pipe {
  UniqueFd read;
  UniqueFd write;
};

// Both ends close-on-exec, so a child started by another thread at the same
// moment never inherits them (it would hold our pipe open).
StatusOr<Pipe> MakePipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
    return UnavailableError("pipe2: " + ErrnoText(errno));
  }
  Pipe p;
  p.read.Reset(fds[0]);
  p.write.Reset(fds[1]);
  // The child's end must block: programs rarely expect EAGAIN on stdout.
  int flags = ::fcntl(p.write.get(), F_GETFL);
  ::fcntl(p.write.get(), F_SETFL, flags & ~O_NONBLOCK);
  return p;
}

bool HasNul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

Status ValidateArgs(const std::vector<std::string>& argv,
                    const std::map<std::string, std::string>& env) {
  if (argv.empty()) return InvalidArgumentError("command: empty argv");
  if (argv[0].empty() || argv[0][0] != '/') {
    return InvalidArgumentError("command: program \"" + argv[0] +
                                "\" must be an absolute path");
  }
  for (const std::string& arg : argv) {
    if (HasNul(arg))
      return InvalidArgumentError("command: argument contains NUL");
  }
  for (const auto& [key, value] : env) {
    if (key.empty() || key.find('=') != std::string::npos || HasNul(key) ||
        HasNul(value)) {
      return InvalidArgumentError("command: invalid environment variable \"" +
                                  key + "\"");
    }
  }
  return OkStatus();
}

// Spawn-time settings released on scope exit.
class SpawnSetup {
 public:
  SpawnSetup() {
    ::posix_spawn_file_actions_init(&actions_);
    ::posix_spawnattr_init(&attr_);
  }
  ~SpawnSetup() {
    ::posix_spawn_file_actions_destroy(&actions_);
    ::posix_spawnattr_destroy(&attr_);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;

  // stdin from /dev/null, stdout/stderr to the pipes, every other descriptor
  // closed; own process group; default signal handling and an empty mask.
  int Prepare(int out_fd, int err_fd) {
    int rc = 0;
    if ((rc = ::posix_spawn_file_actions_addopen(&actions_, STDIN_FILENO,
                                                 "/dev/null", O_RDONLY, 0)) ||
        (rc = ::posix_spawn_file_actions_adddup2(&actions_, out_fd,
                                                 STDOUT_FILENO)) ||
        (rc = ::posix_spawn_file_actions_adddup2(&actions_, err_fd,
                                                 STDERR_FILENO)) ||
        (rc = ::posix_spawn_file_actions_addclosefrom_np(&actions_, 3))) {
      return rc;
    }
    sigset_t empty;
    sigset_t all;
    sigemptyset(&empty);
    sigfillset(&all);
    short flags =
        POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if ((rc = ::posix_spawnattr_setpgroup(&attr_, 0)) ||
        (rc = ::posix_spawnattr_setsigmask(&attr_, &empty)) ||
        (rc = ::posix_spawnattr_setsigdefault(&attr_, &all)) ||
        (rc = ::posix_spawnattr_setflags(&attr_, flags))) {
      return rc;
    }
    return 0;
  }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

std::vector<char*> CArgv(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const std::string& s : strings)
    out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// Appends what is readable on `fd` to `sink` up to the cap, discarding the
// rest so the child never blocks on a full pipe. Returns false at EOF.
bool Drain(int fd, std::string& sink) {
  char buf[16 * 1024];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n > 0) {
      size_t room = kMaxCapture - std::min(kMaxCapture, sink.size());
      sink.append(buf, std::min(room, static_cast<size_t>(n)));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

// True once `pid` has exited; leaves it unreaped, so its process group id
// stays reserved until we kill and reap.
bool HasExited(pid_t pid) {
  siginfo_t info{};
  while (::waitid(P_PID, static_cast<id_t>(pid), &info,
                  WEXITED | WNOHANG | WNOWAIT) != 0) {
    if (errno != EINTR) return true;  // ECHILD: nothing left to wait for
  }
  return info.si_pid == pid;
}

int Reap(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Debian 12's <sys/pidfd.h> lacks C linkage, so the system call is made
// directly. -1 where the kernel lacks it (before Linux 5.3).
int PidFdOpen(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

int PollMillis(SteadyTime deadline, bool need_recheck) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (need_recheck) left = std::min(left, kExitRecheck);
  return static_cast<int>(std::max<int64_t>(0, left.count()));
}

// One started child: its pid, the read ends of its pipes and, where the
// kernel has them, a pidfd that becomes readable when it exits.
class Child {
 public:
  Child(pid_t pid, UniqueFd out, UniqueFd err)
      : pid_(pid),
        out_(std::move(out)),
        err_(std::move(err)),
        exit_fd_(PidFdOpen(pid)) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  // Never leaves a zombie or a running group behind, whatever path returned.
  ~Child() {
    if (reaped_) return;
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);  // in case it left its group
    Reap(pid_);
  }

  // Collects output until the child exited and closed both pipes, or until
  // `deadline`. Returns false on timeout.
  bool Wait(SteadyTime deadline, CommandResult& result) {
    while (true) {
      if (!exited_ && !exit_fd_.valid()) exited_ = HasExited(pid_);
      if (exited_ && !out_.valid() && !err_.valid()) return true;
      pollfd fds[3];
      nfds_t n = 0;
      AddFd(fds, n, out_);
      AddFd(fds, n, err_);
      if (!exited_) AddFd(fds, n, exit_fd_);
      // With nothing to watch (pipes closed, no pidfd) poll() just waits for
      // the next look at the exit.
      bool recheck = !exited_ && !exit_fd_.valid();
      if (std::chrono::steady_clock::now() >= deadline) return false;
      int ready = ::poll(fds, n, PollMillis(deadline, recheck));
      if (ready < 0 && errno != EINTR) return false;
      if (ready <= 0) continue;
      for (nfds_t i = 0; i < n; ++i) Handle(fds[i], result);
    }
  }

  int Finish() {
    reaped_ = true;
    return Reap(pid_);
  }

 private:
  static void AddFd(pollfd* fds, nfds_t& n, const UniqueFd& fd) {
    if (!fd.valid()) return;
    fds[n++] = pollfd{fd.get(), POLLIN, 0};
  }

  void Handle(const pollfd& p, CommandResult& result) {
    if (p.revents == 0) return;
    if (p.fd == exit_fd_.get()) {
      exited_ = true;
      return;
    }
    UniqueFd& fd = p.fd == out_.get() ? out_ : err_;
    std::string& sink = p.fd == out_.get() ? result.out : result.err;
    if (!Drain(fd.get(), sink)) fd.Reset();
  }

  pid_t pid_;
  UniqueFd out_;
  UniqueFd err_;
  UniqueFd exit_fd_;  // invalid when pidfd_open is not available
  bool exited_ = false;
  bool reaped_ = false;
};

}  // namespace

StatusOr<CommandResult> PosixCommandRunner::Run(
    const std::vector<std::string>& argv,
    const std::map<std::string, std::string>& env,
    std::chrono::milliseconds timeout) {
  Status valid = ValidateArgs(argv, env);
  if (!valid.ok()) return valid;
  const SteadyTime deadline = std::chrono::steady_clock::now() + timeout;
  if (timeout <= std::chrono::milliseconds::zero()) {
    return DeadlineExceededError("command " + argv[0] +
                                 ": no time left to run");
  }

  StatusOr<Pipe> out = MakePipe();
  if (!out.ok()) return out.status();
  StatusOr<Pipe> err = MakePipe();
  if (!err.ok()) return err.status();

  SpawnSetup setup;
  if (int rc = setup.Prepare(out->write.get(), err->write.get()); rc != 0) {
    return UnavailableError("command " + argv[0] +
                            ": spawn setup: " + ErrnoText(rc));
  }
  std::vector<std::string> env_strings;
  env_strings.reserve(env.size());
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> c_argv = CArgv(argv);
  std::vector<char*> c_env = CArgv(env_strings);

  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0].c_str(), setup.actions(), setup.attr(),
                         c_argv.data(), c_env.data());
  if (rc != 0) {
    return UnavailableError("command " + argv[0] +
                            ": cannot start: " + ErrnoText(rc));
  }
  // Only the child may hold the write ends, or we would never see EOF.
  out->write.Reset();
  err->write.Reset();

  CommandResult result;
  Child child(pid, std::move(out->read), std::move(err->read));
  if (!child.Wait(deadline, result)) {
    // ~Child kills the whole process group and reaps the child.
    return DeadlineExceededError("command " + argv[0] + ": timed out after " +
                                 std::to_string(timeout.count()) +
                                 "ms; process group killed");
  }
  result.exit_code = child.Finish();
  return result;
}

}  // namespace jit
