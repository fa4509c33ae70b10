#include "jit/workflow/breakglass_service.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "jit/base/duration.h"
#include "jit/base/ids.h"
#include "jit/base/sha256.h"
#include "jit/base/status_macros.h"
#include "jit/workflow/events.h"
#include "jit/workflow/token_service.h"

namespace jit {
namespace {

using nlohmann::json;

// Crockford's base32: no I, L, O or U, so a code read off paper is typed
// right. 20 symbols of 5 bits: 100 bits, far beyond guessing at the
// failed-authentication rate limit.
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
constexpr size_t kCodeSymbols = 20;
constexpr size_t kGroupSymbols = 5;
constexpr size_t kMaxTypedCode = 64;
constexpr size_t kMaxSubjectBytes = 128;
constexpr size_t kMaxGroups = 32;
constexpr size_t kMaxNoteBytes = 1024;
constexpr size_t kMaxTextBytes = 4096;
constexpr size_t kMaxTicketBytes = 256;
constexpr int kMaxListedReviews = 1000;
constexpr int kMaxReviewsScanned = 100'000;

Status InvalidCode() {
  return UnauthenticatedError(
      "break-glass code is not valid (unknown, used, revoked or expired)");
}

// A fresh code, "XXXXX-XXXXX-XXXXX-XXXXX".
std::string NewCode() {
  std::string hex = RandomHex(kCodeSymbols);
  std::string code;
  for (size_t i = 0; i < kCodeSymbols; ++i) {
    if (i > 0 && i % kGroupSymbols == 0) code += '-';
    int byte = std::stoi(hex.substr(2 * i, 2), nullptr, 16);
    code += kAlphabet[byte % kAlphabet.size()];  // 256 % 32 == 0: uniform
  }
  return code;
}

Status CheckSubjectName(const std::string& name) {
  if (name.empty() || name.size() > kMaxSubjectBytes) {
    return InvalidArgumentError("subject must be 1 to 128 bytes");
  }
  bool printable = std::all_of(name.begin(), name.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
  });
  if (!printable) {
    return InvalidArgumentError(
        "subject may not hold spaces or control characters");
  }
  return OkStatus();
}

Status CheckRequestInput(const CreateRequestInput& in) {
  if (in.entitlement.empty()) {
    return InvalidArgumentError("entitlement is required");
  }
  if (in.duration < std::chrono::seconds(1)) {
    return InvalidArgumentError("duration must be at least 1s");
  }
  if (in.justification.size() > kMaxTextBytes) {
    return InvalidArgumentError("justification is longer than 4096 bytes");
  }
  if (in.ticket.size() > kMaxTicketBytes) {
    return InvalidArgumentError("ticket is longer than 256 bytes");
  }
  if (in.start_at) {
    return InvalidArgumentError("an emergency starts now: no start_at");
  }
  return OkStatus();
}

AuditEvent CodeEvent(AuditType type, const Principal& who, SystemTime now,
                     json data) {
  AuditEvent e;
  e.time = now;
  e.type = type;
  e.actor = who.name();
  e.data = data.dump();
  return e;
}

}  // namespace

std::string_view ToString(CodeState s) {
  switch (s) {
    case CodeState::kUnused:
      return "unused";
    case CodeState::kUsed:
      return "used";
    case CodeState::kRevoked:
      return "revoked";
    case CodeState::kExpired:
      return "expired";
  }
  return "unknown";
}

std::string BreakglassService::NormalizeCode(std::string_view typed) {
  if (typed.size() > kMaxTypedCode) return "";
  std::string out;
  for (char c : typed) {
    if (c == '-' || c == ' ') continue;
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (c == 'O') c = '0';
    if (c == 'I' || c == 'L') c = '1';
    if (kAlphabet.find(c) == std::string_view::npos) return "";
    out += c;
  }
  return out.size() == kCodeSymbols ? out : "";
}

