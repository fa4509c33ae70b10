// jitd_soak: runs the real jitd (SQLite store, fake connector) under mixed
// traffic for a set time and samples its resident memory (VmRSS) and open
// file descriptors. Fails when, after a warm-up, either grows beyond its
// bound, when jitd dies, when a check allowed an expired or revoked grant,
// or when the audit chain does not verify. See docs/RELIABILITY.md.
#include <dirent.h>
#include <sys/types.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "jit/client/http_client.h"
#include "tests/integration/jitd_process.h"
#include "tests/torture/ledger.h"
#include "tests/torture/traffic.h"

namespace jit::soak {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::steady_clock;
using torture::kAuditorToken;

struct Options {
  int seconds = 600;
  int warmup_seconds = 0;  // 0: a quarter of the run, at most 60 s
  int sample_seconds = 5;
  int traffic_threads = 2;
  // Bounds on growth after the warm-up (docs/RELIABILITY.md says why).
  int64_t rss_growth_kib = 16 * 1024;
  int rss_growth_percent = 20;
  int fd_growth = 8;
  uint64_t seed = 1;
  std::string keep_dir;
  std::string samples_csv;
};

struct Sample {
  double at_s = 0;
  int64_t rss_kib = -1;
  int fds = -1;
};

// VmRSS of `pid` in KiB from /proc/PID/status; nullopt when gone.
std::optional<int64_t> ReadRssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) != 0) continue;
    try {
      return std::stoll(line.substr(6));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  return std::nullopt;
}

// Entries of /proc/PID/fd; nullopt when gone.
std::optional<int> CountFds(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = opendir(path.c_str());
  if (d == nullptr) return std::nullopt;
  int n = 0;
  // Bounded by the process's fd limit.
  for (int i = 0; i < 1'000'000; ++i) {
    dirent* e = readdir(d);
    if (e == nullptr) break;
    if (e->d_name[0] != '.') ++n;
  }
  closedir(d);
  return n;
}

bool VerifiedOk(int status, const nlohmann::json& body) {
  return status == 200 && body.is_object() && body.value("ok", false) == true;
}

// Reads the audit log the ways an auditor does: pages, verification, and
// short-lived event streams opened and closed over and over (each must give
// its connection back).
class AuditReader {
 public:
  explicit AuditReader(const testing::JitdProcess& jitd) : jitd_(jitd) {}
  ~AuditReader() { Stop(); }

  void Start() {
    thread_ = std::thread([this] { Run(); });
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int64_t reads() const { return reads_; }
  int64_t verifies() const { return verifies_; }
  int64_t verify_failures() const { return verify_failures_; }
  int64_t streams() const { return streams_; }
  int64_t streamed_events() const { return streamed_events_; }

 private:
  void Run() {
    auto client = HttpClient::Create(jitd_.url(), seconds(5));
    if (!client.ok()) return;
    // Bounded: one round takes at least the pacing below; a day at most.
    for (int round = 0; round < 24 * 3600 * 5 && !stop_; ++round) {
      testing::Reply page = jitd_.Get("/v1/audit?limit=100", kAuditorToken);
      if (page.status == 200) ++reads_;
      if (round % 25 == 0) {
        testing::Reply v = jitd_.Get("/v1/audit/verify", kAuditorToken);
        // No answer within the client's 10 s (a long chain on a busy
        // machine) is not a failure; an answer other than ok is.
        if (v.status != 0) ++verifies_;
        if (v.status != 0 && !VerifiedOk(v.status, v.body)) ++verify_failures_;
      }
      if (round % 5 == 0) {
        int got = 0;
        Status s = client->Stream(
            "/v1/audit/stream?latest=20", kAuditorToken,
            [&](const std::string&, const std::string&, const std::string&) {
              ++got;
              return got < 50 && !stop_;
            });
        (void)s;  // a quiet log ends the stream by timeout; that is fine
        ++streams_;
        streamed_events_ += got;
      }
      // Pacing for polling the real jitd process (bounded above).
      std::this_thread::sleep_for(milliseconds(200));
    }
  }

  const testing::JitdProcess& jitd_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<int64_t> reads_{0};
  std::atomic<int64_t> verifies_{0};
  std::atomic<int64_t> verify_failures_{0};
  std::atomic<int64_t> streams_{0};
  std::atomic<int64_t> streamed_events_{0};
};

// Runs one Traffic per thread until Stop().
class TrafficThreads {
 public:
  TrafficThreads(const testing::JitdProcess& jitd, torture::Ledger& ledger,
                 int threads, uint64_t seed) {
    for (int i = 0; i < threads; ++i) {
      traffic_.push_back(
          std::make_unique<torture::Traffic>(jitd, ledger, seed + i));
    }
  }
  ~TrafficThreads() { Stop(); }

