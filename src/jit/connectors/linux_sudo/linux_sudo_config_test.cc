#include <nlohmann/json.hpp>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/connectors/linux_sudo/linux_sudo_connector.h"

namespace jit {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

StatusOr<LinuxSudoConfig> Parse(const nlohmann::json& cfg) {
  return ParseLinuxSudoConfig(
      {"sudo", "linux_sudo", cfg.dump(), "jitd.yaml:7"});
}

TEST(LinuxSudoConfigTest, Defaults) {
  StatusOr<LinuxSudoConfig> c =
      Parse({{"name", "sudo"}, {"type", "linux_sudo"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "sudo");
  EXPECT_EQ(c->sudoers_dir, "/etc/sudoers.d");
  EXPECT_EQ(c->visudo, "/usr/sbin/visudo");
  EXPECT_EQ(c->log_dir, "/var/log/jitd");
  EXPECT_FALSE(c->pam_service.has_value());
  EXPECT_EQ(c->timeout, std::chrono::seconds(5));
}

TEST(LinuxSudoConfigTest, ReadsEveryKeyAndIgnoresDiscovery) {
  StatusOr<LinuxSudoConfig> c = Parse({{"name", "sudo"},
                                       {"type", "linux_sudo"},
                                       {"sudoers_dir", "/etc/sudoers.d"},
                                       {"visudo", "/usr/local/sbin/visudo"},
                                       {"pam_service", "jitd-sudo"},
                                       {"log_dir", "/var/log/jit"},
                                       {"timeout", "2s"},
                                       {"discovery", {{"every", "5m"}}}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->visudo, "/usr/local/sbin/visudo");
  EXPECT_EQ(c->pam_service, "jitd-sudo");
  EXPECT_EQ(c->log_dir, "/var/log/jit");
  EXPECT_EQ(c->timeout, std::chrono::seconds(2));
}

TEST(LinuxSudoConfigTest, RefusesBadValuesWithOrigin) {
  const nlohmann::json base = {{"name", "sudo"}, {"type", "linux_sudo"}};
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, nlohmann::json>>{
           {"sudoers", "/etc/sudoers.d"},         // unknown key
           {"sudoers_dir", "etc/sudoers.d"},      // relative
           {"log_dir", "/var/log/a b"},           // space: sudoers syntax
           {"log_dir", "/var/log/x, env_reset"},  // injection
           {"pam_service", "sudo\nDefaults !x"},  // injection
           {"pam_service", 3},                    // type
           {"visudo", "visudo"},                  // relative
           {"timeout", "soon"},                   // not a duration
       }) {
    nlohmann::json cfg = base;
    cfg[key] = value;
    StatusOr<LinuxSudoConfig> c = Parse(cfg);
    ASSERT_FALSE(c.ok()) << key << " accepted";
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(c.status().message(), StartsWith("jitd.yaml:7: ")) << key;
  }
}

}  // namespace
}  // namespace jit
