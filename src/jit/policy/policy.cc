// PolicySet queries: Evaluate, MayApprove, RequestableBy and accessors.

#include "jit/policy/policy.h"

#include <fmt/format.h>

#include <algorithm>

#include "jit/base/duration.h"
#include "jit/policy/policy_model.h"

namespace jit {
namespace policy_internal {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool AnyIn(const std::vector<std::string>& items,
           const std::vector<std::string>& list) {
  return std::any_of(items.begin(), items.end(),
                     [&](const std::string& i) { return Contains(list, i); });
}

}  // namespace

bool PolicyDef::Covers(const Subject& subject) const {
  const auto& by_name = subject.machine ? subject_tokens : subject_users;
  return Contains(by_name, subject.name) ||
         AnyIn(subject.groups, subject_groups);
}

bool PolicyDef::Lists(const std::string& entitlement) const {
  return Contains(entitlements, entitlement);
}

Duration PolicyDef::Cap(const Entitlement& e) const {
  return std::min(max_duration.value_or(e.max_duration), e.max_duration);
}

Duration PolicyDef::EmergencyCap(const Entitlement& e) const {
  return std::min(emergency_max_duration.value_or(Cap(e)), Cap(e));
}

bool PolicyDef::AllowsApprover(const Subject& approver) const {
  if (auto_approve) return false;
  return (!approver.machine && Contains(approver_users, approver.name)) ||
         AnyIn(approver.groups, approver_groups);
}

}  // namespace policy_internal

