#include "jit/server/main.h"

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "jit/base/crash_point.h"
#include "jit/server/init_config.h"
#include "jit/server/jitd_server.h"

namespace jit {
namespace {

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("jitd");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v",
                      spdlog::pattern_time_type::utc);
  logger->set_level(spdlog::level::from_str(level));
  spdlog::set_default_logger(logger);
}

// Waits for signals on this thread (blocked everywhere else): HUP reloads,
// INT/TERM stop.
void ServeUntilSignalled(JitdServer& server, const sigset_t& signals) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      (void)server.Reload();  // logs its own outcome; old config stays on error
      continue;
    }
    spdlog::info("signal {}: stopping", sig);
    return;
  }
}

// `jitd --init DIR`: the token goes to stdout once, everything else too, so
// a script can capture the lot; errors go to stderr with exit code 1.
int InitMain(const std::string& dir, const std::string& listen,
             const std::string& data_dir, const char* argv0) {
  InitOptions o;
  o.dir = dir;
  if (!listen.empty()) o.listen = listen;
  o.data_dir = data_dir;
  // /proc may be missing (a chroot during package installation): then the
  // path jitd was started by, which maintainer scripts give in full.
  std::error_code ec;
  std::string exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  o.web_dir = InstalledWebDir(ec ? std::string(argv0) : exe);
  StatusOr<InitResult> r = WriteStarterConfig(std::move(o));
  if (!r.ok()) {
    std::cerr << "jitd: --init: " << r.status().message() << "\n";
    return 1;
  }
  std::cout << "jitd: wrote " << r->config_path << " (mode 0600; data_dir "
            << r->data_dir << ")\n"
            << "Administrator token, shown only now (the config keeps its "
               "SHA-256):\n\n"
            << "  JIT_TOKEN=" << r->admin_token << "\n\n"
            << "Start jitd:   jitd --config " << r->config_path << "\n"
            << "Then:         export JIT_SERVER=http://" << r->listen
            << " JIT_TOKEN=<the token above>\n"
            << "              jit audit verify\n";
  return 0;
}

}  // namespace

int JitdMain(int argc, char** argv) {
  CLI::App app{"jitd: just-in-time privilege elevation daemon"};
  std::string config_path;
  std::string listen;
  std::string data_dir;
  std::string init_dir;
  CLI::Option* config_opt =
      app.add_option("--config", config_path, "config file (YAML)");
  app.add_option("--init", init_dir,
                 "write a starter config to DIR/jitd.yaml (with --listen and "
                 "--data-dir in it), print a new admin token, and exit")
      ->excludes(config_opt);
  app.add_option("--listen", listen, "override listen HOST:PORT");
  app.add_option("--data-dir", data_dir, "override data_dir");
  bool insecure = false;
  app.add_flag("--insecure", insecure,
               "allow plain HTTP on a non-loopback address");
  CLI11_PARSE(app, argc, argv);
  if (!init_dir.empty()) return InitMain(init_dir, listen, data_dir, argv[0]);
  if (config_path.empty()) {
    std::cerr << "jitd: --config FILE is required (or --init DIR to write "
                 "a starter config)\n";
    return 1;
  }

  StatusOr<Config> config = LoadConfig(config_path);
  if (!config.ok()) {
    std::cerr << "jitd: config error: " << config.status().message() << "\n";
    return 1;
  }
  if (!listen.empty()) {
    Status s = ParseListen(listen, config->listen_address, config->listen_port);
    if (!s.ok()) {
      std::cerr << "jitd: --listen: " << s.message() << "\n";
      return 1;
    }
  }
  if (!data_dir.empty()) config->data_dir = data_dir;
  if (Status s = CheckListenSecurity(
          *config, insecure ? InsecureListen::kAllow : InsecureListen::kRefuse);
      !s.ok()) {
    std::cerr << "jitd: " << s.message() << "\n";
    return 1;
  }
  SetUpLogging(config->log_level);
  if (Status s = ArmCrashPointsFromEnvironment(); !s.ok()) {
    std::cerr << "jitd: " << s.message() << "\n";
    return 1;
  }
  if (CrashPointsArmed())
    spdlog::warn("crash points armed from JITD_CRASH_POINT (for tests only)");
  if (!config->tls && !IsLoopbackHost(config->listen_address)) {
    spdlog::warn(
        "INSECURE: --insecure given; serving plain HTTP on {}, bearer tokens "
        "cross the network unencrypted",
        config->listen_address);
  }

  // Block before any thread starts so only ServeUntilSignalled sees them.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  StatusOr<std::unique_ptr<JitdServer>> server =
      JitdServer::Create(*std::move(config));
  if (!server.ok()) {
    std::cerr << "jitd: " << server.status().ToString() << "\n";
    return 1;
  }
  Status started = (*server)->Start();
  if (!started.ok()) {
    std::cerr << "jitd: " << started.ToString() << "\n";
    return 1;
  }
  const Config& c = (*server)->config();
  spdlog::info("jitd listening on {}://{}:{} (store: {}, data_dir: {})",
               c.tls ? "https" : "http", c.listen_address, (*server)->port(),
               c.storage, c.data_dir);
  ServeUntilSignalled(**server, signals);
  (*server)->Stop();
  return 0;
}

}  // namespace jit