  void Start() {
    for (auto& t : traffic_) {
      threads_.emplace_back([this, tr = t.get()] {
        // Bounded: a day of steps at the pacing below at most.
        for (int i = 0; i < 24 * 3600 * 200 && !stop_; ++i) {
          tr->Step();
          // Pacing for driving the real jitd process (bounded above).
          std::this_thread::sleep_for(milliseconds(5));
        }
      });
    }
  }
  void Stop() {
    stop_ = true;
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
    threads_.clear();
  }
  int64_t ops() const {
    int64_t n = 0;
    for (const auto& t : traffic_) n += t->ops();
    return n;
  }

 private:
  std::vector<std::unique_ptr<torture::Traffic>> traffic_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
};

template <typename T, typename F>
T MaxOf(const std::vector<Sample>& s, size_t from, size_t to, F field) {
  T m = field(s[from]);
  for (size_t i = from; i < to; ++i) m = std::max(m, field(s[i]));
  return m;
}

int Run(const Options& o, const std::string& dir) {
  const int warmup =
      o.warmup_seconds > 0 ? o.warmup_seconds : std::min(60, o.seconds / 4);
  testing::JitdProcess jitd(dir, torture::TortureConfig(dir));
  if (Status s = jitd.Start(); !s.ok()) {
    std::fprintf(stderr, "soak: jitd did not start: %s\n%s\n",
                 s.ToString().c_str(), jitd.log().c_str());
    return 1;
  }
  std::printf(
      "soak: jitd pid %d on %s, %d s (warm-up %d s), sample every %d s\n",
      static_cast<int>(jitd.pid()), jitd.url().c_str(), o.seconds, warmup,
      o.sample_seconds);
  std::fflush(stdout);

  torture::Ledger ledger;
  TrafficThreads traffic(jitd, ledger, o.traffic_threads, o.seed);
  torture::CheckLoop checks(jitd, ledger);
  AuditReader audit(jitd);
  traffic.Start();
  checks.Start();
  audit.Start();

  std::vector<Sample> samples;
  bool died = false;
  const auto start = steady_clock::now();
  const auto end = start + seconds(o.seconds);
  auto next_check_restart = start + seconds(300);
  // Bounded by the run time: one sample per sample_seconds.
  for (int i = 0; i <= o.seconds / o.sample_seconds + 1; ++i) {
    auto now = steady_clock::now();
    Sample s;
    s.at_s = std::chrono::duration<double>(now - start).count();
    auto rss = ReadRssKib(jitd.pid());
    auto fds = CountFds(jitd.pid());
    if (!rss || !fds || jitd.Exited()) {
      died = true;
      break;
    }
    s.rss_kib = *rss;
    s.fds = *fds;
    samples.push_back(s);
    if (now >= end) break;
    // The check loop stops on its own after ~10 minutes: start it again.
    if (now >= next_check_restart) {
      checks.Start();
      next_check_restart = now + seconds(300);
    }
    // Sampling the real jitd process (bounded by the loop above).
    std::this_thread::sleep_until(
        std::min(end, start + seconds((i + 1) * o.sample_seconds)));
  }
  traffic.Stop();
  checks.Stop();
  audit.Stop();

  if (!o.samples_csv.empty()) {
    std::ofstream csv(o.samples_csv);
    csv << "seconds,rss_kib,fds\n";
    for (const Sample& s : samples)
      csv << s.at_s << "," << s.rss_kib << "," << s.fds << "\n";
  }

  int failures = 0;
  if (died) {
    std::printf("FAIL: jitd died during the soak\n%s\n", jitd.log().c_str());
    return 1;
  }
  auto client = HttpClient::Create(jitd.url(), seconds(120));
  StatusOr<ClientResponse> verify =
      client.ok() ? client->Do("GET", "/v1/audit/verify", kAuditorToken)
                  : StatusOr<ClientResponse>(client.status());
  bool verified = verify.ok() &&
                  VerifiedOk(verify->status, nlohmann::json::parse(
                                                 verify->body, nullptr, false));
  if (!verified || audit.verify_failures() > 0) {
    std::printf(
        "FAIL: audit verify: %d failed during the run; at the end: %s\n",
        static_cast<int>(audit.verify_failures()),
        verify.ok() ? verify->body.c_str()
                    : verify.status().ToString().c_str());
    ++failures;
  }
  for (const auto& [kind, n] : ledger.ViolationCounts()) {
    std::printf("FAIL: invariant %s violated %d times\n", kind.c_str(), n);
    ++failures;
  }

  // Warm-up: everything before `warmup` seconds. The rest is split into
  // a first and a last quarter; growth = max of the last - max of the first.
  size_t w = 0;
  while (w < samples.size() && samples[w].at_s < warmup) ++w;
  const size_t n = samples.size() - w;
  if (n < 4) {
    std::printf("FAIL: only %zu samples after the warm-up; run longer\n", n);
    return 1;
  }
  const size_t q = std::max<size_t>(1, n / 4);
  auto rss_of = [](const Sample& s) { return s.rss_kib; };
  auto fds_of = [](const Sample& s) { return s.fds; };
  const int64_t rss_base = MaxOf<int64_t>(samples, w, w + q, rss_of);
  const int64_t rss_last =
      MaxOf<int64_t>(samples, samples.size() - q, samples.size(), rss_of);
  const int64_t rss_max = MaxOf<int64_t>(samples, 0, samples.size(), rss_of);
  const int fd_base = MaxOf<int>(samples, w, w + q, fds_of);
  const int fd_last =
      MaxOf<int>(samples, samples.size() - q, samples.size(), fds_of);
  const int fd_max = MaxOf<int>(samples, 0, samples.size(), fds_of);
  const int64_t rss_bound =
      std::max(o.rss_growth_kib, rss_base * o.rss_growth_percent / 100);

  std::printf(
      "soak: %.0f s, %zu samples; RSS KiB start %lld, after warm-up %lld, "
      "end %lld, max %lld (last-quarter max %lld, growth %lld, bound %lld); "
      "fds start %d, after warm-up %d, end %d, max %d (growth %d, bound %d)\n",
      samples.back().at_s, samples.size(),
      static_cast<long long>(samples.front().rss_kib),
      static_cast<long long>(rss_base),
      static_cast<long long>(samples.back().rss_kib),
      static_cast<long long>(rss_max), static_cast<long long>(rss_last),
      static_cast<long long>(rss_last - rss_base),
      static_cast<long long>(rss_bound), samples.front().fds, fd_base,
      samples.back().fds, fd_max, fd_last - fd_base, o.fd_growth);
  std::printf(
      "soak: served %lld traffic steps, %lld requests acknowledged, %lld "
      "checks (%lld allowed), %lld audit pages, %lld verifies, %lld streams "
      "(%lld events)\n",
      static_cast<long long>(traffic.ops()),
      static_cast<long long>(ledger.acked_requests()),
      static_cast<long long>(ledger.checks()),
      static_cast<long long>(ledger.allowed_checks()),
      static_cast<long long>(audit.reads()),
      static_cast<long long>(audit.verifies()),
      static_cast<long long>(audit.streams()),
      static_cast<long long>(audit.streamed_events()));
  if (rss_last - rss_base > rss_bound) {
    std::printf("FAIL: RSS grew %lld KiB after the warm-up (bound %lld)\n",
                static_cast<long long>(rss_last - rss_base),
                static_cast<long long>(rss_bound));
    ++failures;
  }
  if (fd_last - fd_base > o.fd_growth) {
    std::printf("FAIL: open fds grew by %d after the warm-up (bound %d)\n",
                fd_last - fd_base, o.fd_growth);
    ++failures;
  }
  if (ledger.acked_requests() == 0 || ledger.checks() == 0 ||
      audit.streams() == 0) {
    std::printf("FAIL: the traffic did not reach jitd\n");
    ++failures;
  }
  std::printf("soak: %s\n", failures == 0 ? "OK" : "FAILED");
  return failures == 0 ? 0 : 1;
}

}  // namespace
}  // namespace jit::soak

