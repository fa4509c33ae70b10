#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "jit/base/clock.h"
#include "jit/base/status.h"
#include "jit/domain/request.h"

namespace YAML {
class Node;
}

namespace jit {

// Who is asking (or approving): the authenticated principal.
struct Subject {
  std::string name;    // e.g. "alice" or a machine token's name
  std::string person;  // the human behind it; equal to name unless aliased
  std::vector<std::string> groups;
  // A machine token (CI job, agent): policies name it under
  // subjects.tokens, never under users (and a person is never matched by
  // subjects.tokens), so a person and a token of the same name stay apart.
  bool machine = false;
};

// A named privilege a request can ask for (config `entitlements:`).
struct Entitlement {
  std::string name;
  std::string connector;
  // Connector parameters as given in YAML, each value (scalar, list or
  // mapping) kept as JSON text per key (e.g. {"role": "\"app_read\"",
  // "commands": "[...]"}). Quoted scalars are strings; plain true/false,
  // null and numbers become JSON booleans, null and numbers.
  std::map<std::string, std::string> params_json;
  Duration max_duration{0};
  std::string description;
};

// Whether the caller showed a recent second factor with this call (an
// OIDC token with a fresh `amr`/`acr`, or a TOTP code checked just now).
// Decided by the caller of Evaluate; machine tokens never show one.
enum class SecondFactor { kNone, kShown };

// What Evaluate is asked about. Pure data; no I/O.
struct AccessAsk {
  Subject subject;
  std::string entitlement;
  Duration duration{0};
  std::string justification;
  std::string ticket;
  Emergency emergency = Emergency::kNo;
  std::optional<SystemTime> start_at;
  SecondFactor second_factor = SecondFactor::kNone;
};

// The answer. When `allow` is false, `reasons` lists every rule that failed
// (of every policy that covers the entitlement for this subject), in plain
// words fit for a 403 body and `jit policy explain`.
struct Decision {
  bool allow = false;
  bool needs_approval = false;  // false + allow = auto-approved
  std::string policy;           // the policy that decided (allow) or ""
  int approvals_required = 0;   // distinct approvers needed
  Duration max_duration{0};     // the effective cap that applied
  std::optional<Duration> approval_timeout;
  std::vector<std::string> notify;  // emergency notify list
  // The deciding policy's require.mfa and approval.mfa.
  bool second_factor_required = false;
  bool approver_second_factor_required = false;
  std::vector<std::string> reasons;
};

// Who may approve under one policy.
struct PolicyApprovers {
  std::vector<std::string> groups;
  std::vector<std::string> users;
};

// What a subject may ask for, for GET /v1/entitlements.
struct Requestable {
  std::string entitlement;
  std::string description;
  std::string policy;
  Duration max_duration{0};
  bool auto_approve = false;
  int approvals_required = 0;
  int justification_min_chars = 0;
  std::string ticket_pattern;
  bool emergency_allowed = false;
  std::optional<Duration> emergency_max_duration;
  // The policy asks for a recent second factor with each request
  // (require.mfa), and from approvers when they decide (approval.mfa).
  bool mfa_required = false;
  bool approver_mfa_required = false;
  // When requests are accepted, e.g. "mon,tue 08:00-20:00 Europe/Berlin";
  // empty = any time.
  std::vector<std::string> time_windows;
};

// One entry of `policies:` as loaded, for read-only display (GET
// /v1/policies). Policies hold no secrets; this is everything they say.
struct PolicyInfo {
  std::string name;
  std::vector<std::string> subject_users;
  std::vector<std::string> subject_groups;
  std::vector<std::string> subject_tokens;  // machine tokens by name
  std::vector<std::string> entitlements;
  std::optional<Duration> max_duration;  // nullopt: each entitlement's
  int justification_min_chars = 0;
  std::string ticket_pattern;  // empty: no ticket needed
  bool mfa = false;            // require.mfa
  bool auto_approve = false;
  int approval_count = 0;  // 0 iff auto_approve
  std::vector<std::string> approver_groups;
  std::vector<std::string> approver_users;
  bool approver_mfa = false;  // approval.mfa
  std::optional<Duration> approval_timeout;
  bool emergency_allowed = false;
  std::optional<Duration> emergency_max_duration;  // nullopt: the cap
  std::vector<std::string> notify;
  std::vector<std::string> time_windows;  // empty: any time
};

// The loaded `entitlements:` and `policies:` of one config file. Immutable
// after Load, so it is thread-safe and shared read-only (a reload builds a
// new one and swaps it in).
class PolicySet {
 public:
  // Reads `entitlements` and `policies` from `root` (the whole config file,
  // loaded from `path`, used in messages). Other top-level keys are ignored
  // here. Errors: kInvalidArgument "FILE:LINE: reason" naming the first
  // problem (unknown key, bad duration, bad regex, unknown entitlement,
  // policy count above the number of possible approvers...).
  static StatusOr<std::shared_ptr<const PolicySet>> Load(
      const YAML::Node& root, const std::string& path);
  // Loads a YAML file from disk, then Load(). Syntax errors give FILE:LINE.
  static StatusOr<std::shared_ptr<const PolicySet>> LoadFile(
      const std::string& path);

