#include "jit/workflow/grant_lifecycle.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <thread>

#include "jit/base/crash_point.h"
#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/base/status_macros.h"
#include "jit/domain/state_machine.h"
#include "jit/workflow/events.h"
#include "jit/workflow/principal.h"
#include "jit/workflow/token_service.h"

namespace jit {
namespace {

using nlohmann::json;

// An entitlement's params.user (a JSON string), or nothing: then the
// target user is the subject itself (DESIGN "Target user names").
std::optional<std::string> UserTemplate(
    const std::map<std::string, std::string>& params_json) {
  auto it = params_json.find("user");
  if (it == params_json.end()) return std::nullopt;
  json v = json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!v.is_string()) return std::nullopt;
  return v.get<std::string>();
}

// The target user name: the template with {subject} replaced, else the
// subject.
std::string TargetUser(const std::string& subject,
                       const std::optional<std::string>& user_template) {
  if (!user_template) return subject;
  std::string user = *user_template;
  const std::string placeholder = "{subject}";
  for (size_t pos = user.find(placeholder); pos != std::string::npos;
       pos = user.find(placeholder, pos + subject.size())) {
    user.replace(pos, placeholder.size(), subject);
  }
  return user;
}

json SessionsJson(const std::vector<Session>& sessions) {
  json out = json::array();
  for (const Session& s : sessions) {
    out.push_back({{"id", s.id}, {"description", s.description}});
  }
  return out;
}

AuditType EndEventType(EndReason reason) {
  return reason == EndReason::kExpired ? AuditType::kGrantExpired
                                       : AuditType::kGrantRevoked;
}

// The decision to end active grant `g` for `reason` at `now`: the grant
// revoke_pending (as `ending`), its active `requests` terminal, and the
// grant.expired/grant.revoked event.
ChangeSet EndChangeSet(const Grant& g, const std::vector<Request>& requests,
                       EndReason reason, const std::string& actor,
                       const std::string& comment, SystemTime now,
                       Grant& ending) {
  ending = g;
  ending.state = GrantState::kRevokePending;
  ending.ended_reason = reason;
  ending.revoke_pending_since = now;
  // The ender revokes next, itself: others keep off until the claim runs
  // out (Store::ClaimDueRevokes), which only happens if it died meanwhile.
  ending.next_attempt_at = now + kRevokeClaimLease;
  ending.generation = g.generation + 1;

  ChangeSet cs;
  cs.grants.push_back({ending, GrantState::kActive});
  RequestState final_state = RequestStateForEnd(reason);
  for (Request r : requests) {
    r.state = final_state;
    r.updated_at = now;
    cs.requests.push_back({r, RequestState::kActive});
  }
  json data = {
      {"ended_reason", ToString(reason)},
      {"expires_at", FormatTime(g.expires_at)},
      {"held_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::min(now, g.expires_at) - g.starts_at)
                      .count()}};
  if (!comment.empty()) data["comment"] = comment;
  cs.events.push_back(
      GrantEvent(EndEventType(reason), actor, ending, now, data));
  return cs;
}

// Activity items per grant.activity event, and events per grant: a busy
// grant's trail stays readable and bounded; the rest is counted.
constexpr size_t kActivityPerEvent = 100;
constexpr size_t kMaxActivityEvents = 20;

void AppendActivityEvents(const Grant& g, const std::vector<Activity>& items,
                          SystemTime now, std::vector<AuditEvent>& out) {
  size_t total = items.size();
  size_t kept = std::min(total, kActivityPerEvent * kMaxActivityEvents);
  for (size_t first = 0; first < kept; first += kActivityPerEvent) {
    json batch = json::array();
    for (size_t i = first; i < std::min(kept, first + kActivityPerEvent); ++i) {
      const Activity& a = items[i];
      batch.push_back({{"at", FormatTime(a.at)},
                       {"kind", a.kind},
                       {"session", a.session},
                       {"text", a.text}});
    }
    json data = {{"items", batch}, {"first", first}, {"total", total}};
    if (first + kActivityPerEvent >= kept && kept < total)
      data["dropped"] = total - kept;
    out.push_back(
        GrantEvent(AuditType::kGrantActivity, kSystemActor, g, now, data));
  }
}

}  // namespace

