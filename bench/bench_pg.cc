// A throwaway PostgreSQL 15 on 127.0.0.1 for the replica benchmarks
// (bench/replicas.mjs), started the way the tests start theirs
// (tests/support/postgres_server.h). For each database name given on the
// command line it creates that database, owned by the login role `jitd`,
// and prints its DSN as one line on stdout; then it waits until its stdin
// closes (or SIGTERM/SIGINT) and stops the server, removing its directory.
//
//   bench_pg DB...     exit 0 after a clean stop, 1 when PostgreSQL could not
//                      be started or set up (reason on stderr)
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <regex>
#include <string>

#include "tests/support/postgres_server.h"

namespace {

volatile sig_atomic_t stop_requested = 0;

void OnSignal(int) { stop_requested = 1; }

bool ValidDatabaseName(const std::string& name) {
  static const std::regex kName("[a-z_][a-z0-9_]{0,62}");
  return std::regex_match(name, kName);
}

// Blocks until stdin reaches end of file or a stop signal arrived.
void WaitForStdinClose() {
  char buf[256];
  while (stop_requested == 0) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n == 0) return;
    if (n < 0 && errno != EINTR) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_pg DATABASE...\n");
    return 1;
  }
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;  // no SA_RESTART: read() returns EINTR
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  jit::testing::PostgresServerOptions options;
  options.conf_lines = {"max_connections = 200"};
  auto pg = jit::testing::PostgresServer::Start(options);
  if (!pg.ok()) {
    std::fprintf(stderr, "bench_pg: %s\n", pg.status().ToString().c_str());
    return 1;
  }
  jit::Status s = (*pg)->Exec("CREATE ROLE jitd LOGIN");
  for (int i = 1; i < argc && s.ok(); ++i) {
    if (!ValidDatabaseName(argv[i])) {
      s = jit::InvalidArgumentError(std::string("bad database name: ") +
                                    argv[i]);
      break;
    }
    s = (*pg)->Exec(std::string("CREATE DATABASE ") + argv[i] + " OWNER jitd");
    if (s.ok()) std::printf("%s\n", (*pg)->Dsn("jitd", argv[i]).c_str());
  }
  if (!s.ok()) {
    std::fprintf(stderr, "bench_pg: %s\n", s.ToString().c_str());
    return 1;
  }
  std::fflush(stdout);
  WaitForStdinClose();
  return 0;  // ~PostgresServer stops the server and removes its directory
}
