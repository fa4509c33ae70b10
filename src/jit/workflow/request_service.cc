#include "jit/workflow/request_service.h"

#include <algorithm>
#include <set>

#include "jit/base/crash_point.h"
#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/base/sha256.h"
#include "jit/base/status_macros.h"
#include "jit/domain/state_machine.h"
#include "jit/workflow/events.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr size_t kMaxJustificationBytes = 4096;
constexpr size_t kMaxTicketBytes = 256;
constexpr size_t kMaxCommentBytes = 4096;
constexpr int kMaxScanPages = 50;

Status ConflictError(const Request& r, std::string_view verb) {
  return AbortedError("request " + r.id + " is " +
                      std::string(ToString(r.state)) + "; cannot " +
                      std::string(verb));
}

// Distinct people whose approval binds `binding` (THREATS T2, T6).
int CountApprovals(const std::vector<Approval>& approvals,
                   const std::string& binding) {
  std::set<std::string> people;
  for (const Approval& a : approvals) {
    if (a.decision == ApprovalDecision::kApprove && a.binding == binding) {
      people.insert(a.approver_person);
    }
  }
  return static_cast<int>(people.size());
}

Approval MakeApproval(const Principal& who, const Request& r,
                      ApprovalDecision decision, const std::string& comment,
                      SystemTime now) {
  return Approval{r.id,
                  who.name(),
                  who.subject.person.empty() ? who.name() : who.subject.person,
                  decision,
                  comment,
                  RequestBinding(r),
                  now};
}

// `data` plus where the caller acted from, when not the REST API (a Slack
// button): the audit log says how a decision was made.
json WithVia(const Principal& who, json data) {
  if (!who.via) return data;
  data["via"] = who.via->channel;
  data["via_user"] = who.via->user_id;
  return data;
}

Status CheckTextCaps(const std::string& justification,
                     const std::string& ticket) {
  if (justification.size() > kMaxJustificationBytes) {
    return InvalidArgumentError("justification is longer than 4096 bytes");
  }
  if (ticket.size() > kMaxTicketBytes) {
    return InvalidArgumentError("ticket is longer than 256 bytes");
  }
  return OkStatus();
}

}  // namespace

StatusOr<Request> RequestService::NewRequest(const Principal& who,
                                             const CreateRequestInput& in,
                                             const Decision& d,
                                             SystemTime now) const {
  Request r;
  r.id = NewId("req_");
  r.subject = who.name();
  r.person = who.subject.person.empty() ? who.name() : who.subject.person;
  r.subject_groups = who.subject.groups;
  r.entitlement = in.entitlement;
  r.duration = in.duration;
  r.justification = in.justification;
  r.ticket = in.ticket;
  r.start_at = in.start_at;
  r.emergency = in.emergency;
  r.state = RequestState::kPending;
  r.policy = d.policy;
  r.approvals_required = d.needs_approval ? d.approvals_required : 0;
  r.created_at = now;
  r.updated_at = now;
  if (d.needs_approval) {
    r.approval_deadline =
        now + std::chrono::duration_cast<SystemTime::duration>(
                  d.approval_timeout.value_or(deps_.default_approval_timeout));
  }
  r.binding = RequestBinding(r);
  return r;
}

// A refused ask changes no state but is evidence: record it.
Status RequestService::RecordRejection(const Principal& who,
                                       const CreateRequestInput& in,
                                       const std::vector<std::string>& reasons,
                                       std::string_view at) {
  AuditEvent e;
  e.time = deps_.clock.Now();
  e.type = AuditType::kRequestRejected;
  e.actor = who.name();
  e.subject = who.name();
  e.data = json{
      {"entitlement", in.entitlement},
      {"duration", FormatDuration(in.duration)},
      {"justification", in.justification},
      {"ticket", in.ticket},
      {"emergency", in.emergency == Emergency::kYes},
      {"reasons", reasons},
      {"at",
       at}}.dump();
  ChangeSet cs;
  cs.events.push_back(std::move(e));
  return deps_.Commit(cs);
}

