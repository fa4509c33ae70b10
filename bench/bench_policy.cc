// Policy Evaluate at 1, 100 and 10 000 policies. Policy i lets user u<i>
// request entitlement ent-<i> (auto-approved, at most one hour); the ask is
// the last policy's user, the same set bench/peers/policy_peers.mjs gives
// cedar-wasm and casbin.
//   bench_policy [--jitd_max_policies=10000] [benchmark flags]

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>

#include "bench/bench_util.h"
#include "jit/policy/policy.h"

namespace jit::bench {
namespace {

std::string PolicyYaml(int n) {
  std::string yaml = "entitlements:\n";
  for (int i = 0; i < n; ++i) {
    yaml += fmt::format(
        "  - {{name: ent-{}, connector: demo, max_duration: 1h}}\n", i);
  }
  yaml += "policies:\n";
  for (int i = 0; i < n; ++i) {
    yaml += fmt::format(
        "  - {{name: p-{0}, subjects: {{users: [u{0}]}}, "
        "entitlements: [ent-{0}], approval: {{auto: true}}}}\n",
        i);
  }
  return yaml;
}

StatusOr<std::shared_ptr<const PolicySet>> LoadPolicies(int n) {
  try {
    return PolicySet::Load(YAML::Load(PolicyYaml(n)), "bench.yaml");
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(std::string("bench policies: ") + e.what());
  }
}

// Loaded sets by size: Google Benchmark calls a benchmark several times
// (growing iteration counts) and 10 000 policies take a while to load.
using PolicyCache = std::map<int, StatusOr<std::shared_ptr<const PolicySet>>>;

void BM_PolicyEvaluate(benchmark::State& state, PolicyCache& cache) {
  int n = static_cast<int>(state.range(0));
  auto cached = cache.find(n);
  if (cached == cache.end()) cached = cache.emplace(n, LoadPolicies(n)).first;
  const StatusOr<std::shared_ptr<const PolicySet>>& set = cached->second;
  if (!set.ok()) {
    state.SkipWithError(set.status().ToString().c_str());
    return;
  }
  AccessAsk ask;
  ask.subject = Subject{fmt::format("u{}", n - 1), "", {}};
  ask.subject.person = ask.subject.name;
  ask.entitlement = fmt::format("ent-{}", n - 1);
  ask.duration = std::chrono::minutes(15);
  SystemTime now = std::chrono::system_clock::now();
  Samples samples;
  int64_t denied = 0;
  for (auto _ : state) {
    int64_t t0 = NowNs();
    Decision d = (*set)->Evaluate(ask, now);
    samples.Add(NowNs() - t0);
    if (!d.allow || d.needs_approval) ++denied;
    benchmark::DoNotOptimize(d);
  }
  if (denied > 0) state.SkipWithError("the ask was not auto-approved");
  samples.Report(state);
  state.counters["policies"] = n;
}

}  // namespace
}  // namespace jit::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  int64_t max = jit::bench::IntFlag(argc, argv, "max_policies", 10000);
  auto cache = std::make_shared<jit::bench::PolicyCache>();
  auto* b = benchmark::RegisterBenchmark(
      "BM_PolicyEvaluate", [cache](benchmark::State& state) {
        jit::bench::BM_PolicyEvaluate(state, *cache);
      });
  for (int64_t n : {int64_t{1}, int64_t{100}, int64_t{10000}}) {
    if (n <= max) b->Arg(n);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
