#include "jit/api/routes.h"

#include <charconv>

#include "jit/api/error_response.h"
#include "jit/api/json_codec.h"
#include "jit/api/query_params.h"
#include "jit/api/route_table.h"
#include "jit/base/duration.h"
#include "jit/base/ids.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr size_t kMaxIdempotencyKey = 200;

HttpResponse MethodNotAllowed() {
  HttpResponse r = JsonResponse(
      405,
      {{"error",
        {{"code", "invalid_request"}, {"message", "method not allowed"}}}});
  return r;
}

StatusOr<int> ParseLimit(const HttpRequest& http,
                         std::string_view name = "limit") {
  auto text = http.Query(std::string(name));
  if (!text) return 100;
  int v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size() || v < 1 ||
      v > 1000) {
    return InvalidArgumentError(std::string(name) +
                                " must be a number from 1 to 1000");
  }
  return v;
}

StatusOr<int64_t> ParseSeq(const std::optional<std::string>& text,
                           std::string_view name = "after") {
  if (!text || text->empty()) return int64_t{0};
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size() || v < 0) {
    return InvalidArgumentError(
        std::string(name) + " must be a non-negative event sequence number");
  }
  return v;
}

// Ids reach the store only in their own shape.
Status CheckId(const std::string& id, std::string_view prefix) {
  if (LooksLikeId(id, prefix)) return OkStatus();
  return NotFoundError("no such id \"" + id.substr(0, 80) + "\"");
}

json RequestPage(const Page<RequestView>& page) {
  json items = json::array();
  for (const RequestView& v : page.items) items.push_back(ToJson(v));
  return {{"items", items},
          {"next_cursor",
           page.next_cursor ? json(*page.next_cursor) : json(nullptr)}};
}

HttpResponse CheckAnswer(const StatusOr<CheckResult>& r) {
  if (!r.ok()) return ErrorResponse(r.status());
  json out = {{"allowed", r->allowed}};
  if (r->allowed) {
    out["grant_id"] = r->grant_id;
    out["expires_at"] = FormatTime(*r->expires_at);
  }
  return JsonResponse(200, out);
}

}  // namespace

HttpResponse ApiRoutes::Handle(const HttpRequest& http) const {
  std::vector<std::string> seg = PathSegments(http.path);
  HttpResponse out = Route(http, seg);
  deps_.metrics.CountHttp(out.status);
  return out;
}

HttpResponse ApiRoutes::Route(const HttpRequest& http,
                              const std::vector<std::string>& seg) const {
  StatusOr<const RouteSpec*> route = MatchRoute(http.method, seg);
  bool api = !seg.empty() && seg[0] == "v1";
  if (!route.ok() && !api) {
    if (deps_.console != nullptr && http.method == "GET")
      return deps_.console->Serve(http);
    return ErrorResponse(NotFoundError("no route " + http.path.substr(0, 200)));
  }
  if (Status s = CheckCsrf(http); !s.ok()) return ErrorResponse(s);
  // Everything under /v1 answers 401 before saying whether a route exists.
  std::optional<Principal> who;
  if (!route.ok() || (*route)->access != RouteAccess::kPublic) {
    StatusOr<Principal> p = Authenticate(http);
    if (!p.ok() && deps_.auth_limiter != nullptr) {
      return RefuseFailedAuth(*deps_.auth_limiter, deps_.metrics, http,
                              p.status(), ClaimedJwtSubject(http));
    }
    if (!p.ok()) return ErrorResponse(p.status());
    who = std::move(*p);
  }
  if (!route.ok()) {
    if (route.status().reason() == "method_not_allowed")
      return MethodNotAllowed();
    return ErrorResponse(NotFoundError("no route " + http.path.substr(0, 200)));
  }
  if (Status s = AuthorizeRoute(**route, who); !s.ok()) return ErrorResponse(s);
  static const Principal kNobody;
  return WithIdempotency(**route, who ? *who : kNobody, http, seg);
}