StatusOr<RequestView> RequestService::Create(const Principal& who,
                                             const CreateRequestInput& in) {
  if (in.entitlement.empty())
    return InvalidArgumentError("entitlement is required");
  if (in.duration < std::chrono::seconds(1)) {
    return InvalidArgumentError("duration must be at least 1s");
  }
  JIT_RETURN_IF_ERROR(CheckTextCaps(in.justification, in.ticket));
  SystemTime now = deps_.clock.Now();
  if (in.start_at && *in.start_at + in.duration <= now) {
    return InvalidArgumentError("start_at plus duration lies in the past");
  }
  auto snap = deps_.policies.Get();
  AccessAsk ask{who.subject, in.entitlement, in.duration, in.justification,
                in.ticket,   in.emergency,   in.start_at};
  JIT_ASSIGN_OR_RETURN(ask.second_factor, SecondFactorOf(who, in.mfa_code));
  Decision d = snap->policies->Evaluate(ask, now);
  if (!d.allow) {
    JIT_RETURN_IF_ERROR(RecordRejection(who, in, d.reasons, "request"));
    return FailedPreconditionError("policy does not allow this request",
                                   "policy_denied", d.reasons);
  }
  JIT_ASSIGN_OR_RETURN(Request req, NewRequest(who, in, d, now));
  return Admit(who, std::move(req), d, now);
}

StatusOr<RequestView> RequestService::Admit(const Principal& who, Request req,
                                            const Decision& d, SystemTime now) {
  std::vector<AuditEvent> events;
  json facts = WithVia(who, RequestFacts(req));
  facts["approvals_required"] = req.approvals_required;
  facts["subject_groups"] = req.subject_groups;
  events.push_back(
      RequestEvent(AuditType::kRequestCreated, req.subject, req, now, facts));
  if (req.emergency == Emergency::kYes) {
    events.push_back(RequestEvent(AuditType::kEmergencyUsed, req.subject, req,
                                  now,
                                  {{"notify", d.notify},
                                   {"justification", req.justification},
                                   {"ticket", req.ticket}}));
  }
  if (d.needs_approval) {
    ChangeSet cs;
    cs.requests.push_back({req, std::nullopt});
    cs.events = std::move(events);
    JIT_RETURN_IF_ERROR(deps_.Commit(cs));
    CrashPoint("request.create.after_commit");
    deps_.metrics.CountRequestState(req.state);
    return View(std::move(req));
  }
  events.push_back(RequestEvent(AuditType::kRequestApproved, kPolicyActor, req,
                                now, {{"auto", true}, {"policy", req.policy}}));
  if (!req.extends.empty()) {
    JIT_ASSIGN_OR_RETURN(Request out,
                         lifecycle_.Extend(std::move(req), std::nullopt,
                                           std::move(events), kPolicyActor));
    return View(std::move(out));
  }
  if (req.start_at && *req.start_at > now) {
    JIT_ASSIGN_OR_RETURN(req.state,
                         NextRequestState(req.state, RequestEvent::kApprove));
    ChangeSet cs;
    cs.requests.push_back({req, std::nullopt});
    cs.events = std::move(events);
    JIT_RETURN_IF_ERROR(deps_.Commit(cs));
    deps_.metrics.CountRequestState(req.state);
    return View(std::move(req));
  }
  JIT_ASSIGN_OR_RETURN(Request out,
                       lifecycle_.Activate(std::move(req), std::nullopt,
                                           std::move(events), kPolicyActor));
  return View(std::move(out));
}

Status RequestService::CheckApprover(const Principal& who,
                                     const Request& r) const {
  if (who.IsPerson(r.subject, r.person)) {
    return PermissionDeniedError("you cannot decide your own request",
                                 "self_approval");
  }
  if (!deps_.policies.Get()->policies->MayApprove(who.subject, r.policy)) {
    return PermissionDeniedError(
        "you are not an approver of policy " + r.policy, "not_an_approver");
  }
  return OkStatus();
}

StatusOr<SecondFactor> RequestService::SecondFactorOf(
    const Principal& who, std::string_view mfa_code) {
  if (deps_.step_up == nullptr) return SecondFactor::kNone;
  return deps_.step_up->Prove(who, mfa_code);
}

// Checked last, after every other rule, so a code is not used up by a call
// that fails anyway.
Status RequestService::CheckApproverStepUp(const Principal& who,
                                           const Request& r,
                                           std::string_view mfa_code) {
  if (!deps_.policies.Get()->policies->ApproverNeedsSecondFactor(r.policy))
    return OkStatus();
  JIT_ASSIGN_OR_RETURN(SecondFactor shown, SecondFactorOf(who, mfa_code));
  if (shown == SecondFactor::kShown) return OkStatus();
  return PermissionDeniedError(
      "policy " + r.policy +
          " requires approvers to show a second factor: sign in again with "
          "MFA or give a TOTP code",
      "mfa_required");
}

