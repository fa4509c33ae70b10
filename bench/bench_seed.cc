// Writes a jitd data directory holding many active grants and a config that
// serves it, for the restart benchmark (run_bench.mjs starts jitd on it).
//   bench_seed --dir=DIR --grants=N --port=P --expires_in_s=S
// Exit code 0 on success; 1 with the reason on stderr.

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "bench/bench_util.h"
#include "bench/grant_seed.h"
#include "jit/storage/sqlite/sqlite_store.h"

namespace {

// The seeded config plus what jitd itself needs: listener, storage, tokens
// (alice in dev for the HTTP benchmarks).
std::string JitdConfig(const std::string& dir, int64_t port) {
  return fmt::format(
      "listen: 127.0.0.1:{}\ndata_dir: {}\nstorage: sqlite\nlog_level: warn\n"
      "auth:\n  tokens:\n"
      "    - {{subject: alice, groups: [dev], token: "
      "\"bench-alice-token-0123456789\"}}\n{}",
      port, dir, jit::bench::kSeedConfig);
}

}  // namespace

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  std::string dir = jit::bench::StringFlag(argc, argv, "dir", "");
  int64_t n = jit::bench::IntFlag(argc, argv, "grants", 1000);
  int64_t port = jit::bench::IntFlag(argc, argv, "port", 18420);
  int64_t expires_in = jit::bench::IntFlag(argc, argv, "expires_in_s", 3600);
  if (dir.empty()) {
    std::fprintf(stderr, "bench_seed: --jitd_dir=DIR is required\n");
    return 1;
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  {
    std::ofstream config(fs::path(dir) / "jitd.yaml");
    config << JitdConfig(dir, port);
    if (!config) {
      std::fprintf(stderr, "bench_seed: cannot write %s/jitd.yaml\n",
                   dir.c_str());
      return 1;
    }
  }
  auto store = jit::SqliteStore::Open((fs::path(dir) / "jitd.db").string());
  if (!store.ok()) {
    std::fprintf(stderr, "bench_seed: %s\n", store.status().ToString().c_str());
    return 1;
  }
  jit::SystemTime now = std::chrono::system_clock::now();
  jit::Status s = jit::bench::SeedGrants(
      **store, n, now, now + std::chrono::seconds(expires_in));
  if (!s.ok()) {
    std::fprintf(stderr, "bench_seed: %s\n", s.ToString().c_str());
    return 1;
  }
  return 0;
}