std::chrono::milliseconds RevokeBackoff(int attempt) {
  int shift = std::clamp(attempt - 1, 0, 6);
  return std::min<std::chrono::milliseconds>(
      std::chrono::seconds(1) * (1 << shift), std::chrono::seconds(60));
}

Deadline GrantLifecycle::ConnectorDeadline() const {
  return std::chrono::steady_clock::now() + deps_.connector_timeout;
}

GrantSpec GrantLifecycle::SpecFor(const Grant& g) const {
  GrantSpec spec;
  spec.grant_id = g.id;
  spec.request_id = g.request_id;
  spec.subject = g.subject;
  spec.entitlement = g.entitlement;
  spec.starts_at = g.starts_at;
  spec.expires_at = g.expires_at;
  auto snap = deps_.policies.Get();
  if (const Entitlement* e = snap->policies->FindEntitlement(g.entitlement)) {
    spec.params_json = e->params_json;
  }
  spec.target_user = TargetUser(g.subject, UserTemplate(spec.params_json));
  return spec;
}

std::optional<Subject> GrantLifecycle::KnownSubject(const std::string& name,
                                                    const std::string& person,
                                                    SystemTime now) const {
  auto snap = deps_.policies.Get();
  // A configured token's subject missing from the directory was removed;
  // an IdP subject counts with the groups of its latest token, if recent.
  // Neither: it gets nothing (THREATS T7).
  // A machine token counts while it is live, with its groups.
  if (person.starts_with(kMachinePersonPrefix)) {
    return LiveMachineSubject(deps_.store, name, now);
  }
  if (auto known = snap->directory.find(name); known != snap->directory.end()) {
    return known->second;
  }
  if (deps_.seen_subjects != nullptr) return deps_.seen_subjects->Find(name);
  return std::nullopt;
}

Decision GrantLifecycle::Recheck(const Request& req, SystemTime now,
                                 const Subject* as) const {
  auto snap = deps_.policies.Get();
  std::optional<Subject> subject =
      as != nullptr ? std::optional<Subject>(*as)
                    : KnownSubject(req.subject, req.person, now);
  if (!subject) {
    Decision gone;
    gone.reasons.push_back("subject " + req.subject + " is no longer known");
    return gone;
  }
  AccessAsk ask;
  ask.subject = *subject;
  ask.entitlement = req.entitlement;
  ask.duration = req.duration;
  ask.justification = req.justification;
  ask.ticket = req.ticket;
  ask.emergency = req.emergency;
  // A second factor is asked for at the moment of the request (Create
  // refuses without one); activation re-checks eligibility, not sign-ins.
  ask.second_factor = SecondFactor::kShown;
  return snap->policies->Evaluate(ask, now);
}

std::vector<std::string> GrantLifecycle::RecheckPolicy(
    const Request& req, SystemTime now, const Subject* as) const {
  Decision d = Recheck(req, now, as);
  if (d.allow) return {};
  return d.reasons;
}

std::vector<std::string> GrantLifecycle::CheckApprovals(
    const Request& req) const {
  if (req.approvals_required == 0) return {};
  auto approvals = deps_.store.ListApprovals(req.id);
  if (!approvals.ok())
    return {"approvals could not be read: " + approvals.status().message()};
  std::string binding = RequestBinding(req);
  std::set<std::string> people;
  for (const Approval& a : *approvals) {
    if (a.decision != ApprovalDecision::kApprove) continue;
    if (a.binding != binding) continue;  // approved something else (T6)
    people.insert(a.approver_person);
  }
  if (static_cast<int>(people.size()) >= req.approvals_required) return {};
  return {"request changed after approval or approvals missing: " +
          std::to_string(people.size()) + " of " +
          std::to_string(req.approvals_required) +
          " approvals bind this request"};
}

