// Evaluate finds covering policies through an index built at load. These
// tests check it against a plain scan of every policy in file order, on
// randomly generated policy sets (fixed seed, bounded sizes).

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "jit/base/duration.h"
#include "jit/policy/policy.h"
#include "jit/policy/policy_test_util.h"

namespace jit {
namespace {

using policy_test::MustLoad;
using policy_test::Noon;

// Names overlap on purpose: a user called like a group (and the reverse)
// must not be confused with it.
const std::vector<std::string> kUsers = {"u0", "u1", "u2", "u3", "u4", "g0"};
const std::vector<std::string> kGroups = {"g0", "g1", "g2", "g3", "all", "u0"};
const std::vector<std::string> kEntitlements = {"e0", "e1", "e2",
                                                "e3", "e4", "e5"};

constexpr char kEntitlementYaml[] = R"(entitlements:
  - {name: e0, connector: c, max_duration: 1h}
  - {name: e1, connector: c, max_duration: 4h}
  - {name: e2, connector: c, max_duration: 30m}
  - {name: e3, connector: c, max_duration: 2h}
  - {name: e4, connector: c, max_duration: 1h}
  - {name: e5, connector: c, max_duration: 8h}
policies:
)";

// One generated policy: who and what it covers (as the scan below needs
// them) and its YAML.
struct PolicySpec {
  std::string name;
  std::vector<std::string> users;
  std::vector<std::string> groups;
  std::vector<std::string> entitlements;
  std::string yaml;
};

class Generator {
 public:
  explicit Generator(uint32_t seed) : rng_(seed) {}

  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  template <typename T>
  const T& Pick(const std::vector<T>& items) {
    return items[std::uniform_int_distribution<size_t>(0,
                                                       items.size() - 1)(rng_)];
  }

  // Each item with probability `p`, in shuffled order.
  std::vector<std::string> Subset(const std::vector<std::string>& items,
                                  double p) {
    std::vector<std::string> out;
    for (const std::string& item : items) {
      if (Chance(p)) out.push_back(item);
    }
    std::shuffle(out.begin(), out.end(), rng_);
    return out;
  }

  PolicySpec Policy(int i) {
    PolicySpec p;
    p.name = fmt::format("p{}", i);
    p.users = Subset(kUsers, 0.25);
    p.groups = Subset(kGroups, 0.2);
    if (p.users.empty() && p.groups.empty()) p.groups.push_back(Pick(kGroups));
    p.entitlements = Chance(0.15) ? kEntitlements : Subset(kEntitlements, 0.3);
    if (p.entitlements.empty()) p.entitlements.push_back(Pick(kEntitlements));
    p.yaml = PolicyYaml(p);
    return p;
  }

  AccessAsk Ask() {
    AccessAsk ask;
    ask.subject.name = Chance(0.1) ? "nobody" : Pick(kUsers);
    ask.subject.person = ask.subject.name;
    ask.subject.groups = Subset(kGroups, 0.25);
    if (Chance(0.2)) ask.subject.groups.push_back("other");
    ask.entitlement = Chance(0.05) ? "nope" : Pick(kEntitlements);
    ask.duration = Pick(std::vector<Duration>{
        Duration(0), std::chrono::minutes(3), std::chrono::minutes(20),
        std::chrono::hours(1), std::chrono::hours(3)});
    ask.justification = Pick(std::vector<std::string>{
        "", "short", "a justification long enough for anyone"});
    ask.ticket = Pick(std::vector<std::string>{"", "T-12", "X"});
    ask.emergency = Chance(0.3) ? Emergency::kYes : Emergency::kNo;
    return ask;
  }

