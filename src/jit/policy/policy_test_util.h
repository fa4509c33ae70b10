#pragma once

// Helpers shared by the policy tests only.

#include <date/date.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "jit/policy/policy.h"

namespace jit::policy_test {

// A UTC instant from its calendar parts.
inline SystemTime Utc(int year, unsigned month, unsigned day, int hour = 0,
                      int minute = 0) {
  return date::sys_days{date::year{year} / date::month{month} /
                        date::day{day}} +
         std::chrono::hours(hour) + std::chrono::minutes(minute);
}

// Monday 2026-11-23 12:00 UTC: a weekday noon, inside office hours.
inline SystemTime Noon() { return Utc(2026, 11, 23, 12); }

// Drops the newline that follows R"( so that line 1 is the first YAML line.
inline std::string Yaml(std::string_view text) {
  if (!text.empty() && text.front() == '\n') text.remove_prefix(1);
  return std::string(text);
}

// A file holding `content`, unique to the running test and process,
// removed again when the object goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    const testing::TestInfo* info =
        testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" +
                       info->name() + "_" + std::to_string(getpid()) + ".yaml";
    for (char& c : name) {
      if (c == '/') c = '_';
    }
    path_ = (std::filesystem::path(testing::TempDir()) / name).string();
    std::ofstream out(path_, std::ios::binary);
    out << content;
  }
  ~TempFile() {
    std::error_code ignored;  // a leftover temp file is harmless
    std::filesystem::remove(path_, ignored);
  }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Loads `yaml` from a string, as the config file "cfg.yaml".
inline StatusOr<std::shared_ptr<const PolicySet>> LoadString(
    const std::string& yaml) {
  return PolicySet::Load(YAML::Load(yaml), "cfg.yaml");
}

// Loads `yaml` and fails the test when it does not load.
inline std::shared_ptr<const PolicySet> MustLoad(const std::string& yaml) {
  StatusOr<std::shared_ptr<const PolicySet>> set = LoadString(yaml);
  EXPECT_TRUE(set.ok()) << set.status().ToString();
  if (!set.ok()) return nullptr;
  return *set;
}

}  // namespace jit::policy_test