StatusOr<Request> GrantLifecycle::Refuse(
    Request req, std::optional<RequestState> stored_state,
    std::vector<AuditEvent> leading_events, const std::string& actor,
    const std::vector<std::string>& reasons) {
  SystemTime now = deps_.clock.Now();
  JIT_ASSIGN_OR_RETURN(
      RequestState next,
      NextRequestState(req.state, RequestEvent::kActivationFailed));
  req.state = next;
  req.updated_at = now;
  ChangeSet cs;
  cs.requests.push_back({req, stored_state});
  cs.events = std::move(leading_events);
  cs.events.push_back(
      RequestEvent(AuditType::kRequestRejected, actor, req, now,
                   {{"reasons", reasons}, {"at", "activation"}}));
  JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  deps_.metrics.CountRequestState(req.state);
  spdlog::warn("request_id={} activation refused: {}", req.id,
               reasons.empty() ? "" : reasons.front());
  return req;
}

StatusOr<Request> GrantLifecycle::Activate(
    Request req, std::optional<RequestState> stored_state,
    std::vector<AuditEvent> leading_events, const std::string& actor,
    ActivationExtras extras) {
  SystemTime now = deps_.clock.Now();
  std::vector<std::string> reasons = RecheckPolicy(
      req, now, extras.eligible_as ? &*extras.eligible_as : nullptr);
  std::vector<std::string> approval_problems = CheckApprovals(req);
  reasons.insert(reasons.end(), approval_problems.begin(),
                 approval_problems.end());
  // Planned work stays inside its window: start_at + duration, even when
  // activation comes late (jitd was down at start_at).
  bool planned = req.start_at && *req.start_at > req.created_at;
  SystemTime expires_at = (planned ? *req.start_at : now) + req.duration;
  if (planned && expires_at <= now) {
    reasons.push_back("the planned window ended at " + FormatTime(expires_at));
  }
  if (!reasons.empty()) {
    return Refuse(std::move(req), stored_state, std::move(leading_events),
                  actor, reasons);
  }
  auto how = req.state == RequestState::kPending ? RequestEvent::kAutoApprove
                                                 : RequestEvent::kActivate;
  JIT_ASSIGN_OR_RETURN(RequestState next, NextRequestState(req.state, how));
  auto snap = deps_.policies.Get();
  const Entitlement* ent = snap->policies->FindEntitlement(req.entitlement);
  if (ent == nullptr)
    return InternalError("entitlement vanished: " + req.entitlement);

  Grant g;
  g.id = NewId("grt_");
  g.request_id = req.id;
  g.subject = req.subject;
  g.entitlement = req.entitlement;
  g.connector = ent->connector;
  g.starts_at = TruncateToMillis(now);
  // The index, the store and the API all see the same millisecond: a
  // sub-millisecond tail would allow checks after the expires_at shown.
  g.expires_at = TruncateToMillis(expires_at);
  g.generation = 1;
  req.state = next;
  req.grant_id = g.id;
  req.updated_at = now;

  ChangeSet cs;
  cs.requests.push_back({req, stored_state});
  cs.grants.push_back({g, std::nullopt});
  cs.credentials = std::move(extras.credentials);
  cs.reviews = std::move(extras.reviews);
  cs.events = std::move(leading_events);
  for (AuditEvent& e : cs.events) e.grant_id = g.id;
  json data = RequestFacts(req);
  data["connector"] = g.connector;
  data["starts_at"] = FormatTime(g.starts_at);
  data["expires_at"] = FormatTime(g.expires_at);
  data["policy_version"] = snap->policies->version_hash();
  cs.events.push_back(
      GrantEvent(AuditType::kGrantActivated, actor, g, now, data));
  JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  CrashPoint("activate.after_commit");
  deps_.metrics.CountRequestState(req.state);

  Connector* connector = deps_.connectors.Find(g.connector);
  Status granted =
      connector == nullptr
          ? UnavailableError("connector " + g.connector + " is not configured")
          : connector->Grant(SpecFor(g), ConnectorDeadline());
  if (!granted.ok()) {
    JIT_RETURN_IF_ERROR(FailActivation(req, g, granted));
    return deps_.store.GetRequest(req.id);
  }
  CrashPoint("activate.after_connector");
  Publish(g);
  return req;
}