 private:
  // Subjects and entitlements as generated; the rules at random.
  std::string PolicyYaml(const PolicySpec& p) {
    std::string yaml = fmt::format(
        "  - name: {}\n    subjects: {{users: [{}], groups: [{}]}}\n"
        "    entitlements: [{}]\n",
        p.name, fmt::join(p.users, ", "), fmt::join(p.groups, ", "),
        fmt::join(p.entitlements, ", "));
    if (Chance(0.7)) {
      yaml += fmt::format("    max_duration: {}\n",
                          Pick(std::vector<std::string>{"10m", "30m", "2h"}));
    }
    yaml += fmt::format("    require: {{justification_min_chars: {}{}{}}}\n",
                        Pick(std::vector<int>{0, 0, 10}),
                        Chance(0.3) ? ", ticket_pattern: \"^T-[0-9]+$\"" : "",
                        Chance(0.05) ? ", mfa: true" : "");
    yaml += Chance(0.5) ? "    approval: {auto: true}\n"
                        : "    approval: {users: [boss, chief], count: 2}\n";
    if (Chance(0.5)) {
      yaml += fmt::format(
          "    emergency: {{allowed: {}, max_duration: 5m, notify: [sec]}}\n",
          Chance(0.7) ? "true" : "false");
    }
    return yaml;
  }

