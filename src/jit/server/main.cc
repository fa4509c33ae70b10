#include "jit/server/main.h"

#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <iostream>

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

}  // namespace

int JitdMain(int argc, char** argv) {
  CLI::App app{"jitd: just-in-time privilege elevation daemon"};
  std::string config_path;
  std::string listen;
  std::string data_dir;
  app.add_option("--config", config_path, "config file (YAML)")->required();
  app.add_option("--listen", listen, "override listen HOST:PORT");
  app.add_option("--data-dir", data_dir, "override data_dir");
  bool insecure = false;
  app.add_flag("--insecure", insecure,
               "allow plain HTTP on a non-loopback address");
  CLI11_PARSE(app, argc, argv);

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