void GrantLifecycle::Publish(const Grant& g) {
  deps_.index.Put(
      g,
      MonoDeadline(g.expires_at, deps_.clock.Now(), deps_.clock.MonotonicNow()),
      SpecFor(g).target_user);
  // An End() committed before the read below is seen here; one committed
  // after it removes the entry again once it has committed. Either way no
  // ended grant stays in the index.
  StatusOr<Grant> stored = deps_.store.GetGrant(g.id);
  if (!stored.ok() || !Allows(*stored, deps_.clock.Now()))
    deps_.index.Remove(g.id);
}

void GrantLifecycle::RestoreIndex(const std::string& grant_id) {
  StatusOr<Grant> stored = deps_.store.GetGrant(grant_id);
  if (stored.ok() && Allows(*stored, deps_.clock.Now())) Publish(*stored);
}

Status GrantLifecycle::FailActivation(Request req, Grant g, const Status& why) {
  SystemTime now = deps_.clock.Now();
  spdlog::error("grant_id={} connector refused grant: {}", g.id,
                why.ToString());
  Request failed = req;
  failed.state = RequestState::kFailed;
  failed.updated_at = now;
  Grant cleanup = g;
  cleanup.state = GrantState::kRevokePending;
  cleanup.ended_reason = EndReason::kRevoked;
  cleanup.revoke_pending_since = now;
  cleanup.next_attempt_at = now;  // undo whatever part of the grant landed
  cleanup.last_error = why.message();
  cleanup.generation = g.generation + 1;
  ChangeSet cs;
  cs.requests.push_back({failed, RequestState::kActive});
  cs.grants.push_back({cleanup, GrantState::kActive});
  cs.events.push_back(
      RequestEvent(AuditType::kRequestRejected, kSystemActor, failed, now,
                   {{"reasons", {"connector refused: " + why.message()}},
                    {"at", "activation"}}));
  CrashPoint("activate.fail.before_commit");
  JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  deps_.metrics.CountRequestState(RequestState::kFailed);
  return OkStatus();
}

StatusOr<Grant> GrantLifecycle::End(const std::string& grant_id,
                                    EndReason reason, const std::string& actor,
                                    const std::string& comment) {
  JIT_ASSIGN_OR_RETURN(Grant g, deps_.store.GetGrant(grant_id));
  if (g.state != GrantState::kActive) {
    return AbortedError("grant " + grant_id + " is " +
                        std::string(ToString(g.state)));
  }
  SystemTime now = deps_.clock.Now();
  // An extension may have moved the expiry since the caller saw it due.
  if (reason == EndReason::kExpired && now < g.expires_at) {
    return AbortedError("grant " + grant_id + " has not expired");
  }
  JIT_ASSIGN_OR_RETURN(std::vector<Request> requests,
                       deps_.store.RequestsOfGrant(grant_id));
  Grant ending;
  ChangeSet cs = EndChangeSet(g, requests, reason, actor, comment, now, ending);
  RequestState final_state = RequestStateForEnd(reason);

  // Deny first (fail closed while committing); on failure restore only what
  // the store still holds active, as a racing End() may have won.
  deps_.index.Remove(grant_id);
  Status committed = deps_.Commit(cs);
  if (!committed.ok()) {
    RestoreIndex(grant_id);
    return committed;
  }
  CrashPoint("end.after_commit");
  // Again after the commit: undoes a Publish() that raced the first removal.
  deps_.index.Remove(grant_id);
  for (size_t i = 0; i < requests.size(); ++i)
    deps_.metrics.CountRequestState(final_state);
  Status revoked = CompleteRevoke(ending);
  if (!revoked.ok()) {
    spdlog::warn("grant_id={} revoke pending: {}", grant_id,
                 revoked.ToString());
  }
  return deps_.store.GetGrant(grant_id);
}