StatusOr<RequestView> RequestService::Approve(const Principal& who,
                                              const std::string& id,
                                              const std::string& comment,
                                              std::string_view mfa_code) {
  if (comment.size() > kMaxCommentBytes) {
    return InvalidArgumentError("comment is longer than 4096 bytes");
  }
  JIT_ASSIGN_OR_RETURN(Request r, deps_.store.GetRequest(id));
  JIT_RETURN_IF_ERROR(CheckApprover(who, r));
  if (r.state != RequestState::kPending) return ConflictError(r, "approve");
  SystemTime now = deps_.clock.Now();
  // Past its deadline the request is timed out, whether or not the
  // scheduler has written that down yet.
  if (r.approval_deadline && now >= *r.approval_deadline) {
    return AbortedError("request " + id + " timed out waiting for approval");
  }
  JIT_RETURN_IF_ERROR(CheckApproverStepUp(who, r, mfa_code));
  JIT_ASSIGN_OR_RETURN(std::vector<Approval> decided,
                       deps_.store.ListApprovals(id));
  Approval a = MakeApproval(who, r, ApprovalDecision::kApprove, comment, now);
  decided.push_back(a);
  int have = CountApprovals(decided, a.binding);
  bool enough = have >= r.approvals_required;
  Request next = r;
  next.updated_at = now;
  if (enough) {
    JIT_ASSIGN_OR_RETURN(next.state,
                         NextRequestState(r.state, RequestEvent::kApprove));
  }
  ChangeSet cs;
  cs.requests.push_back({next, RequestState::kPending});  // still pending (T8)
  cs.approvals.push_back(a);
  cs.events.push_back(
      RequestEvent(AuditType::kRequestApproved, who.name(), next, now,
                   WithVia(who, {{"approver", who.name()},
                                 {"comment", comment},
                                 {"approvals", have},
                                 {"approvals_required", r.approvals_required},
                                 {"final", enough},
                                 {"binding", a.binding}})));
  Status committed = deps_.Commit(cs);
  if (committed.code() == StatusCode::kAlreadyExists) {
    return AbortedError("you have already decided request " + id);
  }
  JIT_RETURN_IF_ERROR(committed);
  CrashPoint("approval.after_commit");
  if (!enough) return Settle(who, std::move(next));
  deps_.metrics.CountRequestState(next.state);
  return Proceed(next);
}

StatusOr<RequestView> RequestService::Settle(const Principal& who, Request r) {
  // Approvers committing at the same time each count only the approvals
  // they saw; whoever looks last after committing finds enough and moves
  // the request on. Several may try; the compare-and-set lets one win.
  JIT_ASSIGN_OR_RETURN(std::vector<Approval> decided,
                       deps_.store.ListApprovals(r.id));
  std::string binding = RequestBinding(r);
  int have = CountApprovals(decided, binding);
  if (have < r.approvals_required) return View(std::move(r));
  SystemTime now = deps_.clock.Now();
  Request next = r;
  JIT_ASSIGN_OR_RETURN(next.state,
                       NextRequestState(r.state, RequestEvent::kApprove));
  next.updated_at = now;
  ChangeSet cs;
  cs.requests.push_back({next, RequestState::kPending});
  cs.events.push_back(
      RequestEvent(AuditType::kRequestApproved, who.name(), next, now,
                   WithVia(who, {{"approver", who.name()},
                                 {"approvals", have},
                                 {"approvals_required", r.approvals_required},
                                 {"final", true},
                                 {"binding", binding}})));
  Status committed = deps_.Commit(cs);
  if (committed.code() == StatusCode::kAborted) {
    JIT_ASSIGN_OR_RETURN(Request stored, deps_.store.GetRequest(r.id));
    return View(std::move(stored));
  }
  JIT_RETURN_IF_ERROR(committed);
  deps_.metrics.CountRequestState(next.state);
  return Proceed(next);
}

StatusOr<RequestView> RequestService::Proceed(const Request& approved) {
  if (approved.start_at && *approved.start_at > deps_.clock.Now())
    return View(approved);
  StatusOr<Request> out =
      approved.extends.empty()
          ? lifecycle_.Activate(approved, RequestState::kApproved, {},
                                kSystemActor)
          : lifecycle_.Extend(approved, RequestState::kApproved, {},
                              kSystemActor);
  if (!out.ok()) {
    // Approved and recorded; the scheduler retries activation.
    JIT_ASSIGN_OR_RETURN(Request stored, deps_.store.GetRequest(approved.id));
    return View(std::move(stored));
  }
  return View(*std::move(out));
}