StatusOr<IssuedCodes> BreakglassService::Issue(const Principal& who,
                                               const IssueCodesInput& in) {
  if (!who.admin) {
    return PermissionDeniedError("break-glass codes are issued by admins",
                                 "forbidden");
  }
  if (in.count < 1 || in.count > kMaxBreakglassCodesPerIssue) {
    return InvalidArgumentError("count must be 1 to 100");
  }
  if (in.ttl < std::chrono::hours(1) || in.ttl > kMaxBreakglassTtl) {
    return InvalidArgumentError("ttl must be from 1h to 730d");
  }
  if (in.groups.size() > kMaxGroups) {
    return InvalidArgumentError("at most 32 groups");
  }
  for (const std::string& g : in.groups) {
    if (g.empty() || g.size() > kMaxSubjectBytes) {
      return InvalidArgumentError("a group name must be 1 to 128 bytes");
    }
  }
  if (in.note.size() > kMaxNoteBytes) {
    return InvalidArgumentError("note is longer than 1024 bytes");
  }
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  IssuedCodes out;
  ChangeSet cs;
  std::vector<std::string> ids;
  for (int i = 0; i < in.count; ++i) {
    std::string code = NewCode();
    Credential c;
    c.kind = CredentialKind::kBreakglassCode;
    c.id = NewId("bgc_");
    c.secret_sha256 = Sha256Hex(NormalizeCode(code));
    c.groups = in.groups;
    c.created_by = who.name();
    c.created_at = now;
    c.expires_at = TruncateToMillis(now + in.ttl);
    c.note = in.note;
    cs.credentials.push_back({c, CredentialOp::kInsert});
    ids.push_back(c.id);
    out.credentials.push_back(std::move(c));
    out.codes.push_back(std::move(code));
  }
  cs.events.push_back(CodeEvent(
      AuditType::kBreakglassIssued, who, now,
      {{"count", in.count},
       {"ids", ids},
       {"groups", in.groups},
       {"expires_at", FormatTime(*out.credentials.front().expires_at)},
       {"note", in.note}}));
  JIT_RETURN_IF_ERROR(deps_.Commit(cs));
  return out;
}

StatusOr<std::vector<CodeView>> BreakglassService::List(const Principal& who) {
  if (!who.ReadsAll()) {
    return PermissionDeniedError(
        "break-glass codes are listed for admins and auditors", "forbidden");
  }
  JIT_ASSIGN_OR_RETURN(
      std::vector<Credential> codes,
      deps_.store.ListCredentials(CredentialKind::kBreakglassCode));
  // Every use opened a review in the same transaction, so a code ended
  // without one was voided.
  JIT_ASSIGN_OR_RETURN(
      std::vector<EmergencyReview> reviews,
      deps_.store.ListReviews(std::nullopt, kMaxReviewsScanned));
  std::map<std::string, std::string> used_for;  // code id -> request id
  for (const EmergencyReview& r : reviews) used_for[r.code_id] = r.request_id;
  SystemTime now = deps_.clock.Now();
  std::vector<CodeView> out;
  for (Credential& c : codes) {
    CodeView v;
    if (auto it = used_for.find(c.id); it != used_for.end()) {
      v.state = CodeState::kUsed;
      v.used_for = it->second;
    } else if (c.ended_at) {
      v.state = CodeState::kRevoked;
    } else if (c.expires_at && now >= *c.expires_at) {
      v.state = CodeState::kExpired;
    }
    v.credential = std::move(c);
    out.push_back(std::move(v));
  }
  return out;
}

StatusOr<CodeView> BreakglassService::Revoke(const Principal& who,
                                             const std::string& id) {
  if (!who.admin) {
    return PermissionDeniedError("break-glass codes are revoked by admins",
                                 "forbidden");
  }
  JIT_ASSIGN_OR_RETURN(Credential c, deps_.store.GetCredential(
                                         CredentialKind::kBreakglassCode, id));
  if (c.ended_at) {
    return AbortedError("break-glass code " + id +
                        " is already used or revoked");
  }
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  c.ended_at = now;
  c.ended_by = who.name();
  ChangeSet cs;
  cs.credentials.push_back({c, CredentialOp::kEnd});
  cs.events.push_back(
      CodeEvent(AuditType::kBreakglassRevoked, who, now, {{"id", id}}));
  Status committed = deps_.Commit(cs);
  if (committed.code() == StatusCode::kAborted) {
    return AbortedError("break-glass code " + id +
                        " is already used or revoked");
  }
  JIT_RETURN_IF_ERROR(committed);
  return CodeView{c, CodeState::kRevoked, ""};
}