// What revoking one revoke_pending grant in its target came to, and the
// ChangeSet recording it: the grant ended, or the failed attempt scheduled
// for a retry.
struct GrantLifecycle::RevokeOutcome {
  std::string grant_id;
  ChangeSet cs;
  Status failure;  // OK when revoked (or kept for other grants)
  std::chrono::milliseconds latency{0};
  size_t survivors = 0;
  int attempt = 0;
  bool alert = false;
};

Status GrantLifecycle::CompleteRevoke(Grant g) {
  if (g.state != GrantState::kRevokePending) {
    return AbortedError("grant " + g.id + " is not revoke_pending");
  }
  RevokeOutcome outcome = RevokeInTarget(g);
  Status committed = deps_.Commit(outcome.cs);
  return AfterRevokeCommit(outcome, committed);
}

GrantLifecycle::RevokeOutcome GrantLifecycle::RevokeInTarget(
    const Grant& g) const {
  Connector* connector = deps_.connectors.Find(g.connector);
  if (connector == nullptr) {
    return RevokeFailure(
        g, UnavailableError("connector " + g.connector + " is not configured"));
  }
  GrantSpec spec = SpecFor(g);
  // Another active grant holding the very same privilege keeps it (and its
  // sessions) in place; the last grant to end takes it away. Only active
  // grants count, so of two ending together the later one revokes.
  std::vector<std::string> kept_for =
      ActiveSharers(*connector, g.connector, spec);
  StatusOr<std::vector<Session>> survivors = std::vector<Session>{};
  if (kept_for.empty()) {
    CrashPoint("revoke.before_connector");
    Status revoked = connector->Revoke(spec, ConnectorDeadline());
    if (!revoked.ok()) return RevokeFailure(g, revoked);
    survivors = connector->KillSessions(spec, ConnectorDeadline());
    if (!survivors.ok()) return RevokeFailure(g, survivors.status());
    CrashPoint("revoke.after_connector");
  }

  SystemTime now = deps_.clock.Now();
  SystemTime decided = g.ended_reason == EndReason::kExpired
                           ? g.expires_at
                           : g.revoke_pending_since.value_or(now);
  RevokeOutcome out;
  out.grant_id = g.id;
  out.latency =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - decided);
  out.survivors = survivors->size();
  Grant ended = g;
  ended.state = GrantState::kEnded;
  ended.ended_at = now;
  ended.next_attempt_at.reset();
  ended.generation = g.generation + 1;
  ChangeSet& cs = out.cs;
  cs.grants.push_back({ended, GrantState::kRevokePending});
  cs.events.push_back(GrantEvent(AuditType::kGrantSessionsKilled, kSystemActor,
                                 ended, now,
                                 {{"revoked_in_target", kept_for.empty()},
                                  {"kept_for_grants", kept_for},
                                  {"survivors", SessionsJson(*survivors)},
                                  {"revoke_attempts", g.revoke_attempts + 1},
                                  {"revoke_latency_ms", out.latency.count()}}));
  // What the target recorded as done under the grant joins its trail in
  // the same transaction; a target that cannot say is noted, not fatal.
  StatusOr<std::vector<Activity>> activity =
      connector->ActivitySince(spec, g.starts_at, ConnectorDeadline());
  if (activity.ok()) {
    AppendActivityEvents(ended, *activity, now, cs.events);
  } else {
    json data = json::parse(cs.events.back().data);
    data["activity_error"] = activity.status().message();
    cs.events.back().data = EventDataText(data);
  }
  return out;
}

