// Expiry storm: N active grants (SQLite store, fake connector) all expire in
// the same second; measures how long the expiry scheduler takes to revoke
// them all, and counts `check` answers that still allow after expiry (must
// be zero). The storm is cut off after --jitd_limit_s seconds; the figure
// then is the projected time at the rate reached.
//   bench_storm [--jitd_db=FILE (seeded by bench_seed)] [--jitd_grants=N]
//               [--jitd_dir=DIR] [--jitd_limit_s=60] [benchmark flags]

#include <fmt/format.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "bench/bench_util.h"
#include "bench/grant_seed.h"
#include "jit/connectors/fake/fake_connector.h"
#include "jit/expiry/expiry_scheduler.h"
#include "jit/storage/sqlite/sqlite_store.h"
#include "jit/storage/forwarding_store.h"
#include "jit/workflow/deps.h"
#include "jit/workflow/grant_index.h"
#include "jit/workflow/grant_lifecycle.h"
#include "jit/workflow/metrics.h"
#include "jit/workflow/request_service.h"

namespace jit::bench {
namespace {

namespace fs = std::filesystem;

// Forwards to `inner`, except that DueRevokes finds nothing once the
// deadline has passed: that ends the scheduler's pass, bounding the run.
class CutOffStore final : public ForwardingStore {
 public:
  CutOffStore(Store& inner, int64_t deadline_ns)
      : ForwardingStore(inner), deadline_ns_(deadline_ns) {}
  bool cut_off() const { return cut_off_.load(); }

  StatusOr<std::vector<Grant>> DueRevokes(SystemTime now, int limit) override {
    if (NowNs() >= deadline_ns_) {
      cut_off_.store(true);
      return std::vector<Grant>{};
    }
    return inner().DueRevokes(now, limit);
  }

