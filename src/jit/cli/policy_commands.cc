// jit policy lint, test, explain: offline, against a local config file.

#include <fmt/format.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "jit/base/duration.h"
#include "jit/cli/cli_context.h"
#include "jit/cli/terminal_text.h"
#include "jit/policy/policy.h"
#include "jit/policy/policy_tools.h"

namespace jit {
namespace {

struct TestArgs {
  std::string policy_path;
  std::string cases_path;
};

struct ExplainArgs {
  std::string policy_path;
  std::string subject;
  std::string groups;  // comma-separated
  std::string entitlement;
  std::string duration;
  std::string reason;
  std::string ticket;
  bool emergency = false;
  bool machine = false;
  bool mfa = false;
  std::string at;
};

struct PolicyGroup : CommandGroup {
  std::string lint_path;
  TestArgs test;
  ExplainArgs explain;
};

// Policy files may come from someone else: their text is sanitized too, line
// by line so the line breaks stay.
void PrintLines(std::ostream& out, const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    out << SanitizeForTerminal(line) << '\n';
  }
}

// Local errors already say file and line; a server-style code adds nothing.
int FailLocal(const CliContext& ctx, const Status& status) {
  return ctx.Fail(
      Status(status.code(), status.message(), "", status.details()));
}

std::vector<std::string> SplitCommaList(const std::string& text) {
  std::vector<std::string> items;
  std::istringstream parts(text);
  for (std::string item; std::getline(parts, item, ',');) {
    if (!item.empty()) items.push_back(item);
  }
  return items;
}

int RunLint(const CliContext& ctx, const std::string& path) {
  StatusOr<std::string> summary = LintPolicyFile(path);
  if (!summary.ok()) return FailLocal(ctx, summary.status());
  PrintLines(ctx.out(), *summary);
  return kExitOk;
}

int RunTest(const CliContext& ctx, const TestArgs& args) {
  StatusOr<std::shared_ptr<const PolicySet>> policies =
      PolicySet::LoadFile(args.policy_path);
  if (!policies.ok()) return FailLocal(ctx, policies.status());
  StatusOr<PolicyTestResult> result =
      RunPolicyTests(**policies, args.cases_path);
  if (!result.ok()) return FailLocal(ctx, result.status());
  for (const std::string& failure : result->failures) {
    ctx.out() << "FAIL " << SanitizeForTerminal(failure) << '\n';
  }
  ctx.out() << fmt::format("{} passed, {} failed\n", result->passed,
                           result->failed);
  return result->failed == 0 ? kExitOk : kExitFailure;
}

StatusOr<AccessAsk> BuildAsk(const ExplainArgs& args) {
  AccessAsk ask;
  ask.subject = Subject{.name = args.subject,
                        .person = args.subject,
                        .groups = SplitCommaList(args.groups),
                        .machine = args.machine};
  ask.entitlement = args.entitlement;
  StatusOr<Duration> duration = ParseDuration(args.duration);
  if (!duration.ok()) return duration.status().WithContext("--for");
  ask.duration = *duration;
  ask.justification = args.reason;
  ask.ticket = args.ticket;
  ask.emergency = args.emergency ? Emergency::kYes : Emergency::kNo;
  // Machine tokens never show a second factor, as on the server.
  ask.second_factor =
      args.mfa && !args.machine ? SecondFactor::kShown : SecondFactor::kNone;
  return ask;
}

int RunExplain(const CliContext& ctx, const ExplainArgs& args) {
  StatusOr<AccessAsk> ask = BuildAsk(args);
  if (!ask.ok()) return ctx.UsageError(ask.status());
  SystemTime now = ctx.env().clock.Now();
  if (!args.at.empty()) {
    StatusOr<SystemTime> at = ParseTime(args.at);
    if (!at.ok()) return ctx.UsageError(at.status().WithContext("--at"));
    now = *at;
  }
  StatusOr<std::shared_ptr<const PolicySet>> policies =
      PolicySet::LoadFile(args.policy_path);
  if (!policies.ok()) return FailLocal(ctx, policies.status());
  const Decision decision = (*policies)->Evaluate(*ask, now);
  PrintLines(ctx.out(), ExplainDecision(decision));
  return decision.allow ? kExitOk : kExitFailure;
}

void AddExplain(CLI::App& policy, CliContext& ctx, ExplainArgs& args) {
  CLI::App* cmd = policy.add_subcommand(
      "explain", "evaluate one ask offline; exit 0 allowed, 1 not");
  cmd->add_option("FILE", args.policy_path, "jitd config file")->required();
  cmd->add_option("ENTITLEMENT", args.entitlement, "what is asked")->required();
  cmd->add_option("--subject", args.subject, "who asks")->required();
  cmd->add_option("--groups", args.groups, "their groups, e.g. dev,ops");
  cmd->add_option("--for", args.duration, "how long, e.g. 30m")->required();
  cmd->add_option("--reason", args.reason, "justification");
  cmd->add_option("--ticket", args.ticket, "ticket");
  cmd->add_flag("--emergency", args.emergency, "break-glass ask");
  cmd->add_flag("--machine", args.machine,
                "the subject is a machine token (subjects.tokens)");
  cmd->add_flag("--mfa", args.mfa,
                "the ask shows a recent second factor (MFA sign-in or TOTP)");
  cmd->add_option("--at", args.at, "evaluate at this RFC 3339 time (now)");
  ctx.OnRun(cmd, [&ctx, &args] { return RunExplain(ctx, args); });
}

}  // namespace

void AddPolicyCommands(CLI::App& app, CliContext& ctx) {
  PolicyGroup& group = ctx.Keep(std::make_unique<PolicyGroup>());
  CLI::App* policy =
      app.add_subcommand("policy", "check policies offline, without a server");
  policy->require_subcommand(1);

  CLI::App* lint = policy->add_subcommand("lint", "load and summarise FILE");
  lint->add_option("FILE", group.lint_path, "jitd config file")->required();
  ctx.OnRun(lint,
            [&ctx, &path = group.lint_path] { return RunLint(ctx, path); });

  CLI::App* test =
      policy->add_subcommand("test", "run test cases against FILE");
  test->add_option("FILE", group.test.policy_path, "jitd config file")
      ->required();
  test->add_option("CASES", group.test.cases_path, "cases YAML")->required();
  ctx.OnRun(test, [&ctx, &args = group.test] { return RunTest(ctx, args); });

  AddExplain(*policy, ctx, group.explain);
}

}  // namespace jit