StatusOr<Credential> BreakglassService::LiveCode(const std::string& code,
                                                 SystemTime now) const {
  std::string normal = NormalizeCode(code);
  if (normal.empty()) return InvalidCode();
  StatusOr<Credential> c =
      deps_.store.FindCredentialBySecret(Sha256Hex(normal));
  if (c.status().code() == StatusCode::kNotFound) return InvalidCode();
  JIT_RETURN_IF_ERROR(c.status());
  if (c->kind != CredentialKind::kBreakglassCode || c->ended_at ||
      (c->expires_at && now >= *c->expires_at)) {
    return InvalidCode();
  }
  return c;
}

StatusOr<Subject> BreakglassService::SubjectFor(const std::string& name,
                                                const Credential& code,
                                                SystemTime now) const {
  // A machine token's name is never a person using break-glass.
  StatusOr<Credential> machine =
      deps_.store.GetCredential(CredentialKind::kMachineToken, name);
  if (machine.ok()) {
    return PermissionDeniedError(
        name + " is a machine token; break-glass is for people", "forbidden");
  }
  if (machine.status().code() != StatusCode::kNotFound) {
    return machine.status();
  }
  if (std::optional<Subject> known = lifecycle_.KnownSubject(name, name, now)) {
    return *known;
  }
  if (code.groups.empty()) {
    return FailedPreconditionError(
        "policy does not allow this request", "policy_denied",
        {"subject " + name +
         " is not known to jitd now and this code vouches for no groups"});
  }
  return Subject{name, name, code.groups};
}

StatusOr<RequestView> BreakglassService::Activate(const BreakglassInput& in) {
  JIT_RETURN_IF_ERROR(CheckSubjectName(in.subject));
  JIT_RETURN_IF_ERROR(CheckRequestInput(in.request));
  SystemTime now = deps_.clock.Now();
  JIT_ASSIGN_OR_RETURN(Credential code, LiveCode(in.code, now));
  JIT_ASSIGN_OR_RETURN(Subject subject, SubjectFor(in.subject, code, now));

  AccessAsk ask;
  ask.subject = subject;
  ask.entitlement = in.request.entitlement;
  ask.duration = in.request.duration;
  ask.justification = in.request.justification;
  ask.ticket = in.request.ticket;
  ask.emergency = Emergency::kYes;
  ask.second_factor = SecondFactor::kShown;  // the code is one
  auto snap = deps_.policies.Get();
  Decision d = snap->policies->Evaluate(ask, now);
  if (!d.allow) {
    AuditEvent e;
    e.time = now;
    e.type = AuditType::kRequestRejected;
    e.actor = subject.name;
    e.subject = subject.name;
    e.data = json{{"entitlement", in.request.entitlement},
                  {"duration", FormatDuration(in.request.duration)},
                  {"justification", in.request.justification},
                  {"ticket", in.request.ticket},
                  {"emergency", true},
                  {"breakglass", true},
                  {"code_id", code.id},
                  {"reasons", d.reasons},
                  {"at", "breakglass"}}
                 .dump();
    ChangeSet cs;
    cs.events.push_back(std::move(e));
    JIT_RETURN_IF_ERROR(deps_.Commit(cs));
    return FailedPreconditionError("policy does not allow this request",
                                   "policy_denied", d.reasons);
  }

  Request r;
  r.id = NewId("req_");
  r.subject = subject.name;
  r.person = subject.person.empty() ? subject.name : subject.person;
  r.subject_groups = subject.groups;
  r.entitlement = in.request.entitlement;
  r.duration = in.request.duration;
  r.justification = in.request.justification;
  r.ticket = in.request.ticket;
  r.emergency = Emergency::kYes;
  r.state = RequestState::kPending;
  r.policy = d.policy;
  r.approvals_required = 0;  // the code stands in for the approvers
  r.created_at = now;
  r.updated_at = now;
  r.binding = RequestBinding(r);

  json facts = RequestFacts(r);
  facts["approvals_required"] = 0;
  facts["subject_groups"] = r.subject_groups;
  facts["breakglass"] = true;
  facts["code_id"] = code.id;
  std::vector<AuditEvent> events;
  events.push_back(
      RequestEvent(AuditType::kRequestCreated, r.subject, r, now, facts));
  events.push_back(RequestEvent(AuditType::kEmergencyUsed, r.subject, r, now,
                                {{"notify", d.notify},
                                 {"justification", r.justification},
                                 {"ticket", r.ticket},
                                 {"breakglass", true},
                                 {"code_id", code.id},
                                 {"review", "open"}}));
  events.push_back(RequestEvent(AuditType::kRequestApproved, code.id, r, now,
                                {{"breakglass", true}, {"policy", r.policy}}));

  ActivationExtras extras;
  Credential used = code;
  used.ended_at = TruncateToMillis(now);
  used.ended_by = r.subject;
  extras.credentials.push_back({used, CredentialOp::kEnd});
  EmergencyReview review;
  review.request_id = r.id;
  review.subject = r.subject;
  review.person = r.person;
  review.code_id = code.id;
  review.opened_at = now;
  extras.reviews.push_back({review, ReviewOp::kOpen});
  extras.eligible_as = subject;

  StatusOr<Request> out =
      lifecycle_.Activate(std::move(r), std::nullopt, std::move(events),
                          subject.name, std::move(extras));
  // Another activation used the code first.
  if (out.status().code() == StatusCode::kAborted) return InvalidCode();
  JIT_RETURN_IF_ERROR(out.status());
  return RequestView{std::move(*out), {}};
}