int main(int argc, char** argv) {
  jit::soak::Options o;
  CLI::App app{"Soak run of the real jitd: mixed traffic, RSS and fds sampled"};
  app.add_option("--seconds", o.seconds, "run time")
      ->check(CLI::Range(8, 86400));
  app.add_option("--warmup", o.warmup_seconds,
                 "seconds not judged (default: a quarter, at most 60)")
      ->check(CLI::Range(0, 86400));
  app.add_option("--sample-every", o.sample_seconds, "seconds between samples")
      ->check(CLI::Range(1, 60));
  app.add_option("--traffic-threads", o.traffic_threads)
      ->check(CLI::Range(1, 16));
  app.add_option("--rss-growth-kib", o.rss_growth_kib,
                 "allowed RSS growth after the warm-up (KiB), or");
  app.add_option("--rss-growth-percent", o.rss_growth_percent,
                 "... this share of the RSS after the warm-up, if larger");
  app.add_option("--fd-growth", o.fd_growth, "allowed growth of open fds");
  app.add_option("--seed", o.seed);
  app.add_option("--keep-dir", o.keep_dir,
                 "run jitd in this directory and keep it (log, database)");
  app.add_option("--samples-csv", o.samples_csv, "write the samples here");
  CLI11_PARSE(app, argc, argv);
  if (o.seconds / o.sample_seconds < 4) {
    std::fprintf(stderr, "soak: --seconds must be at least 4 samples long\n");
    return 2;
  }
  std::unique_ptr<jit::testing::TempDir> tmp;
  std::string dir = o.keep_dir;
  if (dir.empty()) {
    tmp = std::make_unique<jit::testing::TempDir>();
    dir = tmp->path();
  } else {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
  }
  return jit::soak::Run(o, dir);
}