  std::mt19937 rng_;
};

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The definition in policy.h, checked policy by policy in file order.
bool Covers(const PolicySpec& p, const AccessAsk& ask) {
  if (!Contains(p.entitlements, ask.entitlement)) return false;
  if (Contains(p.users, ask.subject.name)) return true;
  return std::any_of(
      ask.subject.groups.begin(), ask.subject.groups.end(),
      [&](const std::string& g) { return Contains(p.groups, g); });
}

// A generated set, plus one set per policy holding only that policy: its
// decision for an ask it covers is that policy's own verdict.
struct Generated {
  std::vector<PolicySpec> specs;
  std::shared_ptr<const PolicySet> all;
  std::vector<std::shared_ptr<const PolicySet>> alone;
};

Generated Generate(Generator& gen, int policy_count) {
  Generated g;
  std::string yaml = kEntitlementYaml;
  for (int i = 0; i < policy_count; ++i) {
    g.specs.push_back(gen.Policy(i));
    yaml += g.specs.back().yaml;
    g.alone.push_back(MustLoad(kEntitlementYaml + g.specs.back().yaml));
  }
  g.all = MustLoad(yaml);
  return g;
}

// Evaluate as a scan over every policy: the first covering policy that
// allows decides; otherwise the reasons of all covering ones, each prefixed
// with its policy's name when there are several.
Decision ScanEvaluate(const Generated& g, const AccessAsk& ask,
                      SystemTime now) {
  if (!Contains(kEntitlements, ask.entitlement)) {
    return g.all->Evaluate(ask, now);  // unknown entitlement: no scan
  }
  std::vector<size_t> covering;
  for (size_t i = 0; i < g.specs.size(); ++i) {
    if (Covers(g.specs[i], ask)) covering.push_back(i);
  }
  Decision denied;
  if (covering.empty()) {
    denied.reasons.push_back(fmt::format("no policy lets {} request {}",
                                         ask.subject.name, ask.entitlement));
  }
  for (size_t i : covering) {
    Decision own = g.alone[i]->Evaluate(ask, now);
    if (own.allow) return own;
    for (const std::string& reason : own.reasons) {
      denied.reasons.push_back(
          covering.size() > 1
              ? fmt::format("policy {}: {}", g.specs[i].name, reason)
              : reason);
    }
  }
  return denied;
}

// "policy p3: ...", as reasons are when several policies cover the ask.
bool NamesItsPolicy(const std::string& reason) {
  if (!reason.starts_with("policy p")) return false;
  size_t space = reason.find(' ', 7);
  return space != std::string::npos && reason[space - 1] == ':';
}

std::string Describe(const Decision& d) {
  return fmt::format(
      "allow={} needs_approval={} policy={} approvals={} max={} timeout={} "
      "notify=[{}] reasons=[{}]",
      d.allow, d.needs_approval, d.policy, d.approvals_required,
      FormatDuration(d.max_duration),
      d.approval_timeout ? FormatDuration(*d.approval_timeout) : "none",
      fmt::join(d.notify, ", "), fmt::join(d.reasons, " | "));
}

std::string DescribeAsk(const AccessAsk& ask) {
  return fmt::format(
      "subject={} groups=[{}] entitlement={} duration={} emergency={}",
      ask.subject.name, fmt::join(ask.subject.groups, ","), ask.entitlement,
      FormatDuration(ask.duration), ask.emergency == Emergency::kYes);
}

TEST(PolicyEvaluateRandomTest, IndexedEvaluateMatchesAScanOfEveryPolicy) {
  constexpr int kSets = 40;
  constexpr int kAsksPerSet = 60;
  Generator gen(20261124);
  int allowed = 0, no_policy = 0, several_denied = 0;
  for (int set = 0; set < kSets; ++set) {
    // Up to 40 policies: the index and the scan must agree at any size.
    Generated g = Generate(gen, 1 + set);
    ASSERT_NE(g.all, nullptr);
    for (int n = 0; n < kAsksPerSet; ++n) {
      AccessAsk ask = gen.Ask();
      Decision want = ScanEvaluate(g, ask, Noon());
      Decision got = g.all->Evaluate(ask, Noon());
      ASSERT_EQ(Describe(got), Describe(want))
          << "set " << set << ", ask " << n << ": " << DescribeAsk(ask);
      allowed += got.allow ? 1 : 0;
      no_policy += !got.allow && got.reasons.size() == 1 &&
                   got.reasons[0].starts_with("no policy lets");
      several_denied +=
          !got.allow && !got.reasons.empty() && NamesItsPolicy(got.reasons[0]);
    }
  }
  // The generator reaches every outcome, so the comparison means something.
  EXPECT_GT(allowed, 100);
  EXPECT_GT(no_policy, 100);
  EXPECT_GT(several_denied, 100);
}

// Many policies sharing one entitlement, or one group: the index must walk
// either side and still give file order.
TEST(PolicyEvaluateRandomTest, WideEntitlementAndWideGroupKeepFileOrder) {
  std::string yaml = kEntitlementYaml;
  for (int i = 0; i < 300; ++i) {
    yaml += fmt::format(
        "  - name: p{}\n    subjects: {{users: [u{}], groups: [all]}}\n"
        "    entitlements: [e{}]\n    max_duration: {}m\n"
        "    approval: {{auto: true}}\n",
        i, i, i % 3 == 0 ? 5 : 1, 10 + i);
  }
  std::shared_ptr<const PolicySet> set = MustLoad(yaml);
  ASSERT_NE(set, nullptr);
  AccessAsk ask;
  ask.entitlement = "e5";
  ask.duration = std::chrono::minutes(100);
  ask.subject = {"u5", "u5", {}};
  // u5 is in p5 only, which lists e1: nobody covers.
  EXPECT_EQ(set->Evaluate(ask, Noon()).reasons,
            std::vector<std::string>{"no policy lets u5 request e5"});
  ask.subject = {"u6", "u6", {}};
  // p6 lists e5 and covers u6, but caps at 16m.
  EXPECT_EQ(set->Evaluate(ask, Noon()).reasons,
            std::vector<std::string>{
                "duration 1h40m exceeds the maximum 16m of policy p6"});
  ask.subject = {"u6", "u6", {"all"}};
  // Every third policy lists e5; the first with a cap >= 100m is p90.
  Decision d = set->Evaluate(ask, Noon());
  EXPECT_TRUE(d.allow);
  EXPECT_EQ(d.policy, "p90");
  ask.duration = std::chrono::hours(10);
  d = set->Evaluate(ask, Noon());
  EXPECT_FALSE(d.allow);
  ASSERT_EQ(d.reasons.size(), 100u);
  EXPECT_EQ(d.reasons.front(),
            "policy p0: duration 10h exceeds the maximum 10m of policy p0");
  EXPECT_EQ(
      d.reasons.back(),
      "policy p297: duration 10h exceeds the maximum 5h7m of policy p297");
}

}  // namespace
}  // namespace jit
