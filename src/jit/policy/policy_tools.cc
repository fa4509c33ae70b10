#include "jit/policy/policy_tools.h"

#include <date/date.h>
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <optional>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/policy/yaml_reader.h"

namespace jit {
namespace {

using policy_internal::YamlMap;
using policy_internal::YamlReader;

// --- test cases --------------------------------------------------------------

struct Expectation {
  bool allow = false;
  std::optional<bool> auto_approve;
  std::optional<int> approvals;
  std::optional<std::string> policy;
  std::optional<std::string> reason_contains;
};

struct TestCase {
  std::string name;
  int line = 0;
  AccessAsk ask;
  SystemTime at;
  Expectation expect;
};

StatusOr<Subject> ReadSubject(const YamlReader& r, const YAML::Node& node,
                              const std::string& what) {
  JIT_ASSIGN_OR_RETURN(
      YamlMap map, YamlMap::Strict(r, node, what + " subject",
                                   {"name", "person", "groups", "machine"}));
  Subject s;
  JIT_ASSIGN_OR_RETURN(YAML::Node name, map.Require("name"));
  JIT_ASSIGN_OR_RETURN(s.name, r.NonEmptyString(name, what + " subject.name"));
  s.person = s.name;
  if (std::optional<YAML::Node> person = map.Find("person")) {
    JIT_ASSIGN_OR_RETURN(s.person,
                         r.NonEmptyString(*person, what + " subject.person"));
  }
  if (std::optional<YAML::Node> groups = map.Find("groups")) {
    JIT_ASSIGN_OR_RETURN(s.groups,
                         r.StringList(*groups, what + " subject.groups"));
  }
  if (std::optional<YAML::Node> machine = map.Find("machine")) {
    JIT_ASSIGN_OR_RETURN(s.machine,
                         r.Bool(*machine, what + " subject.machine"));
  }
  return s;
}

Status ReadAllowDetails(const YamlReader& r, const YamlMap& map,
                        const std::string& what, Expectation& e) {
  if (std::optional<YAML::Node> a = map.Find("auto")) {
    JIT_ASSIGN_OR_RETURN(e.auto_approve, r.Bool(*a, what + " expect.auto"));
  }
  if (std::optional<YAML::Node> n = map.Find("approvals")) {
    JIT_ASSIGN_OR_RETURN(e.approvals,
                         r.Int(*n, what + " expect.approvals", 0, 100));
  }
  if (std::optional<YAML::Node> p = map.Find("policy")) {
    JIT_ASSIGN_OR_RETURN(e.policy,
                         r.NonEmptyString(*p, what + " expect.policy"));
  }
  return OkStatus();
}

StatusOr<Expectation> ReadExpectation(const YamlReader& r,
                                      const YAML::Node& node,
                                      const std::string& what) {
  JIT_ASSIGN_OR_RETURN(YamlMap map,
                       YamlMap::Strict(r, node, what + " expect",
                                       {"allow", "auto", "approvals", "policy",
                                        "reason_contains"}));
  Expectation e;
  JIT_ASSIGN_OR_RETURN(YAML::Node allow, map.Require("allow"));
  JIT_ASSIGN_OR_RETURN(e.allow, r.Bool(allow, what + " expect.allow"));
  if (e.allow) {
    if (std::optional<YAML::Node> rc = map.Find("reason_contains")) {
      return r.Error(*rc, what + " expect.reason_contains needs allow: false");
    }
    JIT_RETURN_IF_ERROR(ReadAllowDetails(r, map, what, e));
    return e;
  }
  for (std::string_view key : {"auto", "approvals", "policy"}) {
    if (std::optional<YAML::Node> n = map.Find(key)) {
      return r.Error(*n,
                     fmt::format("{} expect.{} needs allow: true", what, key));
    }
  }
  if (std::optional<YAML::Node> rc = map.Find("reason_contains")) {
    JIT_ASSIGN_OR_RETURN(
        e.reason_contains,
        r.NonEmptyString(*rc, what + " expect.reason_contains"));
  }
  return e;
}

StatusOr<SystemTime> ReadTime(const YamlReader& r, const YAML::Node& node,
                              const std::string& field) {
  JIT_ASSIGN_OR_RETURN(std::string text, r.String(node, field));
  StatusOr<SystemTime> t = ParseTime(text);
  if (!t.ok()) return r.Error(node, field + ": " + t.status().message());
  return t;
}

Status ReadAskDetails(const YamlReader& r, const YamlMap& map,
                      const std::string& what, AccessAsk& ask) {
  if (std::optional<YAML::Node> j = map.Find("justification")) {
    JIT_ASSIGN_OR_RETURN(ask.justification,
                         r.String(*j, what + " justification"));
  }
  if (std::optional<YAML::Node> t = map.Find("ticket")) {
    JIT_ASSIGN_OR_RETURN(ask.ticket, r.String(*t, what + " ticket"));
  }
  if (std::optional<YAML::Node> em = map.Find("emergency")) {
    JIT_ASSIGN_OR_RETURN(bool emergency, r.Bool(*em, what + " emergency"));
    ask.emergency = emergency ? Emergency::kYes : Emergency::kNo;
  }
  if (std::optional<YAML::Node> start = map.Find("start_at")) {
    JIT_ASSIGN_OR_RETURN(ask.start_at, ReadTime(r, *start, what + " start_at"));
  }
  if (std::optional<YAML::Node> mfa = map.Find("mfa")) {
    JIT_ASSIGN_OR_RETURN(bool shown, r.Bool(*mfa, what + " mfa"));
    ask.second_factor = shown ? SecondFactor::kShown : SecondFactor::kNone;
  }
  return OkStatus();
}

StatusOr<TestCase> ReadCase(const YamlReader& r, const YAML::Node& node,
                            size_t index) {
  std::string what = fmt::format("case #{}", index + 1);
  JIT_ASSIGN_OR_RETURN(
      YamlMap map,
      YamlMap::Strict(
          r, node, what,
          {"name", "subject", "entitlement", "duration", "justification",
           "ticket", "emergency", "start_at", "mfa", "at", "expect"}));
  TestCase c;
  c.line = map.line();
  JIT_ASSIGN_OR_RETURN(YAML::Node name, map.Require("name"));
  JIT_ASSIGN_OR_RETURN(c.name, r.NonEmptyString(name, what + " name"));
  JIT_ASSIGN_OR_RETURN(YAML::Node subject, map.Require("subject"));
  JIT_ASSIGN_OR_RETURN(c.ask.subject, ReadSubject(r, subject, what));
  JIT_ASSIGN_OR_RETURN(YAML::Node entitlement, map.Require("entitlement"));
  JIT_ASSIGN_OR_RETURN(c.ask.entitlement,
                       r.NonEmptyString(entitlement, what + " entitlement"));
  JIT_ASSIGN_OR_RETURN(YAML::Node duration, map.Require("duration"));
  JIT_ASSIGN_OR_RETURN(c.ask.duration,
                       r.DurationValue(duration, what + " duration"));
  JIT_RETURN_IF_ERROR(ReadAskDetails(r, map, what, c.ask));
  c.at = DefaultPolicyTestTime();
  if (std::optional<YAML::Node> at = map.Find("at")) {
    JIT_ASSIGN_OR_RETURN(c.at, ReadTime(r, *at, what + " at"));
  }
  JIT_ASSIGN_OR_RETURN(YAML::Node expect, map.Require("expect"));
  JIT_ASSIGN_OR_RETURN(c.expect, ReadExpectation(r, expect, what));
  return c;
}

StatusOr<std::vector<TestCase>> ReadCases(const std::string& path) {
  JIT_ASSIGN_OR_RETURN(YAML::Node root, policy_internal::LoadYamlFile(path));
  YamlReader r(path);
  JIT_ASSIGN_OR_RETURN(YamlMap map,
                       YamlMap::Strict(r, root, "the cases file", {"cases"}));
  JIT_ASSIGN_OR_RETURN(YAML::Node list, map.Require("cases"));
  if (!list.IsSequence() || list.size() == 0) {
    return r.Error(list, "cases must be a non-empty list");
  }
  std::vector<TestCase> cases;
  for (const YAML::Node& item : list) {
    JIT_ASSIGN_OR_RETURN(TestCase c, ReadCase(r, item, cases.size()));
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string JoinReasons(const std::vector<std::string>& reasons) {
  if (reasons.empty()) return "(no reasons)";
  std::string out;
  for (const std::string& r : reasons) {
    if (!out.empty()) out += "; ";
    out += r;
  }
  return out;
}

bool AnyReasonContains(const Decision& d, const std::string& text) {
  for (const std::string& r : d.reasons) {
    if (r.find(text) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::string> AllowMismatches(const Expectation& e,
                                         const Decision& d) {
  std::vector<std::string> out;
  bool is_auto = !d.needs_approval;
  if (e.auto_approve.has_value() && *e.auto_approve != is_auto) {
    out.push_back(fmt::format("expected auto: {}, got auto: {}",
                              *e.auto_approve, is_auto));
  }
  if (e.approvals.has_value() && *e.approvals != d.approvals_required) {
    out.push_back(fmt::format("expected approvals: {}, got {}", *e.approvals,
                              d.approvals_required));
  }
  if (e.policy.has_value() && *e.policy != d.policy) {
    out.push_back(
        fmt::format("expected policy {}, got {}", *e.policy, d.policy));
  }
  return out;
}

std::vector<std::string> Mismatches(const Expectation& e, const Decision& d) {
  if (e.allow && !d.allow) {
    return {"expected allow, got deny: " + JoinReasons(d.reasons)};
  }
  if (!e.allow && d.allow) {
    return {fmt::format("expected deny, got allow by policy {}", d.policy)};
  }
  if (e.allow) return AllowMismatches(e, d);
  if (e.reason_contains.has_value() &&
      !AnyReasonContains(d, *e.reason_contains)) {
    return {fmt::format("expected a reason containing \"{}\", got: {}",
                        *e.reason_contains, JoinReasons(d.reasons))};
  }
  return {};
}

}  // namespace

StatusOr<std::string> LintPolicyFile(const std::string& path) {
  JIT_ASSIGN_OR_RETURN(std::shared_ptr<const PolicySet> set,
                       PolicySet::LoadFile(path));
  std::string out =
      fmt::format("ok: {} entitlements, {} policies",
                  set->entitlements().size(), set->policy_count());
  for (const std::string& w : set->Warnings()) out += "\nwarning: " + w;
  return out;
}

SystemTime DefaultPolicyTestTime() {
  using date::literals::operator""_y;
  using date::literals::nov;
  return date::sys_days{2026_y / nov / 23} + std::chrono::hours(12);
}

StatusOr<PolicyTestResult> RunPolicyTests(const PolicySet& policies,
                                          const std::string& cases_path) {
  JIT_ASSIGN_OR_RETURN(std::vector<TestCase> cases, ReadCases(cases_path));
  PolicyTestResult result;
  for (const TestCase& c : cases) {
    Decision d = policies.Evaluate(c.ask, c.at);
    std::vector<std::string> wrong = Mismatches(c.expect, d);
    if (wrong.empty()) {
      ++result.passed;
      continue;
    }
    ++result.failed;
    std::string line =
        fmt::format("case \"{}\" ({}:{}): ", c.name, cases_path, c.line);
    for (size_t i = 0; i < wrong.size(); ++i) {
      line += (i == 0 ? "" : "; ") + wrong[i];
    }
    result.failures.push_back(std::move(line));
  }
  return result;
}

std::string ExplainDecision(const Decision& d) {
  if (!d.allow) {
    std::string out = "denied";
    for (const std::string& r : d.reasons) out += "\nreason: " + r;
    return out;
  }
  std::string out = fmt::format("allowed by policy {}", d.policy);
  if (d.needs_approval) {
    out +=
        fmt::format("\napproval: {} distinct approver{} needed",
                    d.approvals_required, d.approvals_required == 1 ? "" : "s");
  } else {
    out += "\napproval: automatic";
  }
  if (d.approver_second_factor_required) {
    out += "\napprovers: must show a second factor when they decide";
  }
  if (d.second_factor_required) {
    out += "\nsecond factor: required with the request (shown)";
  }
  out += "\nmax duration: " + FormatDuration(d.max_duration);
  if (d.approval_timeout.has_value() && d.needs_approval) {
    out += "\napproval timeout: " + FormatDuration(*d.approval_timeout);
  }
  if (!d.notify.empty()) {
    std::string list;
    for (const std::string& n : d.notify)
      list += (list.empty() ? "" : ", ") + n;
    out += "\nnotify: " + list;
  }
  return out;
}

}  // namespace jit