Status GrantLifecycle::AfterRevokeCommit(const RevokeOutcome& o,
                                         const Status& committed) {
  if (!o.failure.ok()) deps_.metrics.CountRevokeFailure();
  if (!committed.ok()) return committed;
  if (o.failure.ok()) {
    CrashPoint("revoke.after_commit");
    deps_.metrics.ObserveRevokeLatency(o.latency);
    if (o.survivors > 0) {
      spdlog::error("grant_id={} {} session(s) survived revoke", o.grant_id,
                    o.survivors);
    }
    return OkStatus();
  }
  CrashPoint("revoke.failure.after_commit");
  if (o.alert) {
    deps_.metrics.CountRevokeAlert();
    spdlog::error("grant_id={} ALERT: revoke failing for over 5 minutes: {}",
                  o.grant_id, o.failure.ToString());
  } else {
    spdlog::error("grant_id={} revoke failed (attempt {}): {}", o.grant_id,
                  o.attempt, o.failure.ToString());
  }
  return o.failure;
}

std::vector<StatusOr<Grant>> GrantLifecycle::EndExpired(
    const std::vector<Grant>& due) {
  SystemTime now = deps_.clock.Now();
  std::vector<StatusOr<Grant>> out(due.size(), InternalError("not ended"));
  std::vector<ChangeSet> sets;
  std::vector<size_t> which;  // index in `due` of each of `sets`
  std::vector<Grant> endings;
  std::vector<size_t> request_counts;
  for (size_t i = 0; i < due.size(); ++i) {
    const Grant& g = due[i];
    if (g.state != GrantState::kActive) {
      out[i] = AbortedError("grant " + g.id + " is " +
                            std::string(ToString(g.state)));
      continue;
    }
    if (now < g.expires_at) {
      out[i] = AbortedError("grant " + g.id + " has not expired");
      continue;
    }
    StatusOr<std::vector<Request>> requests = deps_.store.RequestsOfGrant(g.id);
    if (!requests.ok()) {
      out[i] = requests.status();
      continue;
    }
    Grant ending;
    sets.push_back(EndChangeSet(g, *requests, EndReason::kExpired, kSystemActor,
                                "", now, ending));
    which.push_back(i);
    endings.push_back(std::move(ending));
    request_counts.push_back(requests->size());
    deps_.index.Remove(g.id);  // deny first, as End does
  }
  std::vector<Status> committed = deps_.CommitEach(sets);
  for (size_t k = 0; k < sets.size(); ++k) {
    const std::string& id = due[which[k]].id;
    if (!committed[k].ok()) {
      RestoreIndex(id);
      out[which[k]] = committed[k];
      continue;
    }
    CrashPoint("end.after_commit");
    deps_.index.Remove(id);  // undoes a Publish() that raced the first one
    for (size_t r = 0; r < request_counts[k]; ++r) {
      deps_.metrics.CountRequestState(RequestStateForEnd(EndReason::kExpired));
    }
    out[which[k]] = std::move(endings[k]);
  }
  return out;
}

std::vector<Status> GrantLifecycle::CompleteRevokes(
    const std::vector<Grant>& pending) {
  std::vector<Status> out(pending.size());
  std::vector<std::optional<RevokeOutcome>> outcomes(pending.size());
  // One queue per connector, each worked by up to kParallelRevokes threads:
  // a slow target does not hold up the others, and none gets more than
  // that many calls at once.
  struct Queue {
    std::vector<size_t> items;
    std::atomic<size_t> next{0};
  };
  std::map<std::string, Queue> queues;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (pending[i].state != GrantState::kRevokePending) {
      out[i] =
          AbortedError("grant " + pending[i].id + " is not revoke_pending");
      continue;
    }
    queues[pending[i].connector].items.push_back(i);
  }
  auto work = [&](Queue& q) {
    for (size_t n = q.next++; n < q.items.size(); n = q.next++) {
      outcomes[q.items[n]] = RevokeInTarget(pending[q.items[n]]);
    }
  };
  std::vector<std::thread> workers;
  for (auto& [name, q] : queues) {
    size_t threads = std::min(kParallelRevokes, q.items.size());
    // The first worker of each queue is this thread when it is the only
    // queue with a single worker: small batches spawn nothing.
    if (queues.size() == 1 && threads == 1) {
      work(q);
      continue;
    }
    for (size_t t = 0; t < threads; ++t) {
      workers.emplace_back([&work, &q] { work(q); });
    }
  }
  for (std::thread& t : workers) t.join();

  std::vector<ChangeSet> sets;
  std::vector<size_t> which;
  for (size_t i = 0; i < pending.size(); ++i) {
    if (!outcomes[i]) continue;
    sets.push_back(std::move(outcomes[i]->cs));
    which.push_back(i);
  }
  std::vector<Status> committed = deps_.CommitEach(sets);
  for (size_t k = 0; k < sets.size(); ++k) {
    out[which[k]] = AfterRevokeCommit(*outcomes[which[k]], committed[k]);
  }
  return out;
}