StatusOr<RequestView> RequestService::Deny(const Principal& who,
                                           const std::string& id,
                                           const std::string& comment,
                                           std::string_view mfa_code) {
  if (comment.size() > kMaxCommentBytes) {
    return InvalidArgumentError("comment is longer than 4096 bytes");
  }
  JIT_ASSIGN_OR_RETURN(Request r, deps_.store.GetRequest(id));
  JIT_RETURN_IF_ERROR(CheckApprover(who, r));
  StatusOr<RequestState> next_state =
      NextRequestState(r.state, RequestEvent::kDeny);
  if (!next_state.ok()) return ConflictError(r, "deny");
  JIT_RETURN_IF_ERROR(CheckApproverStepUp(who, r, mfa_code));
  SystemTime now = deps_.clock.Now();
  Request next = r;
  next.state = *next_state;
  next.updated_at = now;
  ChangeSet cs;
  cs.requests.push_back({next, r.state});
  cs.approvals.push_back(
      MakeApproval(who, r, ApprovalDecision::kDeny, comment, now));
  cs.events.push_back(RequestEvent(
      AuditType::kRequestDenied, who.name(), next, now,
      WithVia(who, {{"approver", who.name()}, {"comment", comment}})));
  Status committed = deps_.Commit(cs);
  if (committed.code() == StatusCode::kAlreadyExists) {
    return AbortedError("you have already decided request " + id);
  }
  JIT_RETURN_IF_ERROR(committed);
  deps_.metrics.CountRequestState(next.state);
  return View(std::move(next));
}

StatusOr<RequestView> RequestService::Cancel(const Principal& who,
                                             const std::string& id,
                                             const std::string& comment) {
  if (comment.size() > kMaxCommentBytes) {
    return InvalidArgumentError("comment is longer than 4096 bytes");
  }
  JIT_ASSIGN_OR_RETURN(Request r, deps_.store.GetRequest(id));
  if (!MaySee(who, r)) return NotFoundError("request " + id + " not found");
  if (!who.IsPerson(r.subject, r.person) && !who.admin) {
    return PermissionDeniedError(
        "only the requester or an admin can cancel a request");
  }
  StatusOr<RequestState> next_state =
      NextRequestState(r.state, RequestEvent::kCancel);
  if (!next_state.ok()) return ConflictError(r, "cancel");
  SystemTime now = deps_.clock.Now();
  // approved -> cancelled calls off planned work only. An approved request
  // whose start has come is being activated: the approval already won the
  // race (THREATS T8); end the grant instead.
  if (r.state == RequestState::kApproved && (!r.start_at || *r.start_at <= now))
    return ConflictError(r, "cancel");
  Request next = r;
  next.state = *next_state;
  next.updated_at = now;
  ChangeSet cs;
  cs.requests.push_back({next, r.state});
  cs.events.push_back(
      RequestEvent(AuditType::kRequestCancelled, who.name(), next, now,
                   {{"comment", comment}, {"from", ToString(r.state)}}));
  JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  deps_.metrics.CountRequestState(next.state);
  return View(std::move(next));
}

bool RequestService::MaySee(const Principal& who, const Request& r) const {
  if (who.ReadsAll() || who.IsPerson(r.subject, r.person)) return true;
  return deps_.policies.Get()->policies->MayApprove(who.subject, r.policy);
}

StatusOr<RequestView> RequestService::View(Request r) {
  JIT_ASSIGN_OR_RETURN(std::vector<Approval> approvals,
                       deps_.store.ListApprovals(r.id));
  return RequestView{std::move(r), std::move(approvals)};
}

StatusOr<RequestView> RequestService::Get(const Principal& who,
                                          const std::string& id) {
  JIT_ASSIGN_OR_RETURN(Request r, deps_.store.GetRequest(id));
  if (!MaySee(who, r)) return NotFoundError("request " + id + " not found");
  return View(std::move(r));
}

StatusOr<Page<RequestView>> RequestService::List(const Principal& who,
                                                 RequestFilter filter) {
  Page<RequestView> out;
  int want = std::clamp(filter.limit, 1, 1000);
  for (int page = 0; page < kMaxScanPages; ++page) {
    filter.limit = want - static_cast<int>(out.items.size());
    JIT_ASSIGN_OR_RETURN(Page<Request> got, deps_.store.ListRequests(filter));
    for (Request& r : got.items) {
      if (!MaySee(who, r)) continue;
      JIT_ASSIGN_OR_RETURN(RequestView v, View(std::move(r)));
      out.items.push_back(std::move(v));
    }
    out.next_cursor = got.next_cursor;
    if (!got.next_cursor || static_cast<int>(out.items.size()) >= want) break;
    filter.after = *got.next_cursor;
  }
  return out;
}

