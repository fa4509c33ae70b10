// Routes for break-glass: one-time codes, emergency activation with a code,
// and the after-the-fact reviews of their use.
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "jit/api/error_response.h"
#include "jit/api/json_codec.h"
#include "jit/api/routes.h"
#include "jit/base/duration.h"

namespace jit {
namespace {

using nlohmann::json;

json TimeOrNull(const std::optional<SystemTime>& t) {
  return t ? json(FormatTime(*t)) : json(nullptr);
}

json CodeJson(const CodeView& v) {
  const Credential& c = v.credential;
  return {{"id", c.id},
          {"state", ToString(v.state)},
          {"groups", c.groups},
          {"created_by", c.created_by},
          {"created_at", FormatTime(c.created_at)},
          {"expires_at", TimeOrNull(c.expires_at)},
          {"ended_at", TimeOrNull(c.ended_at)},
          {"ended_by", c.ended_at ? json(c.ended_by) : json(nullptr)},
          {"request_id", v.used_for.empty() ? json(nullptr) : json(v.used_for)},
          {"note", c.note}};
}

json ReviewJson(const EmergencyReview& r) {
  bool done = r.state == ReviewState::kSignedOff;
  return {{"request_id", r.request_id},
          {"state", ToString(r.state)},
          {"subject", r.subject},
          {"code_id", r.code_id},
          {"opened_at", FormatTime(r.opened_at)},
          {"signed_off_by", done ? json(r.signed_off_by) : json(nullptr)},
          {"signed_off_at", TimeOrNull(r.signed_off_at)},
          {"comment", done ? json(r.comment) : json(nullptr)}};
}

Status NoBreakglass() {
  return UnavailableError("break-glass is not enabled on this server");
}

}  // namespace

HttpResponse ApiRoutes::IssueBreakglassCodes(const Principal& who,
                                             const HttpRequest& http) const {
  if (deps_.breakglass == nullptr) return ErrorResponse(NoBreakglass());
  auto body = JsonBody::Parse(http.body, {"count", "ttl", "groups", "note"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto count = body->OptionalInt("count", 10, 1, kMaxBreakglassCodesPerIssue);
  auto ttl = body->OptionalString("ttl");
  auto groups = body->OptionalStringList("groups");
  auto note = body->OptionalString("note");
  for (const Status* s :
       {&count.status(), &ttl.status(), &groups.status(), &note.status()}) {
    if (!s->ok()) return ErrorResponse(*s);
  }
  IssueCodesInput in;
  in.count = static_cast<int>(*count);
  if (!ttl->empty()) {
    auto parsed = ParseDuration(*ttl);
    if (!parsed.ok()) return ErrorResponse(parsed.status());
    in.ttl = *parsed;
  }
  in.groups = *groups;
  in.note = *note;
  auto issued = deps_.breakglass->Issue(who, in);
  if (!issued.ok()) return ErrorResponse(issued.status());
  json items = json::array();
  for (size_t i = 0; i < issued->codes.size(); ++i) {
    json item = CodeJson({issued->credentials[i], CodeState::kUnused, ""});
    item["code"] = issued->codes[i];  // the only time it is ever shown
    items.push_back(std::move(item));
  }
  HttpResponse r = JsonResponse(201, {{"items", items}});
  r.headers["Cache-Control"] = "no-store";
  return r;
}

HttpResponse ApiRoutes::ListBreakglassCodes(const Principal& who) const {
  if (deps_.breakglass == nullptr) return ErrorResponse(NoBreakglass());
  auto codes = deps_.breakglass->List(who);
  if (!codes.ok()) return ErrorResponse(codes.status());
  json items = json::array();
  for (const CodeView& v : *codes) items.push_back(CodeJson(v));
  return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
}

HttpResponse ApiRoutes::RevokeBreakglassCode(const Principal& who,
                                             const std::string& id) const {
  if (deps_.breakglass == nullptr) return ErrorResponse(NoBreakglass());
  auto revoked = deps_.breakglass->Revoke(who, id);
  if (!revoked.ok()) return ErrorResponse(revoked.status());
  return JsonResponse(200, CodeJson(*revoked));
}

HttpResponse ApiRoutes::ActivateBreakglass(const HttpRequest& http) const {
  if (deps_.breakglass == nullptr) return ErrorResponse(NoBreakglass());
  auto body =
      JsonBody::Parse(http.body, {"code", "subject", "entitlement", "duration",
                                  "justification", "ticket"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto code = body->String("code");
  auto subject = body->String("subject");
  auto entitlement = body->String("entitlement");
  auto duration = body->String("duration");
  auto justification = body->OptionalString("justification");
  auto ticket = body->OptionalString("ticket");
  for (const Status* s :
       {&code.status(), &subject.status(), &entitlement.status(),
        &duration.status(), &justification.status(), &ticket.status()}) {
    if (!s->ok()) return ErrorResponse(*s);
  }
  auto parsed = ParseDuration(*duration);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  // The code is a guessable secret: while the source or the named subject
  // is limited, even a right code is refused.
  Principal claimed;
  claimed.subject.name = *subject;
  if (auto limited = CodeLimited(claimed, http, *code)) return *limited;
  BreakglassInput in;
  in.code = *code;
  in.subject = *subject;
  in.request.entitlement = *entitlement;
  in.request.duration = *parsed;
  in.request.justification = *justification;
  in.request.ticket = *ticket;
  in.request.emergency = Emergency::kYes;
  auto v = deps_.breakglass->Activate(in);
  if (v.status().code() == StatusCode::kUnauthenticated &&
      deps_.auth_limiter != nullptr) {
    deps_.auth_limiter->RecordFailure(
        AuthRateLimiter::SourceKey(http.remote_address));
    deps_.auth_limiter->RecordFailure(AuthRateLimiter::SubjectKey(*subject));
    deps_.metrics.CountAuthFailure(AuthFailureOutcome::kRejected);
    spdlog::warn("break-glass code refused from {} for {}", http.remote_address,
                 subject->substr(0, 128));
  }
  return v.ok() ? JsonResponse(201, ToJson(*v)) : ErrorResponse(v.status());
}

HttpResponse ApiRoutes::ListReviews(const Principal& who,
                                    const HttpRequest& http) const {
  if (deps_.breakglass == nullptr) return ErrorResponse(NoBreakglass());
  std::optional<ReviewState> state = ReviewState::kOpen;
  if (auto q = http.Query("state")) {
    if (*q == "all") {
      state = std::nullopt;
    } else {
      auto parsed = ParseReviewState(*q);
      if (!parsed.ok()) {
        return ErrorResponse(
            InvalidArgumentError("state must be open, signed_off or all"));
      }
      state = *parsed;
    }
  }
  auto reviews = deps_.breakglass->ListReviews(who, state);
  if (!reviews.ok()) return ErrorResponse(reviews.status());
  json items = json::array();
  for (const EmergencyReview& r : *reviews) items.push_back(ReviewJson(r));
  return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
}

HttpResponse ApiRoutes::SignOffReview(const Principal& who,
                                      const HttpRequest& http,
                                      const std::string& id) const {
  if (deps_.breakglass == nullptr) return ErrorResponse(NoBreakglass());
  auto body = JsonBody::Parse(http.body, {"comment"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto comment = body->String("comment");
  if (!comment.ok()) return ErrorResponse(comment.status());
  auto done = deps_.breakglass->SignOff(who, id, *comment);
  if (!done.ok()) return ErrorResponse(done.status());
  return JsonResponse(200, ReviewJson(*done));
}

}  // namespace jit
