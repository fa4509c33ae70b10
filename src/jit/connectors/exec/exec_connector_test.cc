#include "jit/connectors/exec/exec_connector.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "jit/base/clock.h"
#include "jit/base/command_runner.h"
#include "jit/connectors/connector_contract_test.h"

#ifndef JIT_TESTDATA_DIR
#error "JIT_TESTDATA_DIR must name src/jit/connectors/exec/testdata"
#endif

namespace jit {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

const std::string kTestdata = JIT_TESTDATA_DIR;

Deadline Soon() { return std::chrono::steady_clock::now() + 20s; }

GrantSpec Spec() {
  GrantSpec g;
  g.grant_id = "grt_0123456789abcdef0123456789abcdef";
  g.request_id = "req_0123456789abcdef0123456789abcdef";
  g.subject = "alice";
  g.target_user = "alice_adm";
  g.entitlement = "prod-db-read";
  g.params_json = {{"role", R"("app_read")"},
                   {"commands", R"(["/usr/bin/systemctl"])"},
                   {"max-conn", "5"}};
  g.starts_at = SystemTime(std::chrono::seconds(1'798'138'800));  // 19:00Z
  g.expires_at = g.starts_at + 30min;
  return g;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---------------------------------------------------------------------------
// The contract, against a target made of marker files
// (testdata/marker_target.sh).

nlohmann::json MarkerArgv(const char* action) {
  return {"/bin/sh", kTestdata + "/marker_target.sh", action, "{grant_id}"};
}

class ExecHarness : public ConnectorHarness {
 public:
  ExecHarness() {
    nlohmann::json cfg = {
        {"name", "markers"},
        {"type", "exec"},
        {"grant", MarkerArgv("grant")},
        {"revoke", MarkerArgv("revoke")},
        {"check", MarkerArgv("check")},
        {"sessions", MarkerArgv("sessions")},
        {"kill_sessions", MarkerArgv("kill_sessions")},
        {"timeout", "10s"},
        {"env", {{"TARGET_DIR", dir_.path().string()}}},
    };
    StatusOr<std::unique_ptr<Connector>> c =
        MakeExecConnector({"markers", "exec", cfg.dump(), "test"}, env_);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    if (c.ok()) connector_ = *std::move(c);
  }
  Connector& connector() override { return *connector_; }
  bool TargetHolds(const GrantSpec& g) override {
    return std::filesystem::exists(dir_.path() / ("grant-" + g.grant_id));
  }
  void OpenSession(const GrantSpec& g, const std::string& id) override {
    std::ofstream(dir_.path() / ("session-" + g.grant_id + "-" + id))
        << "open\n";
  }
  bool MakeSessionsSurviveKill() override {
    std::ofstream(dir_.path() / "survive") << "\n";
    return true;
  }

 private:
  TestTempDir dir_;
  SystemClock clock_;
  PosixCommandRunner runner_;
  Environment env_{clock_, runner_, {}};
  std::unique_ptr<Connector> connector_;
};

INSTANTIATE_TEST_SUITE_P(Exec, ConnectorContractTest,
                         testing::Values(ConnectorContractParam{
                             "MarkerScripts",
                             [] { return std::make_unique<ExecHarness>(); }}),
                         ConnectorContractParamName);

// ---------------------------------------------------------------------------
// Exact argv, env and timeout, seen through a recording CommandRunner.

class RecordingRunner : public CommandRunner {
 public:
  struct Call {
    std::vector<std::string> argv;
    std::map<std::string, std::string> env;
    std::chrono::milliseconds timeout;
  };

  StatusOr<CommandResult> Run(const std::vector<std::string>& argv,
                              const std::map<std::string, std::string>& env,
                              std::chrono::milliseconds timeout) override {
    std::lock_guard lock(mu_);
    calls_.push_back(Call{argv, env, timeout});
    if (results_.empty()) return CommandResult{0, "", ""};
    StatusOr<CommandResult> next = results_.front();
    results_.pop_front();
    return next;
  }

  void Then(StatusOr<CommandResult> result) {
    std::lock_guard lock(mu_);
    results_.push_back(std::move(result));
  }
  std::vector<Call> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Call> calls_;                      // guarded by mu_
  std::deque<StatusOr<CommandResult>> results_;  // guarded by mu_
};

ExecConnectorConfig BasicConfig() {
  ExecConnectorConfig c;
  c.name = "tool";
  c.grant = {"/usr/local/bin/tool", "grant", "{grant_id}"};
  c.revoke = {"/usr/local/bin/tool", "revoke", "{grant_id}"};
  return c;
}

class ExecConnectorTest : public testing::Test {
 protected:
  RecordingRunner runner_;
};

TEST_F(ExecConnectorTest, ExpandsTemplatesOneArgumentAtATime) {
  ExecConnectorConfig config = BasicConfig();
  config.grant = {"/usr/local/bin/grant-role",
                  "--user={user}",
                  "{subject}",
                  "{{literal}}",
                  "{expires_at}",
                  "until {expires_unix}"};
  ExecConnector exec(config, runner_);
  GrantSpec g = Spec();
  g.subject = "alice; rm -rf / $(id) `id` a b";
  ASSERT_TRUE(exec.Grant(g, Soon()).ok());
  ASSERT_EQ(runner_.calls().size(), 1u);
  EXPECT_THAT(runner_.calls()[0].argv,
              ElementsAre("/usr/local/bin/grant-role", "--user=alice_adm",
                          "alice; rm -rf / $(id) `id` a b", "{literal}",
                          "2026-12-24T19:30:00.000Z", "until 1798140600"));
}

TEST_F(ExecConnectorTest, PassesExactlyTheGrantFactsAsEnvironment) {
  ExecConnectorConfig config = BasicConfig();
  config.env = {{"PGHOST", "db.internal"}};
  ExecConnector exec(config, runner_);
  ASSERT_TRUE(exec.Revoke(Spec(), Soon()).ok());
  ASSERT_EQ(runner_.calls().size(), 1u);
  EXPECT_THAT(
      runner_.calls()[0].env,
      UnorderedElementsAre(
          Pair("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
          Pair("PGHOST", "db.internal"),
          Pair("JIT_GRANT_ID", "grt_0123456789abcdef0123456789abcdef"),
          Pair("JIT_REQUEST_ID", "req_0123456789abcdef0123456789abcdef"),
          Pair("JIT_SUBJECT", "alice"), Pair("JIT_USER", "alice_adm"),
          Pair("JIT_ENTITLEMENT", "prod-db-read"),
          Pair("JIT_EXPIRES_AT", "2026-12-24T19:30:00.000Z"),
          Pair("JIT_EXPIRES_UNIX", "1798140600"),
          Pair("JIT_STARTS_AT", "2026-12-24T19:00:00.000Z"),
          Pair("JIT_PARAM_ROLE", "app_read"),
          Pair("JIT_PARAM_COMMANDS", R"(["/usr/bin/systemctl"])"),
          Pair("JIT_PARAM_MAX_CONN", "5")));
}

TEST_F(ExecConnectorTest, ConfigEnvMayReplacePath) {
  ExecConnectorConfig config = BasicConfig();
  config.env = {{"PATH", "/opt/tool/bin"}};
  ExecConnector exec(config, runner_);
  ASSERT_TRUE(exec.Grant(Spec(), Soon()).ok());
  EXPECT_EQ(runner_.calls()[0].env.at("PATH"), "/opt/tool/bin");
}

TEST_F(ExecConnectorTest, UsesConfigTimeoutWhenDeadlineIsFar) {
  ExecConnectorConfig config = BasicConfig();
  config.timeout = 2s;
  ExecConnector exec(config, runner_);
  ASSERT_TRUE(exec.Grant(Spec(), std::chrono::steady_clock::now() + 1h).ok());
  EXPECT_EQ(runner_.calls()[0].timeout, 2s);
}

TEST_F(ExecConnectorTest, ShrinksTimeoutToTheDeadline) {
  ExecConnector exec(BasicConfig(), runner_);  // 30 s by default
  ASSERT_TRUE(exec.Grant(Spec(), std::chrono::steady_clock::now() + 5s).ok());
  std::chrono::milliseconds t = runner_.calls()[0].timeout;
  EXPECT_LE(t, 5s);
  EXPECT_GT(t, 1s);
}

TEST_F(ExecConnectorTest, PassedDeadlineRunsNothing) {
  ExecConnector exec(BasicConfig(), runner_);
  Status s = exec.Grant(Spec(), std::chrono::steady_clock::now() - 1ms);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(runner_.calls(), IsEmpty());
}

TEST_F(ExecConnectorTest, NonZeroExitIsUnavailableWithTrimmedStderr) {
  runner_.Then(
      CommandResult{3, "ignored stdout", "\n  role does not exist \n"});
  ExecConnector exec(BasicConfig(), runner_);
  Status s = exec.Grant(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(
      s.message(),
      "connector \"tool\": grant command exited with 3: role does not exist");
}

TEST_F(ExecConnectorTest, StderrInMessageIsCappedAt512Bytes) {
  runner_.Then(CommandResult{1, "", std::string(5000, 'Q')});
  ExecConnector exec(BasicConfig(), runner_);
  Status s = exec.Revoke(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(std::count(s.message().begin(), s.message().end(), 'Q'), 512);
}

TEST_F(ExecConnectorTest, StderrCapDoesNotSplitAUtf8Character) {
  // 511 ASCII bytes, then a 2-byte character straddling the cap.
  runner_.Then(
      CommandResult{1, "", std::string(511, 'a') + "\xC3\xA9" + "tail"});
  ExecConnector exec(BasicConfig(), runner_);
  Status s = exec.Grant(Spec(), Soon());
  EXPECT_THAT(s.message(), HasSubstr(std::string(511, 'a') + "..."));
  EXPECT_EQ(s.message().find('\xC3'), std::string::npos);
}

TEST_F(ExecConnectorTest, RunnerErrorsKeepTheirCodeAndGainContext) {
  runner_.Then(DeadlineExceededError("command timed out"));
  runner_.Then(UnavailableError("cannot start"));
  ExecConnector exec(BasicConfig(), runner_);
  Status timed_out = exec.Grant(Spec(), Soon());
  EXPECT_EQ(timed_out.code(), StatusCode::kDeadlineExceeded);
  EXPECT_THAT(timed_out.message(), HasSubstr("connector \"tool\": grant grt_"));
  EXPECT_EQ(exec.Revoke(Spec(), Soon()).code(), StatusCode::kUnavailable);
}

TEST_F(ExecConnectorTest, CheckMapsExitCodes) {
  ExecConnectorConfig config = BasicConfig();
  config.check =
      std::vector<std::string>{"/usr/local/bin/tool", "check", "{grant_id}"};
  ExecConnector exec(config, runner_);
  runner_.Then(CommandResult{0, "", ""});
  runner_.Then(CommandResult{1, "", ""});
  runner_.Then(CommandResult{2, "", "lookup failed"});
  EXPECT_EQ(exec.IsActive(Spec(), Soon()).value(), true);
  EXPECT_EQ(exec.IsActive(Spec(), Soon()).value(), false);
  StatusOr<bool> broken = exec.IsActive(Spec(), Soon());
  EXPECT_EQ(broken.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(broken.status().message(), HasSubstr("lookup failed"));
}

TEST_F(ExecConnectorTest, IsActiveWithoutCheckCommandIsFailedPrecondition) {
  ExecConnector exec(BasicConfig(), runner_);
  EXPECT_EQ(exec.IsActive(Spec(), Soon()).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_THAT(runner_.calls(), IsEmpty());
}

TEST_F(ExecConnectorTest, ListSessionsReadsOnePerLine) {
  ExecConnectorConfig config = BasicConfig();
  config.sessions = std::vector<std::string>{"/usr/local/bin/tool", "sessions"};
  ExecConnector exec(config, runner_);
  runner_.Then(CommandResult{0, "101\n\n202\tpsql from 10.0.0.7\r\n   \n", ""});
  StatusOr<std::vector<Session>> sessions = exec.ListSessions(Spec(), Soon());
  ASSERT_TRUE(sessions.ok()) << sessions.status().ToString();
  ASSERT_EQ(sessions->size(), 2u);
  EXPECT_EQ((*sessions)[0].id, "101");
  EXPECT_EQ((*sessions)[0].description, "101");
  EXPECT_EQ((*sessions)[1].id, "202");
  EXPECT_EQ((*sessions)[1].description, "psql from 10.0.0.7");
}

TEST_F(ExecConnectorTest, KillSessionsKillsThenReportsWhatIsStillListed) {
  ExecConnectorConfig config = BasicConfig();
  config.sessions = std::vector<std::string>{"/usr/local/bin/tool", "sessions"};
  config.kill_sessions =
      std::vector<std::string>{"/usr/local/bin/tool", "kill"};
  ExecConnector exec(config, runner_);
  runner_.Then(CommandResult{0, "", ""});       // kill
  runner_.Then(CommandResult{0, "303\n", ""});  // still listed
  StatusOr<std::vector<Session>> survivors = exec.KillSessions(Spec(), Soon());
  ASSERT_TRUE(survivors.ok()) << survivors.status().ToString();
  EXPECT_THAT(*survivors, ElementsAre(Field(&Session::id, "303")));
  ASSERT_EQ(runner_.calls().size(), 2u);
  EXPECT_EQ(runner_.calls()[0].argv[1], "kill");
  EXPECT_EQ(runner_.calls()[1].argv[1], "sessions");
}

TEST_F(ExecConnectorTest, KillSessionsFailureIsAnError) {
  ExecConnectorConfig config = BasicConfig();
  config.kill_sessions =
      std::vector<std::string>{"/usr/local/bin/tool", "kill"};
  ExecConnector exec(config, runner_);
  runner_.Then(CommandResult{5, "", "permission denied"});
  EXPECT_EQ(exec.KillSessions(Spec(), Soon()).status().code(),
            StatusCode::kUnavailable);
}

TEST_F(ExecConnectorTest, WithoutKillCommandEveryListedSessionSurvives) {
  ExecConnectorConfig config = BasicConfig();
  config.sessions = std::vector<std::string>{"/usr/local/bin/tool", "sessions"};
  ExecConnector exec(config, runner_);
  runner_.Then(CommandResult{0, "1\n2\n", ""});
  StatusOr<std::vector<Session>> survivors = exec.KillSessions(Spec(), Soon());
  ASSERT_TRUE(survivors.ok());
  EXPECT_EQ(survivors->size(), 2u);
}

TEST_F(ExecConnectorTest, WithoutSessionCommandsThereIsNothingToKill) {
  ExecConnector exec(BasicConfig(), runner_);
  StatusOr<std::vector<Session>> survivors = exec.KillSessions(Spec(), Soon());
  ASSERT_TRUE(survivors.ok());
  EXPECT_THAT(*survivors, IsEmpty());
  EXPECT_THAT(runner_.calls(), IsEmpty());
}

TEST_F(ExecConnectorTest, UnusableParamIsInvalidArgumentAndRunsNothing) {
  ExecConnector exec(BasicConfig(), runner_);
  GrantSpec g = Spec();
  g.params_json["role"] = "{not json";
  EXPECT_EQ(exec.Grant(g, Soon()).code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(runner_.calls(), IsEmpty());
}

TEST_F(ExecConnectorTest, FactoryRunsThroughTheEnvironmentsRunner) {
  SystemClock clock;
  Environment env{clock, runner_, {}};
  auto c = MakeExecConnector(
      {"tool", "exec",
       R"({"name":"tool","type":"exec","grant":["/usr/local/bin/tool","g"],)"
       R"("revoke":["/usr/local/bin/tool","r"]})",
       "jitd.yaml:2"},
      env);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_TRUE((*c)->Grant(Spec(), Soon()).ok());
  ASSERT_EQ(runner_.calls().size(), 1u);
  EXPECT_THAT(runner_.calls()[0].argv, ElementsAre("/usr/local/bin/tool", "g"));
}

// ---------------------------------------------------------------------------
// Real programs through PosixCommandRunner.

class ExecWithRealProgramsTest : public testing::Test {
 protected:
  std::unique_ptr<ExecConnector> Make(std::vector<std::string> grant,
                                      std::chrono::milliseconds timeout = 10s) {
    ExecConnectorConfig config = BasicConfig();
    config.grant = std::move(grant);
    config.timeout = timeout;
    config.env = {{"TARGET_DIR", dir_.path().string()}};
    return std::make_unique<ExecConnector>(config, runner_);
  }
  TestTempDir dir_;
  PosixCommandRunner runner_;
};

TEST_F(ExecWithRealProgramsTest, HostileValueArrivesAsOneLiteralArgument) {
  auto exec = Make({"/bin/sh", kTestdata + "/record_args.sh", "{subject}"});
  GrantSpec g = Spec();
  const std::string pwned = (dir_.path() / "pwned").string();
  g.subject = "alice; touch " + pwned + "; $(touch " + pwned + ") `touch " +
              pwned + "` ; rm -rf /";
  Status s = exec->Grant(g, Soon());
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(ReadFile(dir_.path() / "args"), "1\n" + g.subject + "\n");
  EXPECT_FALSE(std::filesystem::exists(pwned));
}

TEST_F(ExecWithRealProgramsTest, ProgramSeesGrantFactsAndNothingOfOurs) {
  auto exec = Make({"/bin/sh", kTestdata + "/record_args.sh"});
  ASSERT_TRUE(exec->Grant(Spec(), Soon()).ok());
  std::set<std::string> names;
  std::istringstream lines(ReadFile(dir_.path() / "env"));
  std::string line;
  while (std::getline(lines, line)) {
    EXPECT_NE(line, "") << "empty env line";
    names.insert(line.substr(0, line.find('=')));
    if (line.rfind("PATH=", 0) == 0) {
      EXPECT_EQ(line, "PATH=/usr/sbin:/usr/bin:/sbin:/bin");
    }
    if (line.rfind("JIT_PARAM_ROLE=", 0) == 0) {
      EXPECT_EQ(line, "JIT_PARAM_ROLE=app_read");
    }
  }
  names.erase("PWD");  // the shell adds its working directory
  EXPECT_THAT(
      names, UnorderedElementsAre(
                 "PATH", "TARGET_DIR", "JIT_GRANT_ID", "JIT_REQUEST_ID",
                 "JIT_SUBJECT", "JIT_USER", "JIT_ENTITLEMENT", "JIT_EXPIRES_AT",
                 "JIT_EXPIRES_UNIX", "JIT_STARTS_AT", "JIT_PARAM_ROLE",
                 "JIT_PARAM_COMMANDS", "JIT_PARAM_MAX_CONN"));
}

TEST_F(ExecWithRealProgramsTest, TimeoutKillsSlowProgram) {
  auto exec = Make({"/bin/sleep", "10"}, 200ms);
  const auto start = std::chrono::steady_clock::now();
  Status s = exec->Grant(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(ExecWithRealProgramsTest, DeadlineCutsLongConfigTimeout) {
  auto exec = Make({"/bin/sleep", "10"}, 30s);
  const auto start = std::chrono::steady_clock::now();
  Status s = exec->Grant(Spec(), start + 200ms);
  EXPECT_EQ(s.code(), StatusCode::kDeadlineExceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST_F(ExecWithRealProgramsTest, FailingProgramIsUnavailableWithItsStderr) {
  auto exec = Make({"/bin/sh", kTestdata + "/fail.sh", "3"});
  Status s = exec->Grant(Spec(), Soon());
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_EQ(
      s.message(),
      "connector \"tool\": grant command exited with 3: target refused: role "
      "\"app_read\" does not exist");
}

TEST_F(ExecWithRealProgramsTest, MissingProgramIsUnavailable) {
  auto exec = Make({"/nonexistent/grant-tool"});
  EXPECT_EQ(exec->Grant(Spec(), Soon()).code(), StatusCode::kUnavailable);
}

// ---------------------------------------------------------------------------
// Configuration.

StatusOr<ExecConnectorConfig> Parse(const nlohmann::json& cfg) {
  return ParseExecConnectorConfig({"tool", "exec", cfg.dump(), "jitd.yaml:12"});
}

nlohmann::json ValidConfig() {
  return {{"name", "tool"},
          {"type", "exec"},
          {"grant", {"/usr/local/bin/tool", "grant", "{grant_id}"}},
          {"revoke", {"/usr/local/bin/tool", "revoke", "{grant_id}"}}};
}

TEST(ExecConnectorConfigTest, ReadsEveryKey) {
  nlohmann::json cfg = ValidConfig();
  cfg["check"] = {"/usr/local/bin/tool", "check"};
  cfg["sessions"] = {"/usr/local/bin/tool", "sessions"};
  cfg["kill_sessions"] = {"/usr/local/bin/tool", "kill"};
  cfg["timeout"] = "1m30s";
  cfg["env"] = {{"PGHOST", "db"}};
  StatusOr<ExecConnectorConfig> c = Parse(cfg);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->name, "tool");
  EXPECT_THAT(c->grant,
              ElementsAre("/usr/local/bin/tool", "grant", "{grant_id}"));
  EXPECT_THAT(c->revoke,
              ElementsAre("/usr/local/bin/tool", "revoke", "{grant_id}"));
  EXPECT_THAT(c->check.value(), ElementsAre("/usr/local/bin/tool", "check"));
  EXPECT_THAT(c->sessions.value(),
              ElementsAre("/usr/local/bin/tool", "sessions"));
  EXPECT_THAT(c->kill_sessions.value(),
              ElementsAre("/usr/local/bin/tool", "kill"));
  EXPECT_EQ(c->timeout, 90s);
  EXPECT_THAT(c->env, ElementsAre(Pair("PGHOST", "db")));
}

TEST(ExecConnectorConfigTest, OptionalKeysDefault) {
  StatusOr<ExecConnectorConfig> c = Parse(ValidConfig());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->timeout, 30s);
  EXPECT_FALSE(c->check.has_value());
  EXPECT_FALSE(c->sessions.has_value());
  EXPECT_FALSE(c->kill_sessions.has_value());
  EXPECT_THAT(c->env, IsEmpty());
}

TEST(ExecConnectorConfigTest, UnknownKeyIsRefusedWithOrigin) {
  nlohmann::json cfg = ValidConfig();
  cfg["shell"] = true;
  StatusOr<ExecConnectorConfig> c = Parse(cfg);
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(),
              HasSubstr("jitd.yaml:12: unknown key \"shell\""));
}

struct BadConfig {
  std::string what;
  std::function<void(nlohmann::json&)> edit;
  std::string message;  // expected part of the error
};

TEST(ExecConnectorConfigTest, RefusesBadConfigs) {
  const std::vector<BadConfig> cases = {
      {"no grant", [](auto& c) { c.erase("grant"); },
       "\"grant\" command is required"},
      {"no revoke", [](auto& c) { c.erase("revoke"); },
       "\"revoke\" command is required"},
      {"empty argv", [](auto& c) { c["grant"] = nlohmann::json::array(); },
       "must not be empty"},
      {"shell string", [](auto& c) { c["grant"] = "/usr/bin/tool grant"; },
       "must be a list of strings"},
      {"number in argv",
       [](auto& c) {
         c["grant"] = {"/usr/bin/tool", 3};
       },
       "must be a list of strings"},
      {"relative program",
       [](auto& c) {
         c["grant"] = {"tool", "grant"};
       },
       "must be an absolute path"},
      {"relative check", [](auto& c) { c["check"] = {"./check.sh"}; },
       "must be an absolute path"},
      {"templated program",
       [](auto& c) { c["revoke"] = {"/usr/bin/{subject}"}; },
       "without placeholders"},
      {"unknown placeholder",
       [](auto& c) {
         c["grant"] = {"/usr/bin/t", "{sbject}"};
       },
       "unknown placeholder {sbject}"},
      {"bad timeout", [](auto& c) { c["timeout"] = "30"; },
       "\"timeout\": invalid duration"},
      {"numeric timeout", [](auto& c) { c["timeout"] = 30; },
       "must be a string"},
      {"JIT_ env",
       [](auto& c) {
         c["env"] = {{"JIT_SUBJECT", "root"}};
       },
       "not starting with JIT_"},
      {"bad env name",
       [](auto& c) {
         c["env"] = {{"A-B", "x"}};
       },
       "variable name"},
      {"non-string env",
       [](auto& c) {
         c["env"] = {{"A", 1}};
       },
       "mapping of strings"},
      {"env list", [](auto& c) { c["env"] = {"A=1"}; }, "mapping of strings"},
  };
  for (const BadConfig& bad : cases) {
    nlohmann::json cfg = ValidConfig();
    bad.edit(cfg);
    StatusOr<ExecConnectorConfig> c = Parse(cfg);
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << bad.what;
    EXPECT_THAT(c.status().message(), HasSubstr(bad.message)) << bad.what;
    EXPECT_THAT(c.status().message(), HasSubstr("jitd.yaml:12: ")) << bad.what;
  }
}

}  // namespace
}  // namespace jit
