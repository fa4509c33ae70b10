// The Prometheus alert rules of docs/operations/ name only metrics a
// running jitd exports, and promtool accepts them when installed.
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <regex>
#include <set>
#include <string>

#include "tests/integration/fixture.h"

namespace jit::testing {
namespace {

const std::string kOps = std::string(JIT_SOURCE_DIR) + "/docs/operations";

// Every jitd_* metric named in the `expr` of any rule.
StatusOr<std::set<std::string>> MetricsInRules(const std::string& path) {
  std::set<std::string> names;
  try {
    YAML::Node doc = YAML::LoadFile(path);
    const std::regex metric("jitd_[a-z0-9_]+");
    for (const YAML::Node& group : doc["groups"]) {
      for (const YAML::Node& rule : group["rules"]) {
        std::string expr = rule["expr"].as<std::string>();
        for (std::sregex_iterator it(expr.begin(), expr.end(), metric), end;
             it != end; ++it) {
          names.insert(it->str());
        }
      }
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(path + ": " + e.what());
  }
  return names;
}

// `name` is exported when /metrics declares it (# TYPE), or it is a
// histogram's _bucket/_sum/_count series.
bool Exported(const std::string& metrics, const std::string& name) {
  if (metrics.find("# TYPE " + name + " ") != std::string::npos) return true;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s = suffix;
    if (name.size() > s.size() &&
        name.compare(name.size() - s.size(), s.size(), s) == 0) {
      std::string base = name.substr(0, name.size() - s.size());
      if (metrics.find("# TYPE " + base + " histogram") != std::string::npos)
        return true;
    }
  }
  return false;
}

TEST(OperationsTest, AlertRulesNameOnlyMetricsJitdExports) {
  TempDir tmp;
  std::filesystem::create_directories(tmp.path() + "/target/held");
  JitdProcess jitd(tmp.path(), TestConfig(tmp.path() + "/target"));
  ASSERT_TRUE(jitd.Start().ok()) << jitd.log();
  Reply metrics = jitd.Get("/metrics", "");
  ASSERT_EQ(metrics.status, 200);

  const std::string rules = kOps + "/jitd-alerts.yml";
  StatusOr<std::set<std::string>> names = MetricsInRules(rules);
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  EXPECT_GE(names->size(), 6u) << "the rules should cover jitd's metrics";
  for (const std::string& name : *names) {
    EXPECT_TRUE(Exported(metrics.raw, name))
        << rules << " names " << name << ", which jitd does not export";
  }
  EXPECT_FALSE(Exported(metrics.raw, "jitd_no_such_metric"));

  if (access("/usr/bin/promtool", X_OK) == 0) {
    ProgramResult check =
        RunProgram({"/usr/bin/promtool", "check", "rules", rules}, {});
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  } else {
    std::cout << "promtool not installed (Debian package prometheus): "
                 "rules checked by this test only\n";
  }
}

}  // namespace
}  // namespace jit::testing