HttpResponse ApiRoutes::WithIdempotency(
    const RouteSpec& route, const Principal& who, const HttpRequest& http,
    const std::vector<std::string>& seg) const {
  auto key = http.Header("idempotency-key");
  // Only state changes are replayed: a stored `check` answer would outlive
  // the grant it reported (DESIGN invariant 1). An answer carrying a fresh
  // secret (a machine token) is never stored: jitd keeps secrets only
  // hashed; a repeated create answers 409 instead.
  if (!route.mutating || !key || route.id == RouteId::kCreateToken ||
      route.id == RouteId::kEnrollTotp ||
      route.id == RouteId::kIssueBreakglassCodes ||
      route.id == RouteId::kActivateBreakglass)
    return Dispatch(route.id, who, http, seg);
  if (key->empty() || key->size() > kMaxIdempotencyKey) {
    return ErrorResponse(
        InvalidArgumentError("Idempotency-Key must be 1 to 200 characters"));
  }
  // The key is bound to the body: the same key with another body is a
  // client bug, answered 409 rather than with the other call's result.
  std::string route_key =
      http.method + " " + http.path + " " + Sha256Hex(http.body);
  auto stored = deps_.store.GetIdempotent(who.name(), route_key, *key);
  if (stored.ok()) {
    HttpResponse r;
    r.status = stored->http_status;
    r.body = stored->body;
    r.headers["Idempotent-Replayed"] = "true";
    return r;
  }
  if (stored.status().code() != StatusCode::kNotFound)
    return ErrorResponse(stored.status());
  HttpResponse r = Dispatch(route.id, who, http, seg);
  if (r.status < 500 && !r.stream) {
    // First answer wins; a concurrent twin that lost the insert is harmless
    // because the state change itself is compare-and-set.
    (void)deps_.store.PutIdempotent(
        {*key, who.name(), route_key, r.status, r.body, deps_.clock.Now()});
  }
  return r;
}

HttpResponse ApiRoutes::Dispatch(RouteId id, const Principal& who,
                                 const HttpRequest& http,
                                 const std::vector<std::string>& seg) const {
  switch (id) {
    case RouteId::kHealthz:
      return JsonResponse(200, {{"status", "ok"}});
    case RouteId::kReadyz: {
      bool store_ok = deps_.store.GetAuditHead().ok();
      bool ready = deps_.ready.load() && store_ok;
      return JsonResponse(ready ? 200 : 503,
                          {{"ready", ready},
                           {"reconciled", deps_.ready.load()},
                           {"store", store_ok}});
    }
    case RouteId::kMetrics: {
      HttpResponse out;
      out.content_type = "text/plain; version=0.0.4";
      out.body = deps_.metrics.Render(deps_.index.size());
      return out;
    }
    case RouteId::kCreateRequest:
      return CreateRequest(who, http);
    case RouteId::kListRequests:
      return ListRequests(who, http);
    case RouteId::kGetRequest: {
      if (Status s = CheckId(seg[2], "req_"); !s.ok()) return ErrorResponse(s);
      auto v = deps_.requests.Get(who, seg[2]);
      return v.ok() ? JsonResponse(200, ToJson(*v)) : ErrorResponse(v.status());
    }
    case RouteId::kApproveRequest:
    case RouteId::kDenyRequest:
    case RouteId::kCancelRequest:
      return Decide(who, http, seg[2], seg[3]);
    case RouteId::kListGrants:
      return ListGrants(who, http);
    case RouteId::kGetGrant: {
      if (Status s = CheckId(seg[2], "grt_"); !s.ok()) return ErrorResponse(s);
      auto g = deps_.requests.GetGrant(who, seg[2]);
      return g.ok() ? JsonResponse(200, ToJson(*g)) : ErrorResponse(g.status());
    }
    case RouteId::kRevokeGrant:
      return EndGrant(who, http, seg[2]);
    case RouteId::kExtendGrant:
      return ExtendGrant(who, http, seg[2]);
    case RouteId::kIssueSshCertificate:
      return SshCertificate(who, http, seg[2]);
    case RouteId::kCheck:
      return Check(who, http);
    case RouteId::kCheckTarget:
      return CheckTarget(who, http);
    case RouteId::kReadAudit:
      return ReadAudit(who, http);
    case RouteId::kVerifyAudit:
      return VerifyAudit(who);
    case RouteId::kSignedCheckpoint:
      return SignedCheckpoint(who, http);
    case RouteId::kAuditPublicKey: {
      auto pem = deps_.audit.PublicKeyPem();
      if (!pem.ok()) return ErrorResponse(pem.status());
      HttpResponse out;
      out.content_type = "text/plain; charset=utf-8";
      out.body = *pem;
      return out;
    }
    case RouteId::kStreamAudit:
      return StreamAudit(who, http);
    case RouteId::kEntitlements:
      return Entitlements(who);
    case RouteId::kReportSummary:
      return Summary(who, http);
    case RouteId::kConnectorCa:
    case RouteId::kConnectorKrl:
      return Connector(seg);
    case RouteId::kCreateToken:
      return CreateToken(who, http);
    case RouteId::kListTokens:
      return ListTokens(who);
    case RouteId::kRevokeToken:
      return RevokeToken(who, seg[2]);
    case RouteId::kMfaStatus:
      return MfaStatus(who);
    case RouteId::kEnrollTotp:
      return EnrollTotp(who, http);
    case RouteId::kConfirmTotp:
      return ConfirmTotp(who, http);
    case RouteId::kResetTotp:
      return ResetTotp(who, seg[3]);
    case RouteId::kSlackActions:
      return SlackActions(http);
    case RouteId::kStartSession:
      return StartSession(http);
    case RouteId::kEndSession:
      return EndSession(http);
    case RouteId::kWhoami:
      return Whoami(who);
    case RouteId::kOidcSignInInfo:
      return OidcSignInInfo();
    case RouteId::kOidcSignInStart:
      return OidcSignInStart(http);
    case RouteId::kOidcSignInCallback:
      return OidcSignInCallback(http);
    case RouteId::kIssueBreakglassCodes:
      return IssueBreakglassCodes(who, http);
    case RouteId::kListBreakglassCodes:
      return ListBreakglassCodes(who);
    case RouteId::kRevokeBreakglassCode:
      return RevokeBreakglassCode(who, seg[3]);
    case RouteId::kActivateBreakglass:
      return ActivateBreakglass(http);
    case RouteId::kListReviews:
      return ListReviews(who, http);
    case RouteId::kSignOffReview: {
      if (Status s = CheckId(seg[2], "req_"); !s.ok()) return ErrorResponse(s);
      return SignOffReview(who, http, seg[2]);
    }
    case RouteId::kRequestHistory: {
      if (Status s = CheckId(seg[2], "req_"); !s.ok()) return ErrorResponse(s);
      return RequestHistory(who, http, seg[2]);
    }
    case RouteId::kExportAudit:
      return ExportAudit(who, http);
    case RouteId::kListPolicies:
      return ListPolicies();
    case RouteId::kExplainPolicy:
      return ExplainPolicy(who, http);
  }
  return ErrorResponse(NotFoundError("no route " + http.path.substr(0, 200)));
}

