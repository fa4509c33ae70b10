#pragma once

// Helpers shared by the jitd benchmarks: per-call latency samples, their
// percentiles as Google Benchmark counters, and bench-only command-line
// flags (`--jitd_NAME=VALUE`, left in argv by benchmark::Initialize).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

namespace jit::bench {

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Per-call times of one benchmark run. Bounded: keeps at most kMaxSamples
// (enough for a stable p99), later calls are timed but not stored.
class Samples {
 public:
  static constexpr size_t kMaxSamples = 2'000'000;

  void Add(int64_t ns) {
    if (ns_.size() < kMaxSamples) ns_.push_back(ns);
  }
  // The q-quantile (0..1) in nanoseconds; 0 when empty.
  double Quantile(double q) {
    if (ns_.empty()) return 0;
    size_t k = std::min(ns_.size() - 1, static_cast<size_t>(q * ns_.size()));
    std::nth_element(ns_.begin(), ns_.begin() + k, ns_.end());
    return static_cast<double>(ns_[k]);
  }
  // Sets p50_ns and p99_ns on `state`.
  void Report(benchmark::State& state) {
    state.counters["p50_ns"] = Quantile(0.50);
    state.counters["p99_ns"] = Quantile(0.99);
  }

 private:
  std::vector<int64_t> ns_;
};

// The value of `--jitd_<name>=N` in argv, or `fallback`.
inline int64_t IntFlag(int argc, char** argv, std::string_view name,
                       int64_t fallback) {
  std::string prefix = "--jitd_" + std::string(name) + "=";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, prefix.size()) == prefix) {
      return std::strtoll(arg.data() + prefix.size(), nullptr, 10);
    }
  }
  return fallback;
}

// The value of `--jitd_<name>=TEXT` in argv, or `fallback`.
inline std::string StringFlag(int argc, char** argv, std::string_view name,
                              std::string fallback) {
  std::string prefix = "--jitd_" + std::string(name) + "=";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, prefix.size()) == prefix) {
      return std::string(arg.substr(prefix.size()));
    }
  }
  return fallback;
}

}  // namespace jit::bench