 private:
  int64_t deadline_ns_;
  std::atomic<bool> cut_off_{false};
};

struct Options {
  std::string db;  // seeded file; empty = seed `grants` into a temp one
  std::string dir;
  int64_t grants = 1'000'000;
  int64_t limit_s = 60;
};

StatusOr<std::shared_ptr<const PolicySnapshot>> SeedSnapshot() {
  YAML::Node root;
  try {
    root = YAML::Load(kSeedConfig);
  } catch (const YAML::Exception& e) {
    return InternalError(std::string("seed config: ") + e.what());
  }
  StatusOr<std::shared_ptr<const PolicySet>> set =
      PolicySet::Load(root, "seed.yaml");
  if (!set.ok()) return set.status();
  auto snap = std::make_shared<PolicySnapshot>();
  snap->policies = *set;
  return std::shared_ptr<const PolicySnapshot>(std::move(snap));
}

// The expiry of the seeded grants (all equal): the first active grant's.
StatusOr<SystemTime> SeededExpiry(Store& store) {
  GrantFilter f;
  f.active_only = true;
  f.limit = 1;
  StatusOr<Page<Grant>> page = store.ListGrants(f);
  if (!page.ok()) return page.status();
  if (page->items.empty()) return NotFoundError("no active grant seeded");
  return page->items.front().expires_at;
}

// Asks the index about random seeded grants until `done`, at a bounded
// rate; counts allows.
void CheckWhileRevoking(const GrantIndex& index, const Clock& clock, int64_t n,
                        const std::atomic<bool>& done,
                        std::atomic<int64_t>& checks,
                        std::atomic<int64_t>& allows) {
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<int64_t> pick(0, n - 1);
  while (!done.load()) {
    int64_t i = pick(rng);
    if (index.Check(SeedSubject(i), SeedEntitlement(i), clock.Now(),
                    clock.MonotonicNow())) {
      allows.fetch_add(1);
    }
    checks.fetch_add(1);
    // Leaves the cores to the scheduler; ~20 000 checks/s is plenty.
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void BM_ExpiryStorm(benchmark::State& state, const Options& o) {
  std::string db = o.db;
  fs::path temp;
  if (db.empty()) {
    temp = fs::path(o.dir) / fmt::format("jitd-bench-storm-{}", getpid());
    fs::remove_all(temp);
    fs::create_directories(temp);
    db = (temp / "jitd.db").string();
  }
  StatusOr<std::unique_ptr<SqliteStore>> sqlite = SqliteStore::Open(db);
  StatusOr<std::shared_ptr<const PolicySnapshot>> snap = SeedSnapshot();
  if (!sqlite.ok() || !snap.ok()) {
    state.SkipWithError("cannot open the store or load the seed config");
    return;
  }
  if (o.db.empty()) {
    SystemTime t0 = std::chrono::system_clock::now();
    Status s = SeedGrants(**sqlite, o.grants, t0, t0 + std::chrono::hours(1));
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
  }
  StatusOr<SystemTime> expiry = SeededExpiry(**sqlite);
  if (!expiry.ok()) {
    state.SkipWithError(expiry.status().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    CutOffStore store(**sqlite, NowNs() + o.limit_s * 1'000'000'000);
    FakeClock clock(*expiry - std::chrono::seconds(1));
    PolicyHolder policies(*snap);
    ConnectorSet connectors;
    connectors.Add("demo", std::make_unique<FakeConnector>());
    GrantIndex index;
    Metrics metrics;
    WorkflowDeps deps{store, policies, connectors, index, metrics, clock};
    GrantLifecycle lifecycle(deps);
    RequestService requests(deps, lifecycle);
    ExpiryScheduler scheduler(store, lifecycle, requests, clock);
    if (Status s = lifecycle.RebuildIndex(); !s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    int64_t indexed = static_cast<int64_t>(index.size());
    // Every grant expires within this one second.
    clock.Advance(std::chrono::seconds(2));
    std::atomic<bool> done{false};
    std::atomic<int64_t> checks{0}, allows{0};
    std::thread checker(CheckWhileRevoking, std::cref(index), std::cref(clock),
                        indexed, std::cref(done), std::ref(checks),
                        std::ref(allows));
    int64_t t0 = NowNs();
    DueWork work = scheduler.RunDue(clock.Now());
    double seconds = (NowNs() - t0) / 1e9;
    done.store(true);
    checker.join();
    state.SetIterationTime(seconds);
    double rate = work.expired / std::max(seconds, 1e-9);
    state.counters["grants"] = static_cast<double>(indexed);
    state.counters["revoked"] = work.expired;
    state.counters["errors"] = work.errors;
    state.counters["seconds"] = seconds;
    state.counters["revoked_per_s"] = rate;
    state.counters["cut_off"] = store.cut_off() ? 1 : 0;
    state.counters["projected_s"] = work.expired > 0 ? indexed / rate : 1e9;
    state.counters["checks_after_expiry"] = static_cast<double>(checks.load());
    state.counters["allows_after_expiry"] = static_cast<double>(allows.load());
  }
  if (!temp.empty()) {
    std::error_code ignored;  // a leftover temp dir is harmless
    fs::remove_all(temp, ignored);
  }
}

}  // namespace
}  // namespace jit::bench

int main(int argc, char** argv) {
  using jit::bench::IntFlag;
  using jit::bench::StringFlag;
  benchmark::Initialize(&argc, argv);
  jit::bench::Options o;
  o.db = StringFlag(argc, argv, "db", "");
  o.dir = StringFlag(argc, argv, "dir", std::filesystem::temp_directory_path());
  o.grants = std::max<int64_t>(1, IntFlag(argc, argv, "grants", 1'000'000));
  o.limit_s = std::max<int64_t>(1, IntFlag(argc, argv, "limit_s", 60));
  benchmark::RegisterBenchmark(
      "BM_ExpiryStorm",
      [o](benchmark::State& s) { jit::bench::BM_ExpiryStorm(s, o); })
      ->Iterations(1)
      ->UseManualTime()
      ->Unit(benchmark::kSecond);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