std::vector<std::string> GrantLifecycle::ActiveSharers(
    const Connector& connector, const std::string& connector_name,
    const GrantSpec& spec) const {
  std::vector<std::string> out;
  SystemTime now = deps_.clock.Now();
  for (const std::string& id : deps_.index.GrantsOfTarget(
           connector_name, spec.target_user, now, deps_.clock.MonotonicNow())) {
    if (id == spec.grant_id) continue;
    StatusOr<Grant> other = deps_.store.GetGrant(id);
    if (!other.ok() || !Allows(*other, now)) continue;
    if (connector.SharesPrivilege(spec, SpecFor(*other))) out.push_back(id);
  }
  return out;
}

GrantLifecycle::RevokeOutcome GrantLifecycle::RevokeFailure(
    const Grant& g, const Status& why) const {
  SystemTime now = deps_.clock.Now();
  Grant retry = g;
  retry.revoke_attempts = g.revoke_attempts + 1;
  retry.next_attempt_at = now + RevokeBackoff(retry.revoke_attempts);
  retry.last_error = why.message();
  retry.generation = g.generation + 1;
  RevokeOutcome out;
  out.grant_id = g.id;
  out.failure = why;
  out.attempt = retry.revoke_attempts;
  out.alert = now - g.revoke_pending_since.value_or(now) >= kRevokeAlertAfter;
  out.cs.grants.push_back({retry, GrantState::kRevokePending});
  out.cs.events.push_back(
      GrantEvent(AuditType::kGrantRevokeFailed, kSystemActor, retry, now,
                 {{"error", why.message()},
                  {"attempt", retry.revoke_attempts},
                  {"next_attempt_at", FormatTime(*retry.next_attempt_at)},
                  {"alert", out.alert}}));
  return out;
}

StatusOr<Request> GrantLifecycle::Extend(
    Request ext, std::optional<RequestState> stored_state,
    std::vector<AuditEvent> leading_events, const std::string& actor) {
  JIT_ASSIGN_OR_RETURN(Grant g, deps_.store.GetGrant(ext.extends));
  SystemTime now = deps_.clock.Now();
  Decision d = Recheck(ext, now);
  std::vector<std::string> reasons =
      d.allow ? std::vector<std::string>{} : d.reasons;
  std::vector<std::string> approval_problems = CheckApprovals(ext);
  reasons.insert(reasons.end(), approval_problems.begin(),
                 approval_problems.end());
  // Checked again here, not only when asked: several extensions approved
  // together must not add up past the cap.
  if (d.allow && g.expires_at + ext.duration - now > d.max_duration) {
    reasons.push_back("extension would leave more than the maximum " +
                      FormatDuration(d.max_duration) + " remaining");
  }
  if (!Allows(g, now))
    reasons.push_back("grant " + g.id + " is no longer active");
  if (!reasons.empty()) {
    return Refuse(std::move(ext), stored_state, std::move(leading_events),
                  actor, reasons);
  }
  auto how = ext.state == RequestState::kPending ? RequestEvent::kAutoApprove
                                                 : RequestEvent::kActivate;
  JIT_ASSIGN_OR_RETURN(RequestState next, NextRequestState(ext.state, how));
  Grant moved = g;
  moved.expires_at = g.expires_at + ext.duration;
  moved.generation = g.generation + 1;
  ext.state = next;
  ext.grant_id = g.id;
  ext.updated_at = now;
  ChangeSet cs;
  cs.requests.push_back({ext, stored_state});
  cs.grants.push_back({moved, GrantState::kActive});
  cs.events = std::move(leading_events);
  for (AuditEvent& e : cs.events) e.grant_id = g.id;
  json data = RequestFacts(ext);
  data["old_expires_at"] = FormatTime(g.expires_at);
  data["expires_at"] = FormatTime(moved.expires_at);
  data["extension_request_id"] = ext.id;
  cs.events.push_back(
      GrantEvent(AuditType::kGrantExtended, actor, moved, now, data));
  JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  CrashPoint("extend.after_commit");
  deps_.metrics.CountRequestState(ext.state);
  if (deps_.index.Lengthen(moved.id, moved.expires_at, ext.duration)) {
    StatusOr<Grant> stored = deps_.store.GetGrant(moved.id);
    if (!stored.ok() || !Allows(*stored, deps_.clock.Now()))
      deps_.index.Remove(moved.id);
  } else {
    Publish(moved);
  }
  // Move the target's own expiry too; if that fails the target ends the
  // grant early, which fails closed.
  if (Connector* c = deps_.connectors.Find(moved.connector)) {
    GrantSpec spec = SpecFor(moved);
    Status s = c->Grant(spec, ConnectorDeadline());
    if (!s.ok()) {
      spdlog::warn("grant_id={} target expiry not moved: {}", moved.id,
                   s.ToString());
    }
    UndoLateGrant(*c, moved, spec);
  }
  return ext;
}