StatusOr<std::vector<EmergencyReview>> BreakglassService::ListReviews(
    const Principal& who, std::optional<ReviewState> state) {
  if (!who.ReadsAll()) {
    return PermissionDeniedError("reviews are for auditors and admins",
                                 "forbidden");
  }
  return deps_.store.ListReviews(state, kMaxListedReviews);
}

StatusOr<EmergencyReview> BreakglassService::SignOff(
    const Principal& who, const std::string& request_id,
    const std::string& comment) {
  if (!who.ReadsAll()) {
    return PermissionDeniedError(
        "break-glass reviews are signed off by auditors and admins",
        "forbidden");
  }
  std::string_view trimmed = comment;
  while (!trimmed.empty() &&
         std::isspace(static_cast<unsigned char>(trimmed.front()))) {
    trimmed.remove_prefix(1);
  }
  if (trimmed.empty()) {
    return InvalidArgumentError("a sign-off needs a comment: what you checked");
  }
  if (comment.size() > kMaxTextBytes) {
    return InvalidArgumentError("comment is longer than 4096 bytes");
  }
  JIT_ASSIGN_OR_RETURN(EmergencyReview review,
                       deps_.store.GetReview(request_id));
  if (who.IsPerson(review.subject, review.person)) {
    return PermissionDeniedError(
        "you used this break-glass code; someone else must sign it off",
        "self_review");
  }
  if (review.state != ReviewState::kOpen) {
    return AbortedError("the review of " + request_id + " is signed off");
  }
  SystemTime now = TruncateToMillis(deps_.clock.Now());
  review.state = ReviewState::kSignedOff;
  review.signed_off_by = who.name();
  review.signed_off_by_person =
      who.subject.person.empty() ? who.name() : who.subject.person;
  review.signed_off_at = now;
  review.comment = comment;
  AuditEvent e;
  e.time = now;
  e.type = AuditType::kEmergencyReviewed;
  e.actor = who.name();
  e.subject = review.subject;
  e.request_id = request_id;
  e.data = json{{"code_id", review.code_id},
                {"used_by", review.subject},
                {"opened_at", FormatTime(review.opened_at)},
                {"comment", comment}}
               .dump();
  ChangeSet cs;
  cs.reviews.push_back({review, ReviewOp::kSignOff});
  cs.events.push_back(std::move(e));
  Status committed = deps_.Commit(cs);
  if (committed.code() == StatusCode::kAborted) {
    return AbortedError("the review of " + request_id + " is signed off");
  }
  JIT_RETURN_IF_ERROR(committed);
  return review;
}

}  // namespace jit