namespace {

using policy_internal::PolicyDef;
using policy_internal::TimeWindow;

constexpr Duration kMinDuration = std::chrono::seconds(1);
constexpr auto kMaxStartAhead = std::chrono::hours(24 * 30);
constexpr size_t kMaxQuotedBytes = 64;

std::string_view TrimWhitespace(std::string_view text) {
  constexpr std::string_view kSpace = " \t\n\r\f\v";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

// UTF-8 code points: every byte that is not a continuation byte starts one.
int CountCodePoints(std::string_view text) {
  return static_cast<int>(std::count_if(text.begin(), text.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// User text inside a reason: quoted and cut short so a long ticket cannot
// blow up a 403 body. Cuts on a code point boundary.
std::string QuoteUserText(std::string_view text) {
  if (text.size() <= kMaxQuotedBytes) return fmt::format("\"{}\"", text);
  size_t cut = kMaxQuotedBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) {
    --cut;
  }
  return fmt::format("\"{}...\"", text.substr(0, cut));
}

bool IsEmergency(const AccessAsk& ask) {
  return ask.emergency == Emergency::kYes;
}

// The cap that applies to `ask` under `p`.
Duration CapFor(const PolicyDef& p, const Entitlement& e,
                const AccessAsk& ask) {
  if (IsEmergency(ask) && p.emergency_allowed) return p.EmergencyCap(e);
  return p.Cap(e);
}

void CheckDuration(const PolicyDef& p, const Entitlement& e,
                   const AccessAsk& ask, std::vector<std::string>& out) {
  if (ask.duration < kMinDuration) {
    out.push_back(fmt::format("duration must be at least {}",
                              FormatDuration(kMinDuration)));
    return;
  }
  Duration cap = CapFor(p, e, ask);
  if (ask.duration <= cap) return;
  const char* kind =
      IsEmergency(ask) && p.emergency_allowed ? "emergency maximum" : "maximum";
  out.push_back(fmt::format("duration {} exceeds the {} {} of policy {}",
                            FormatDuration(ask.duration), kind,
                            FormatDuration(cap), p.name));
}

void CheckJustification(const PolicyDef& p, const AccessAsk& ask,
                        std::vector<std::string>& out) {
  int chars = CountCodePoints(TrimWhitespace(ask.justification));
  if (chars >= p.justification_min_chars) return;
  out.push_back(fmt::format(
      "justification has {} characters; policy {} requires at least {}", chars,
      p.name, p.justification_min_chars));
}

void CheckTicket(const PolicyDef& p, const AccessAsk& ask,
                 std::vector<std::string>& out) {
  if (p.ticket_re == nullptr) return;
  if (ask.ticket.empty()) {
    out.push_back(fmt::format("policy {} requires a ticket matching {}", p.name,
                              p.ticket_pattern));
    return;
  }
  if (RE2::PartialMatch(ask.ticket, *p.ticket_re)) return;
  out.push_back(fmt::format("ticket {} does not match {} required by policy {}",
                            QuoteUserText(ask.ticket), p.ticket_pattern,
                            p.name));
}

void CheckWindows(const PolicyDef& p, SystemTime now,
                  std::vector<std::string>& out) {
  if (p.windows.empty()) return;
  bool inside =
      std::any_of(p.windows.begin(), p.windows.end(),
                  [&](const TimeWindow& w) { return w.Contains(now); });
  if (inside) return;
  std::string list;
  for (const TimeWindow& w : p.windows) {
    if (!list.empty()) list += "; ";
    list += w.description();
  }
  out.push_back(fmt::format("{} is outside the time windows of policy {} ({})",
                            FormatTime(now), p.name, list));
}

void CheckEmergency(const PolicyDef& p, const AccessAsk& ask,
                    std::vector<std::string>& out) {
  if (!IsEmergency(ask) || p.emergency_allowed) return;
  out.push_back(
      fmt::format("policy {} does not allow emergency requests", p.name));
}

void CheckStartAt(const AccessAsk& ask, SystemTime now,
                  std::vector<std::string>& out) {
  if (!ask.start_at.has_value() || *ask.start_at - now <= kMaxStartAhead) {
    return;
  }
  out.push_back(fmt::format("start_at {} is more than 30 days ahead",
                            FormatTime(*ask.start_at)));
}

void CheckMfa(const PolicyDef& p, const AccessAsk& ask,
              std::vector<std::string>& out) {
  if (!p.mfa || ask.second_factor == SecondFactor::kShown) return;
  out.push_back(
      fmt::format("policy {} requires a second factor: sign in again with MFA "
                  "or give a TOTP code",
                  p.name));
}

std::vector<std::string> FailedRules(const PolicyDef& p, const Entitlement& e,
                                     const AccessAsk& ask, SystemTime now) {
  std::vector<std::string> out;
  CheckDuration(p, e, ask, out);
  CheckJustification(p, ask, out);
  CheckTicket(p, ask, out);
  CheckWindows(p, now, out);
  CheckEmergency(p, ask, out);
  CheckStartAt(ask, now, out);
  CheckMfa(p, ask, out);
  return out;
}

Decision Allow(const PolicyDef& p, const Entitlement& e, const AccessAsk& ask) {
  Decision d;
  d.allow = true;
  d.needs_approval = !p.auto_approve;
  d.policy = p.name;
  d.approvals_required = p.auto_approve ? 0 : p.approval_count;
  d.max_duration = CapFor(p, e, ask);
  d.approval_timeout = p.approval_timeout;
  if (IsEmergency(ask)) d.notify = p.notify;
  d.second_factor_required = p.mfa;
  d.approver_second_factor_required = p.approver_mfa;
  return d;
}

Decision Deny(std::vector<std::string> reasons) {
  Decision d;
  d.reasons = std::move(reasons);
  return d;
}

}  // namespace

PolicySet::PolicySet(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PolicySet::~PolicySet() = default;

Decision PolicySet::Evaluate(const AccessAsk& ask, SystemTime now) const {
  const Entitlement* e = FindEntitlement(ask.entitlement);
  if (e == nullptr) {
    return Deny({fmt::format("unknown entitlement {}", ask.entitlement)});
  }
  size_t e_position = static_cast<size_t>(e - impl_->entitlements.data());
  std::vector<size_t> covering =
      impl_->coverage.Covering(e_position, ask.subject);
  if (covering.empty()) {
    return Deny({fmt::format("no policy lets {} request {}", ask.subject.name,
                             e->name)});
  }
  std::vector<std::string> reasons;
  for (size_t i : covering) {
    const PolicyDef& p = impl_->policies[i];
    std::vector<std::string> failed = FailedRules(p, *e, ask, now);
    if (failed.empty()) return Allow(p, *e, ask);
    for (std::string& reason : failed) {
      reasons.push_back(covering.size() > 1
                            ? fmt::format("policy {}: {}", p.name, reason)
                            : std::move(reason));
    }
  }
  return Deny(std::move(reasons));
}

bool PolicySet::MayApprove(const Subject& approver,
                           const std::string& policy_name) const {
  auto it = impl_->policy_index.find(policy_name);
  if (it == impl_->policy_index.end()) return false;
  return impl_->policies[it->second].AllowsApprover(approver);
}

bool PolicySet::ApproverNeedsSecondFactor(
    const std::string& policy_name) const {
  auto it = impl_->policy_index.find(policy_name);
  if (it == impl_->policy_index.end()) return false;
  return impl_->policies[it->second].approver_mfa;
}

PolicyApprovers PolicySet::ApproversOf(const std::string& policy_name) const {
  auto it = impl_->policy_index.find(policy_name);
  if (it == impl_->policy_index.end()) return {};
  const PolicyDef& p = impl_->policies[it->second];
  if (p.auto_approve) return {};
  return PolicyApprovers{p.approver_groups, p.approver_users};
}

const Entitlement* PolicySet::FindEntitlement(const std::string& name) const {
  auto it = impl_->entitlement_index.find(name);
  if (it == impl_->entitlement_index.end()) return nullptr;
  return &impl_->entitlements[it->second];
}

const std::vector<Entitlement>& PolicySet::entitlements() const {
  return impl_->entitlements;
}

namespace {

Requestable MakeRequestable(const PolicyDef& p, const Entitlement& e) {
  Requestable r;
  r.entitlement = e.name;
  r.description = e.description;
  r.policy = p.name;
  r.max_duration = p.Cap(e);
  r.auto_approve = p.auto_approve;
  r.approvals_required = p.auto_approve ? 0 : p.approval_count;
  r.justification_min_chars = p.justification_min_chars;
  r.ticket_pattern = p.ticket_pattern;
  r.emergency_allowed = p.emergency_allowed;
  if (p.emergency_allowed) r.emergency_max_duration = p.EmergencyCap(e);
  r.mfa_required = p.mfa;
  r.approver_mfa_required = p.approver_mfa;
  for (const TimeWindow& w : p.windows)
    r.time_windows.push_back(w.description());
  return r;
}

}  // namespace

std::vector<Requestable> PolicySet::RequestableBy(
    const Subject& subject) const {
  std::vector<Requestable> rows;
  for (const Entitlement& e : impl_->entitlements) {
    auto p = std::find_if(impl_->policies.begin(), impl_->policies.end(),
                          [&](const PolicyDef& p) {
                            return p.Lists(e.name) && p.Covers(subject);
                          });
    if (p != impl_->policies.end()) rows.push_back(MakeRequestable(*p, e));
  }
  return rows;
}

std::vector<std::string> PolicySet::PoliciesFor(
    const std::string& entitlement) const {
  std::vector<std::string> names;
  for (const PolicyDef& p : impl_->policies) {
    if (p.Lists(entitlement)) names.push_back(p.name);
  }
  return names;
}

std::vector<std::string> PolicySet::Warnings() const {
  std::vector<std::string> out;
  for (const Entitlement& e : impl_->entitlements) {
    if (!PoliciesFor(e.name).empty()) continue;
    out.push_back(fmt::format(
        "entitlement {} is covered by no policy; nobody can request it",
        e.name));
  }
  return out;
}

std::vector<PolicyInfo> PolicySet::Policies() const {
  std::vector<PolicyInfo> out;
  for (const policy_internal::PolicyDef& p : impl_->policies) {
    PolicyInfo info{.name = p.name,
                    .subject_users = p.subject_users,
                    .subject_groups = p.subject_groups,
                    .subject_tokens = p.subject_tokens,
                    .entitlements = p.entitlements,
                    .max_duration = p.max_duration,
                    .justification_min_chars = p.justification_min_chars,
                    .ticket_pattern = p.ticket_pattern,
                    .mfa = p.mfa,
                    .auto_approve = p.auto_approve,
                    .approval_count = p.approval_count,
                    .approver_groups = p.approver_groups,
                    .approver_users = p.approver_users,
                    .approver_mfa = p.approver_mfa,
                    .approval_timeout = p.approval_timeout,
                    .emergency_allowed = p.emergency_allowed,
                    .emergency_max_duration = p.emergency_max_duration,
                    .notify = p.notify,
                    .time_windows = {}};
    for (const TimeWindow& w : p.windows)
      info.time_windows.push_back(w.description());
    out.push_back(std::move(info));
  }
  return out;
}

const std::string& PolicySet::version_hash() const {
  return impl_->version_hash;
}

size_t PolicySet::policy_count() const { return impl_->policies.size(); }

}  // namespace jit