StatusOr<Grant> RequestService::EndGrant(const Principal& who,
                                         const std::string& grant_id,
                                         const std::string& reason) {
  if (reason.size() > kMaxCommentBytes) {
    return InvalidArgumentError("reason is longer than 4096 bytes");
  }
  JIT_ASSIGN_OR_RETURN(Grant g, deps_.store.GetGrant(grant_id));
  bool holder = g.subject == who.name();
  if (!holder && !who.admin) {
    if (!who.ReadsAll())
      return NotFoundError("grant " + grant_id + " not found");
    return PermissionDeniedError("only the holder or an admin can end a grant");
  }
  if (g.state != GrantState::kActive) {
    return AbortedError("grant " + grant_id + " is " +
                        std::string(ToString(g.state)));
  }
  EndReason why = holder ? EndReason::kCompleted : EndReason::kRevoked;
  return lifecycle_.End(grant_id, why, who.name(), reason);
}

StatusOr<RequestView> RequestService::Extend(const Principal& who,
                                             const std::string& grant_id,
                                             const ExtendInput& in) {
  if (in.duration < std::chrono::seconds(1)) {
    return InvalidArgumentError("duration must be at least 1s");
  }
  JIT_RETURN_IF_ERROR(CheckTextCaps(in.justification, ""));
  JIT_ASSIGN_OR_RETURN(Grant g, deps_.store.GetGrant(grant_id));
  if (g.subject != who.name()) {
    if (!who.ReadsAll())
      return NotFoundError("grant " + grant_id + " not found");
    return PermissionDeniedError("only the holder can extend a grant");
  }
  SystemTime now = deps_.clock.Now();
  if (!Allows(g, now)) {
    return AbortedError("grant " + grant_id + " is no longer active");
  }
  JIT_ASSIGN_OR_RETURN(Request original, deps_.store.GetRequest(g.request_id));
  CreateRequestInput in2{g.entitlement,   in.duration,  in.justification,
                         original.ticket, std::nullopt, Emergency::kNo};
  AccessAsk ask{who.subject, in2.entitlement, in2.duration, in2.justification,
                in2.ticket,  in2.emergency,   std::nullopt};
  JIT_ASSIGN_OR_RETURN(ask.second_factor, SecondFactorOf(who, in.mfa_code));
  Decision d = deps_.policies.Get()->policies->Evaluate(ask, now);
  Duration remaining_after =
      std::chrono::duration_cast<Duration>(g.expires_at + in.duration - now);
  if (d.allow && remaining_after > d.max_duration) {
    d.allow = false;
    d.reasons.push_back(
        "extension would leave " + FormatDuration(remaining_after) +
        " remaining, above the maximum " + FormatDuration(d.max_duration));
  }
  if (!d.allow) {
    JIT_RETURN_IF_ERROR(RecordRejection(who, in2, d.reasons, "extension"));
    return FailedPreconditionError("policy does not allow this extension",
                                   "policy_denied", d.reasons);
  }
  JIT_ASSIGN_OR_RETURN(Request req, NewRequest(who, in2, d, now));
  req.extends = g.id;
  req.binding = RequestBinding(req);
  return Admit(who, std::move(req), d, now);
}

StatusOr<Grant> RequestService::GetGrant(const Principal& who,
                                         const std::string& id) {
  JIT_ASSIGN_OR_RETURN(Grant g, deps_.store.GetGrant(id));
  if (g.subject != who.name() && !who.ReadsAll()) {
    return NotFoundError("grant " + id + " not found");
  }
  return g;
}

StatusOr<Page<Grant>> RequestService::ListGrants(const Principal& who,
                                                 GrantFilter filter) {
  if (!who.ReadsAll()) {
    if (filter.subject && *filter.subject != who.name()) {
      return PermissionDeniedError("you can list only your own grants");
    }
    filter.subject = who.name();
  }
  return deps_.store.ListGrants(filter);
}