HttpResponse ApiRoutes::VerifyAudit(const Principal& who) const {
  auto r = deps_.audit.Verify(who);
  if (!r.ok()) return ErrorResponse(r.status());
  if (r->ok)
    return JsonResponse(200, {{"ok", true},
                              {"events", r->events},
                              {"head", r->head},
                              {"checkpoints", r->checkpoints}});
  return JsonResponse(200, {{"ok", false},
                            {"events", r->events},
                            {"first_bad_seq", *r->first_bad_seq},
                            {"reason", r->reason},
                            {"checkpoints", r->checkpoints}});
}

HttpResponse ApiRoutes::CreateRequest(const Principal& who,
                                      const HttpRequest& http) const {
  auto body = JsonBody::Parse(
      http.body, {"entitlement", "duration", "justification", "ticket",
                  "start_at", "emergency", "mfa_code"});
  if (!body.ok()) return ErrorResponse(body.status());
  CreateRequestInput in;
  auto entitlement = body->String("entitlement");
  auto duration = body->String("duration");
  auto justification = body->OptionalString("justification");
  auto ticket = body->OptionalString("ticket");
  auto start_at = body->OptionalString("start_at");
  auto emergency = body->OptionalBool("emergency");
  auto mfa_code = body->OptionalString("mfa_code");
  for (const Status* s :
       {&entitlement.status(), &duration.status(), &justification.status(),
        &ticket.status(), &start_at.status(), &emergency.status(),
        &mfa_code.status()}) {
    if (!s->ok()) return ErrorResponse(*s);
  }
  auto parsed = ParseDuration(*duration);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  in.entitlement = *entitlement;
  in.duration = *parsed;
  in.justification = *justification;
  in.ticket = *ticket;
  in.emergency = *emergency ? Emergency::kYes : Emergency::kNo;
  if (!start_at->empty()) {
    auto t = ParseTime(*start_at);
    if (!t.ok()) return ErrorResponse(t.status());
    in.start_at = *t;
  }
  in.mfa_code = *mfa_code;
  if (auto limited = CodeLimited(who, http, in.mfa_code)) return *limited;
  auto v = deps_.requests.Create(who, in);
  NoteCodeOutcome(who, http, v.status());
  return v.ok() ? JsonResponse(201, ToJson(*v)) : ErrorResponse(v.status());
}