void GrantLifecycle::UndoLateGrant(Connector& c, const Grant& g,
                                   const GrantSpec& spec) {
  // An end committed while the Grant call was on its way may have revoked
  // in the target before that call landed; the target must not be left
  // holding a grant that has ended (revoke is idempotent, so revoking
  // after a revoke still to come is harmless).
  StatusOr<Grant> stored = deps_.store.GetGrant(g.id);
  if (!stored.ok() || stored->state == GrantState::kActive) return;
  if (!ActiveSharers(c, g.connector, spec).empty()) return;
  Status undone = c.Revoke(spec, ConnectorDeadline());
  if (!undone.ok()) {
    spdlog::error("grant_id={} ended during extension; revoke failed: {}", g.id,
                  undone.ToString());
  }
}

void GrantLifecycle::Refresh(const std::string& grant_id) {
  StatusOr<Grant> stored = deps_.store.GetGrant(grant_id);
  SystemTime now = deps_.clock.Now();
  // Unreadable counts as not allowing: error means deny.
  if (!stored.ok() || !Allows(*stored, now)) {
    deps_.index.Remove(grant_id);
    return;
  }
  deps_.index.Put(
      *stored,
      MonoDeadline(stored->expires_at, now, deps_.clock.MonotonicNow()),
      SpecFor(*stored).target_user);
}

Status GrantLifecycle::RebuildIndex() {
  JIT_ASSIGN_OR_RETURN(std::vector<Grant> active, deps_.store.ActiveGrants());
  return RebuildIndex(active);
}

// At start-up this indexes every live grant (a million in `make bench`):
// each entitlement's user template is read once, not once per grant.
Status GrantLifecycle::RebuildIndex(const std::vector<Grant>& grants) {
  SystemTime now = deps_.clock.Now();
  MonoTime mono = deps_.clock.MonotonicNow();
  auto snap = deps_.policies.Get();
  std::map<std::string, std::optional<std::string>, std::less<>> templates;
  deps_.index.Clear();
  deps_.index.Reserve(grants.size());
  for (const Grant& g : grants) {
    if (!Allows(g, now)) continue;
    auto known = templates.find(g.entitlement);
    if (known == templates.end()) {
      const Entitlement* e = snap->policies->FindEntitlement(g.entitlement);
      known = templates
                  .emplace(g.entitlement,
                           e ? UserTemplate(e->params_json) : std::nullopt)
                  .first;
    }
    deps_.index.Put(g, MonoDeadline(g.expires_at, now, mono),
                    TargetUser(g.subject, known->second));
  }
  return OkStatus();
}

}  // namespace jit