  // Pure. `now` is used for time windows. Chooses the first policy in file
  // order that allows; otherwise reasons of all covering policies, or
  // "no policy lets <subject> request <entitlement>" when none covers
  // ("unknown entitlement <x>" when it does not exist).
  // A policy covers the ask when it lists the entitlement and names
  // `subject.name` in subjects.users (people) or subjects.tokens (machine
  // subjects), or one of `subject.groups` in subjects.groups (`person` does
  // not count). Its rules: duration from 1s up
  // to the cap, min(policy max_duration, entitlement max_duration), or for an
  // emergency the emergency max_duration (never above that cap);
  // justification at least justification_min_chars code points after
  // trimming whitespace; ticket partially matching ticket_pattern (anchors in
  // the pattern decide; an empty ticket fails); `now` inside one of the
  // windows; emergency only where allowed (it does not skip approval);
  // start_at at most 30 days after `now`; mfa: true needs
  // `ask.second_factor` kShown. With several covering policies each reason
  // starts with "policy <name>: ".
  Decision Evaluate(const AccessAsk& ask, SystemTime now) const;

  // True when `approver` may approve requests decided by `policy_name`
  // (`approver.name` in approval.users, for people only, or one of its
  // groups in approval.groups). False for an unknown or auto-approving policy.
  // Self-approval is checked by the caller, not here.
  bool MayApprove(const Subject& approver,
                  const std::string& policy_name) const;
  // True when `policy_name` sets approval.mfa: approvers (and deniers) must
  // show a recent second factor when they decide. False for an unknown
  // policy.
  bool ApproverNeedsSecondFactor(const std::string& policy_name) const;
  // The approval.groups and approval.users of `policy_name` (whom to tell
  // about a request waiting for approval); both empty for an unknown or
  // auto-approving policy.
  PolicyApprovers ApproversOf(const std::string& policy_name) const;

  // The entitlement called `name`, or nullptr. Points into this set.
  const Entitlement* FindEntitlement(const std::string& name) const;
  // In file order.
  const std::vector<Entitlement>& entitlements() const;
  // One row per entitlement (file order) that some policy lets `subject`
  // request; the first such policy in file order gives the limits.
  std::vector<Requestable> RequestableBy(const Subject& subject) const;
  // Every policy as loaded, in file order.
  std::vector<PolicyInfo> Policies() const;
  // Names of the policies that list `entitlement`, in file order.
  std::vector<std::string> PoliciesFor(const std::string& entitlement) const;
  // Findings that do not stop loading, one sentence each: entitlements no
  // policy lists.
  std::vector<std::string> Warnings() const;
  // Hex SHA-256 of the policy and entitlement definitions as loaded, to
  // record which version decided a request.
  const std::string& version_hash() const;
  size_t policy_count() const;

  struct Impl;
  explicit PolicySet(std::unique_ptr<Impl> impl);
  ~PolicySet();

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace jit
