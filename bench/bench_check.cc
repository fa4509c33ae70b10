// In-process `check` at scale: GrantIndex::Check over N active grants
// against a bare std::unordered_map lookup of the same keys, plus the heap
// and RSS the index takes per grant.
//   bench_check [--jitd_grants=1000000] [benchmark flags]

#include <fmt/format.h>
#include <malloc.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "bench/bench_util.h"
#include "jit/workflow/grant_index.h"

namespace jit::bench {
namespace {

constexpr int kEntitlementsPerSubject = 10;
constexpr size_t kProbeKeys = 1 << 16;

std::string SubjectName(int64_t i) {
  return fmt::format("user-{:07d}", i / kEntitlementsPerSubject);
}
std::string EntitlementName(int64_t i) {
  return fmt::format("ent-{}", i % kEntitlementsPerSubject);
}

int64_t HeapInUse() { return static_cast<int64_t>(mallinfo2().uordblks); }

int64_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * 4096;
}

// N grants, each subject holding kEntitlementsPerSubject entitlements, built
// once per process and shared by the benchmarks.
struct Fixture {
  explicit Fixture(int64_t n) : grants(n) {
    SystemTime now = std::chrono::system_clock::now();
    MonoTime mono = std::chrono::steady_clock::now();
    Grant g;
    g.connector = "demo";
    g.starts_at = now;
    g.expires_at = now + std::chrono::hours(8);
    int64_t heap0 = HeapInUse();
    int64_t rss0 = RssBytes();
    for (int64_t i = 0; i < n; ++i) {
      g.id = fmt::format("grt_{:032x}", i);
      g.request_id = fmt::format("req_{:032x}", i);
      g.subject = SubjectName(i);
      g.entitlement = EntitlementName(i);
      index.Put(g, MonoDeadline(g.expires_at, now, mono), g.subject);
    }
    heap_per_grant = static_cast<double>(HeapInUse() - heap0) / n;
    rss_per_grant = static_cast<double>(RssBytes() - rss0) / n;
    bare.reserve(n);
    for (int64_t i = 0; i < n; ++i) {
      std::string key = SubjectName(i);
      key.push_back('\0');
      key += EntitlementName(i);
      bare.emplace(std::move(key), i);
    }
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<int64_t> pick(0, n - 1);
    for (size_t k = 0; k < kProbeKeys; ++k) {
      int64_t i = pick(rng);
      probes.push_back({SubjectName(i), EntitlementName(i)});
      std::string key = SubjectName(i);
      key.push_back('\0');
      key += EntitlementName(i);
      bare_probes.push_back(std::move(key));
    }
  }

  int64_t grants;
  GrantIndex index;
  std::unordered_map<std::string, int64_t> bare;
  std::vector<std::pair<std::string, std::string>> probes;
  std::vector<std::string> bare_probes;
  double heap_per_grant = 0;
  double rss_per_grant = 0;
};

// Builds the fixture on first use, so a filtered run builds it only if needed.
class LazyFixture {
 public:
  explicit LazyFixture(int64_t n) : n_(n) {}
  Fixture& Get() {
    if (!fixture_) fixture_ = std::make_unique<Fixture>(n_);
    return *fixture_;
  }

 private:
  int64_t n_;
  std::unique_ptr<Fixture> fixture_;
};

void BM_GrantIndexCheck(benchmark::State& state, Fixture& f) {
  Samples samples;
  size_t k = 0;
  int64_t misses = 0;
  for (auto _ : state) {
    const auto& [subject, entitlement] = f.probes[k++ % f.probes.size()];
    int64_t t0 = NowNs();
    auto hit =
        f.index.Check(subject, entitlement, std::chrono::system_clock::now(),
                      std::chrono::steady_clock::now());
    samples.Add(NowNs() - t0);
    if (!hit) ++misses;
    benchmark::DoNotOptimize(hit);
  }
  if (misses > 0) state.SkipWithError("a granted key did not allow");
  samples.Report(state);
  state.counters["grants"] = static_cast<double>(f.grants);
  state.counters["heap_bytes_per_grant"] = f.heap_per_grant;
  state.counters["rss_bytes_per_grant"] = f.rss_per_grant;
}

void BM_UnorderedMapLookup(benchmark::State& state, Fixture& f) {
  Samples samples;
  size_t k = 0;
  int64_t misses = 0;
  for (auto _ : state) {
    const std::string& key = f.bare_probes[k++ % f.bare_probes.size()];
    int64_t t0 = NowNs();
    auto it = f.bare.find(key);
    samples.Add(NowNs() - t0);
    if (it == f.bare.end()) ++misses;
    benchmark::DoNotOptimize(it);
  }
  if (misses > 0) state.SkipWithError("a stored key was not found");
  samples.Report(state);
  state.counters["grants"] = static_cast<double>(f.grants);
}

}  // namespace
}  // namespace jit::bench

int main(int argc, char** argv) {
  using jit::bench::LazyFixture;
  benchmark::Initialize(&argc, argv);
  auto fixture = std::make_shared<LazyFixture>(std::max<int64_t>(
      1, jit::bench::IntFlag(argc, argv, "grants", 1'000'000)));
  benchmark::RegisterBenchmark(
      "BM_GrantIndexCheck", [fixture](benchmark::State& state) {
        jit::bench::BM_GrantIndexCheck(state, fixture->Get());
      });
  benchmark::RegisterBenchmark(
      "BM_UnorderedMapLookup", [fixture](benchmark::State& state) {
        jit::bench::BM_UnorderedMapLookup(state, fixture->Get());
      });
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