HttpResponse ApiRoutes::ListRequests(const Principal& who,
                                     const HttpRequest& http) const {
  RequestFilter f;
  auto limit = ParseLimit(http);
  if (!limit.ok()) return ErrorResponse(limit.status());
  f.limit = *limit;
  if (auto state = http.Query("state")) {
    auto s = ParseRequestState(*state);
    if (!s.ok()) return ErrorResponse(s.status());
    f.state = *s;
  }
  if (auto subject = http.Query("subject")) f.subject = *subject;
  if (auto cursor = http.Query("cursor")) f.after = *cursor;
  auto page = deps_.requests.List(who, f);
  return page.ok() ? JsonResponse(200, RequestPage(*page))
                   : ErrorResponse(page.status());
}

HttpResponse ApiRoutes::Decide(const Principal& who, const HttpRequest& http,
                               const std::string& id,
                               const std::string& verb) const {
  auto body = JsonBody::Parse(http.body, {"comment", "mfa_code"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto comment = body->OptionalString("comment");
  if (!comment.ok()) return ErrorResponse(comment.status());
  auto code = body->OptionalString("mfa_code");
  if (!code.ok()) return ErrorResponse(code.status());
  if (Status s = CheckId(id, "req_"); !s.ok()) return ErrorResponse(s);
  if (auto limited = CodeLimited(who, http, *code)) return *limited;
  StatusOr<RequestView> v =
      verb == "approve" ? deps_.requests.Approve(who, id, *comment, *code)
      : verb == "deny"  ? deps_.requests.Deny(who, id, *comment, *code)
                        : deps_.requests.Cancel(who, id, *comment);
  NoteCodeOutcome(who, http, v.status());
  return v.ok() ? JsonResponse(200, ToJson(*v)) : ErrorResponse(v.status());
}

HttpResponse ApiRoutes::ListGrants(const Principal& who,
                                   const HttpRequest& http) const {
  GrantFilter f;
  auto limit = ParseLimit(http);
  if (!limit.ok()) return ErrorResponse(limit.status());
  f.limit = *limit;
  if (auto subject = http.Query("subject")) f.subject = *subject;
  if (auto active = http.Query("active")) {
    if (*active != "true" && *active != "false") {
      return ErrorResponse(
          InvalidArgumentError("active must be true or false"));
    }
    f.active_only = *active == "true";
  }
  if (auto cursor = http.Query("cursor")) f.after = *cursor;
  auto page = deps_.requests.ListGrants(who, f);
  if (!page.ok()) return ErrorResponse(page.status());
  json items = json::array();
  for (const Grant& g : page->items) items.push_back(ToJson(g));
  return JsonResponse(
      200, {{"items", items},
            {"next_cursor",
             page->next_cursor ? json(*page->next_cursor) : json(nullptr)}});
}

HttpResponse ApiRoutes::EndGrant(const Principal& who, const HttpRequest& http,
                                 const std::string& id) const {
  auto body = JsonBody::Parse(http.body, {"reason"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto reason = body->OptionalString("reason");
  if (!reason.ok()) return ErrorResponse(reason.status());
  if (Status s = CheckId(id, "grt_"); !s.ok()) return ErrorResponse(s);
  auto g = deps_.requests.EndGrant(who, id, *reason);
  return g.ok() ? JsonResponse(200, ToJson(*g)) : ErrorResponse(g.status());
}

HttpResponse ApiRoutes::ExtendGrant(const Principal& who,
                                    const HttpRequest& http,
                                    const std::string& id) const {
  auto body =
      JsonBody::Parse(http.body, {"duration", "justification", "mfa_code"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto duration = body->String("duration");
  if (!duration.ok()) return ErrorResponse(duration.status());
  auto justification = body->OptionalString("justification");
  if (!justification.ok()) return ErrorResponse(justification.status());
  auto code = body->OptionalString("mfa_code");
  if (!code.ok()) return ErrorResponse(code.status());
  auto parsed = ParseDuration(*duration);
  if (!parsed.ok()) return ErrorResponse(parsed.status());
  if (Status s = CheckId(id, "grt_"); !s.ok()) return ErrorResponse(s);
  if (auto limited = CodeLimited(who, http, *code)) return *limited;
  auto v = deps_.requests.Extend(who, id,
                                 ExtendInput{*parsed, *justification, *code});
  NoteCodeOutcome(who, http, v.status());
  return v.ok() ? JsonResponse(201, ToJson(*v)) : ErrorResponse(v.status());
}

HttpResponse ApiRoutes::Check(const Principal& who,
                              const HttpRequest& http) const {
  auto body = JsonBody::Parse(http.body, {"subject", "entitlement"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto subject = body->String("subject");
  auto entitlement = body->String("entitlement");
  if (!subject.ok()) return ErrorResponse(subject.status());
  if (!entitlement.ok()) return ErrorResponse(entitlement.status());
  return CheckAnswer(deps_.requests.Check(who, *subject, *entitlement));
}

HttpResponse ApiRoutes::CheckTarget(const Principal& who,
                                    const HttpRequest& http) const {
  auto body = JsonBody::Parse(http.body, {"connector", "target_user"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto connector = body->String("connector");
  auto target_user = body->String("target_user");
  if (!connector.ok()) return ErrorResponse(connector.status());
  if (!target_user.ok()) return ErrorResponse(target_user.status());
  return CheckAnswer(deps_.requests.CheckTarget(who, *connector, *target_user));
}

HttpResponse ApiRoutes::ReadAudit(const Principal& who,
                                  const HttpRequest& http) const {
  auto limit = ParseLimit(http);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto after = ParseSeq(http.Query("after"));
  if (!after.ok()) return ErrorResponse(after.status());
  auto filter = ParseAuditFilter(http);
  if (!filter.ok()) return ErrorResponse(filter.status());
  // ?order=newest pages backwards: next_cursor is the next page's ?before=.
  const std::string order = http.Query("order").value_or("oldest");
  if (order != "oldest" && order != "newest") {
    return ErrorResponse(
        InvalidArgumentError("order must be oldest or newest"));
  }
  auto before = ParseSeq(http.Query("before"), "before");
  if (!before.ok()) return ErrorResponse(before.status());
  if (order == "oldest" && *before != 0) {
    return ErrorResponse(InvalidArgumentError("before needs order=newest"));
  }
  if (order == "newest" && *after != 0) {
    return ErrorResponse(InvalidArgumentError("after needs order=oldest"));
  }
  auto page = order == "newest"
                  ? deps_.audit.ReadNewestFirst(who, *before, *limit, *filter)
                  : deps_.audit.Read(who, *after, *limit, *filter);
  if (!page.ok()) return ErrorResponse(page.status());
  json items = json::array();
  for (const AuditEvent& e : page->items) items.push_back(ToJson(e));
  return JsonResponse(
      200, {{"items", items},
            {"next_cursor",
             page->next_cursor ? json(*page->next_cursor) : json(nullptr)}});
}

HttpResponse ApiRoutes::StreamAudit(const Principal& who,
                                    const HttpRequest& http) const {
  auto after =
      ParseSeq(http.Header("last-event-id") ? http.Header("last-event-id")
                                            : http.Query("after"));
  if (!after.ok()) return ErrorResponse(after.status());
  auto type_filter = http.Query("type");
  if (type_filter) {
    if (auto t = ParseAuditType(*type_filter); !t.ok())
      return ErrorResponse(t.status());
  }
  auto subject_filter = http.Query("subject");
  int64_t start = *after;
  // ?latest=N starts a new stream at the newest N events the caller may see
  // (of the ?type= asked for); a reconnect's Last-Event-ID wins over it.
  if (http.Query("latest") && !http.Header("last-event-id")) {
    auto latest = ParseLimit(http, "latest");
    if (!latest.ok()) return ErrorResponse(latest.status());
    AuditFilter only;
    if (type_filter) only.type = *ParseAuditType(*type_filter);
    auto from = deps_.audit.LatestStart(who, *latest, only);
    if (!from.ok()) return ErrorResponse(from.status());
    start = std::max(start, *from);
  }
  HttpResponse r;
  r.content_type = "text/event-stream";
  Principal principal = who;
  r.stream = [this, principal, start, type_filter,
              subject_filter](const StreamWriter& write) {
    int64_t cursor = start;
    // Bounded: a stream lives at most a day; clients reconnect with
    // Last-Event-ID. A comment every 15 s detects gone peers.
    for (int round = 0; round < 24 * 60 * 4; ++round) {
      auto page = deps_.audit.Read(principal, cursor, 1000);
      if (!page.ok()) return;
      for (const AuditEvent& e : page->items) {
        cursor = e.seq;
        if (type_filter && ToString(e.type) != *type_filter) continue;
        if (subject_filter && e.subject != *subject_filter) continue;
        std::string chunk = "id: " + std::to_string(e.seq) +
                            "\nevent: " + std::string(ToString(e.type)) +
                            "\ndata: " + ToJson(e).dump() + "\n\n";
        if (!write(chunk)) return;
      }
      // Everything up to scanned_to was looked at, shown or not visible.
      cursor = std::max(cursor, page->scanned_to);
      if (page->next_cursor) continue;
      deps_.feed.WaitBeyond(cursor, std::chrono::seconds(15));
      if (!write(": keep-alive\n\n")) return;
    }
  };
  return r;
}

HttpResponse ApiRoutes::SignedCheckpoint(const Principal& who,
                                         const HttpRequest& http) const {
  auto seq = ParseSeq(http.Query("seq"), "seq");
  if (!seq.ok()) return ErrorResponse(seq.status());
  auto c = deps_.audit.SignExportBoundary(
      who, *seq, http.Query("boundary").value_or(""),
      http.Query("from").value_or(""), http.Query("to").value_or(""));
  if (!c.ok()) return ErrorResponse(c.status());
  return JsonResponse(200, json::parse(CheckpointToJson(*c)));
}

HttpResponse ApiRoutes::Entitlements(const Principal& who) const {
  json items = json::array();
  for (const Requestable& r :
       deps_.policies.Get()->policies->RequestableBy(who.subject)) {
    items.push_back(ToJson(r));
  }
  return JsonResponse(200, {{"items", items}, {"next_cursor", nullptr}});
}

HttpResponse ApiRoutes::Summary(const Principal& who,
                                const HttpRequest& http) const {
  SystemTime to = deps_.clock.Now();
  SystemTime from = to - std::chrono::hours(24 * 30);
  if (auto text = http.Query("from")) {
    auto t = ParseTime(*text);
    if (!t.ok()) return ErrorResponse(t.status());
    from = *t;
  }
  if (auto text = http.Query("to")) {
    auto t = ParseTime(*text);
    if (!t.ok()) return ErrorResponse(t.status());
    to = *t;
  }
  auto s = deps_.audit.Summary(who, from, to);
  if (!s.ok()) return ErrorResponse(s.status());
  json body = std::move(*s);
  body["from"] = FormatTime(from);
  body["to"] = FormatTime(to);
  return JsonResponse(200, body);
}

HttpResponse ApiRoutes::Connector(const std::vector<std::string>& seg) const {
  bool ca = seg[3] == "ca";
  auto text = ca ? deps_.requests.CaPublicKey(seg[2])
                 : deps_.requests.RevocationList(seg[2]);
  if (!text.ok()) return ErrorResponse(text.status());
  HttpResponse out;
  out.content_type =
      ca ? "text/plain; charset=utf-8" : "application/octet-stream";
  out.body = *text;
  return out;
}

HttpResponse ApiRoutes::SshCertificate(const Principal& who,
                                       const HttpRequest& http,
                                       const std::string& id) const {
  if (Status s = CheckId(id, "grt_"); !s.ok()) return ErrorResponse(s);
  auto body = JsonBody::Parse(http.body, {"public_key", "source_address"});
  if (!body.ok()) return ErrorResponse(body.status());
  auto key = body->String("public_key");
  auto source = body->OptionalString("source_address");
  if (!key.ok()) return ErrorResponse(key.status());
  if (!source.ok()) return ErrorResponse(source.status());
  auto cert = deps_.requests.IssueCertificate(who, id, *key, *source);
  if (!cert.ok()) return ErrorResponse(cert.status());
  return JsonResponse(201, {{"grant_id", id}, {"certificate", *cert}});
}

}  // namespace jit
