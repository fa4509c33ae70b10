#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "gtest/gtest.h"
#include "jit/connectors/connector.h"

namespace jit {

// One connector under test plus a side door into its target system, so the
// contract checks the target itself, not only what the connector says.
class ConnectorHarness {
 public:
  virtual ~ConnectorHarness() = default;
  virtual Connector& connector() = 0;
  // Whether the target shows the privilege of `g` as held, looked at directly.
  virtual bool TargetHolds(const GrantSpec& g) = 0;
  // Opens a session under `g` in the target, as its holder would.
  virtual void OpenSession(const GrantSpec& g,
                           const std::string& session_id) = 0;
  // Makes the target refuse to end sessions. False if the target cannot
  // simulate that (the survivor test is then skipped).
  virtual bool MakeSessionsSurviveKill() = 0;
};

struct ConnectorContractParam {
  std::string name;  // test-name suffix: letters, digits, underscores
  std::function<std::unique_ptr<ConnectorHarness>()> make;
};

inline void PrintTo(const ConnectorContractParam& p, std::ostream* os) {
  *os << p.name;
}

// The contract suite. A backend stamps it on with
//   INSTANTIATE_TEST_SUITE_P(Fake, ConnectorContractTest,
//                            testing::Values(ConnectorContractParam{...}),
//                            ConnectorContractParamName);
// and links the jit_connector_contract_test object library.
class ConnectorContractTest
    : public testing::TestWithParam<ConnectorContractParam> {
 protected:
  void SetUp() override;
  Connector& connector() { return harness_->connector(); }
  ConnectorHarness& harness() { return *harness_; }

 private:
  std::unique_ptr<ConnectorHarness> harness_;
};

std::string ConnectorContractParamName(
    const testing::TestParamInfo<ConnectorContractParam>& info);

// A fresh directory under the system temp dir, removed with its contents on
// destruction. For connector tests that need a scratch target.
class TestTempDir {
 public:
  TestTempDir();
  ~TestTempDir();
  TestTempDir(const TestTempDir&) = delete;
  TestTempDir& operator=(const TestTempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace jit