StatusOr<CheckResult> RequestService::Check(
    const Principal& who, const std::string& subject,
    const std::string& entitlement) const {
  if (subject.empty() || entitlement.empty()) {
    return InvalidArgumentError("subject and entitlement are required");
  }
  if (subject != who.name() && !who.enforcer && !who.admin) {
    return PermissionDeniedError(
        "checking another subject needs the enforcer role");
  }
  auto hit = deps_.index.Check(subject, entitlement, deps_.clock.Now(),
                               deps_.clock.MonotonicNow());
  if (!hit) return CheckResult{};
  return CheckResult{true, hit->grant_id, hit->expires_at};
}

StatusOr<std::string> RequestService::IssueCertificate(
    const Principal& who, const std::string& grant_id,
    const std::string& public_key, const std::string& source_address) {
  JIT_ASSIGN_OR_RETURN(Grant g, deps_.store.GetGrant(grant_id));
  // Only the holder gets a credential; to anyone else the grant is unknown.
  if (g.subject != who.name()) {
    return NotFoundError("grant " + grant_id + " not found");
  }
  SystemTime now = deps_.clock.Now();
  if (!Allows(g, now)) {
    return FailedPreconditionError("grant " + grant_id + " is not active",
                                   "conflict");
  }
  Connector* c = deps_.connectors.Find(g.connector);
  CertificateAuthority* ca = c ? c->AsCertificateAuthority() : nullptr;
  if (ca == nullptr) {
    return InvalidArgumentError("connector " + g.connector +
                                " does not issue SSH certificates");
  }
  JIT_ASSIGN_OR_RETURN(
      std::string certificate,
      ca->Issue(lifecycle_.SpecFor(g), public_key, source_address,
                std::chrono::steady_clock::now() + deps_.connector_timeout));
  ChangeSet cs;
  cs.events.push_back(
      GrantEvent(AuditType::kGrantCredentialIssued, who.name(), g, now,
                 {{"kind", "ssh_certificate"},
                  {"public_key_sha256", Sha256Hex(public_key)},
                  {"certificate_sha256", Sha256Hex(certificate)},
                  {"source_address", source_address},
                  {"valid_before", FormatTime(g.expires_at)}}));
  JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  return certificate;
}

StatusOr<CertificateAuthority*> RequestService::AuthorityOf(
    const std::string& name) const {
  Connector* c = deps_.connectors.Find(name);
  CertificateAuthority* ca = c ? c->AsCertificateAuthority() : nullptr;
  if (ca == nullptr) {
    return NotFoundError("connector " + name.substr(0, 80) +
                         " has no SSH certificate authority");
  }
  return ca;
}

StatusOr<std::string> RequestService::CaPublicKey(
    const std::string& name) const {
  JIT_ASSIGN_OR_RETURN(CertificateAuthority * ca, AuthorityOf(name));
  return ca->PublicKey();
}

StatusOr<std::string> RequestService::RevocationList(
    const std::string& name) const {
  JIT_ASSIGN_OR_RETURN(CertificateAuthority * ca, AuthorityOf(name));
  return ca->RevocationList();
}

StatusOr<CheckResult> RequestService::CheckTarget(
    const Principal& who, const std::string& connector,
    const std::string& target_user) const {
  if (connector.empty() || target_user.empty()) {
    return InvalidArgumentError("connector and target_user are required");
  }
  if (!who.enforcer && !who.admin) {
    return PermissionDeniedError("checking by target needs the enforcer role");
  }
  auto hit = deps_.index.CheckTarget(connector, target_user, deps_.clock.Now(),
                                     deps_.clock.MonotonicNow());
  if (!hit) return CheckResult{};
  return CheckResult{true, hit->grant_id, hit->expires_at};
}

Status RequestService::TimeOut(const Request& r) {
  SystemTime now = deps_.clock.Now();
  JIT_ASSIGN_OR_RETURN(RequestState next_state,
                       NextRequestState(r.state, RequestEvent::kTimeOut));
  Request next = r;
  next.state = next_state;
  next.updated_at = now;
  ChangeSet cs;
  cs.requests.push_back({next, r.state});
  cs.events.push_back(RequestEvent(
      AuditType::kRequestTimedOut, kSystemActor, next, now,
      {{"approval_deadline",
        r.approval_deadline ? FormatTime(*r.approval_deadline) : ""}}));
  JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  deps_.metrics.CountRequestState(next.state);
  return OkStatus();
}

Status RequestService::ActivateDue(const Request& r) {
  StatusOr<Request> out =
      r.extends.empty()
          ? lifecycle_.Activate(r, RequestState::kApproved, {}, kSystemActor)
          : lifecycle_.Extend(r, RequestState::kApproved, {}, kSystemActor);
  return out.status();
}

}  // namespace jit
