#include "jit/workflow/policy_explainer.h"

namespace jit {
namespace {

// Matches the caps of POST /v1/requests (DESIGN invariant 8).
constexpr size_t kMaxTextBytes = 4096;
constexpr size_t kMaxNameBytes = 256;
constexpr size_t kMaxGroups = 100;

Status CheckSizes(const ExplainInput& in) {
  if (in.entitlement.empty())
    return InvalidArgumentError("entitlement is required");
  if (in.duration < std::chrono::seconds(1))
    return InvalidArgumentError("duration must be at least 1s");
  if (in.subject.size() > kMaxNameBytes ||
      in.entitlement.size() > kMaxNameBytes)
    return InvalidArgumentError(
        "subject and entitlement are at most 256 bytes");
  if (in.justification.size() > kMaxTextBytes ||
      in.ticket.size() > kMaxTextBytes)
    return InvalidArgumentError(
        "justification and ticket are at most 4096 bytes");
  if (in.groups && in.groups->size() > kMaxGroups)
    return InvalidArgumentError("at most 100 groups");
  if (in.groups) {
    for (const std::string& g : *in.groups) {
      if (g.empty() || g.size() > kMaxNameBytes)
        return InvalidArgumentError("a group name is 1 to 256 bytes");
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<ExplainAnswer> PolicyExplainer::Explain(const Principal& who,
                                                 const ExplainInput& in) const {
  if (Status s = CheckSizes(in); !s.ok()) return s;
  const bool self =
      (in.subject.empty() || in.subject == who.name()) && !in.groups;
  if (!self && !who.ReadsAll()) {
    return PermissionDeniedError(
        "explaining another subject, or other groups, needs the auditor or "
        "admin role");
  }
  std::shared_ptr<const PolicySnapshot> snap = policies_.Get();
  Subject subject = who.subject;
  if (!self) {
    subject = Subject();
    subject.name = in.subject.empty() ? who.name() : in.subject;
    subject.person = subject.name;
    auto listed = snap->directory.find(subject.name);
    if (in.groups) {
      subject.groups = *in.groups;
    } else if (listed != snap->directory.end()) {
      subject = listed->second;
    }
  }
  AccessAsk ask;
  ask.subject = subject;
  ask.entitlement = in.entitlement;
  ask.duration = in.duration;
  ask.justification = in.justification;
  ask.ticket = in.ticket;
  ask.emergency = in.emergency;
  // Machine tokens never show a second factor, as on requests.
  ask.second_factor = subject.machine ? SecondFactor::kNone : in.second_factor;
  Decision d = snap->policies->Evaluate(ask, clock_.Now());
  PolicyApprovers approvers;
  if (d.allow) approvers = snap->policies->ApproversOf(d.policy);
  return ExplainAnswer{std::move(subject), std::move(d),
                       snap->policies->version_hash(), std::move(approvers)};
}

}  // namespace jit
