// Routes the web console's Audit, Policies and Approvals pages need beyond
// the core API: a requester's history for approvers, audit export, the
// policies in force and explain.

#include <charconv>

#include "jit/api/error_response.h"
#include "jit/api/json_codec.h"
#include "jit/api/query_params.h"
#include "jit/api/routes.h"
#include "jit/audit/export_formats.h"
#include "jit/base/duration.h"
#include "jit/workflow/policy_explainer.h"

namespace jit {
namespace {

using nlohmann::json;

constexpr int kDefaultHistory = 20;
// Export pages: each Read looks at up to 10,000 events; this bounds one
// export at 100 million events looked at.
constexpr int kMaxExportRounds = 10'000;

json DurationOrNull(const std::optional<Duration>& d) {
  return d ? json(FormatDuration(*d)) : json(nullptr);
}

json PolicyJson(const PolicyInfo& p) {
  return {{"name", p.name},
          {"subjects",
           {{"users", p.subject_users},
            {"groups", p.subject_groups},
            {"tokens", p.subject_tokens}}},
          {"entitlements", p.entitlements},
          {"max_duration", DurationOrNull(p.max_duration)},
          {"require",
           {{"justification_min_chars", p.justification_min_chars},
            {"ticket_pattern",
             p.ticket_pattern.empty() ? json(nullptr) : json(p.ticket_pattern)},
            {"mfa", p.mfa}}},
          {"approval",
           {{"auto", p.auto_approve},
            {"count", p.approval_count},
            {"groups", p.approver_groups},
            {"users", p.approver_users},
            {"mfa", p.approver_mfa},
            {"timeout", DurationOrNull(p.approval_timeout)}}},
          {"emergency",
           {{"allowed", p.emergency_allowed},
            {"max_duration", DurationOrNull(p.emergency_max_duration)},
            {"notify", p.notify}}},
          {"time_windows", p.time_windows}};
}

StatusOr<ExplainInput> ParseExplainInput(const HttpRequest& http) {
  auto body = JsonBody::Parse(http.body,
                              {"subject", "groups", "entitlement", "duration",
                               "justification", "ticket", "emergency", "mfa"});
  if (!body.ok()) return body.status();
  auto subject = body->OptionalString("subject");
  auto groups = body->OptionalStringList("groups");
  auto entitlement = body->String("entitlement");
  auto duration = body->String("duration");
  auto justification = body->OptionalString("justification");
  auto ticket = body->OptionalString("ticket");
  auto emergency = body->OptionalBool("emergency");
  auto mfa = body->OptionalBool("mfa");
  for (const Status* s :
       {&subject.status(), &groups.status(), &entitlement.status(),
        &duration.status(), &justification.status(), &ticket.status(),
        &emergency.status(), &mfa.status()}) {
    if (!s->ok()) return *s;
  }
  auto parsed = ParseDuration(*duration);
  if (!parsed.ok()) return parsed.status();
  ExplainInput in;
  in.subject = *subject;
  if (!groups->empty()) in.groups = *groups;
  in.entitlement = *entitlement;
  in.duration = *parsed;
  in.justification = *justification;
  in.ticket = *ticket;
  in.emergency = *emergency ? Emergency::kYes : Emergency::kNo;
  in.second_factor = *mfa ? SecondFactor::kShown : SecondFactor::kNone;
  return in;
}

json ExplainJson(const ExplainAnswer& a) {
  const PolicyApprovers& approvers = a.approvers;
  const Decision& d = a.decision;
  json out = {
      {"allowed", d.allow},
      {"subject", {{"name", a.subject.name}, {"groups", a.subject.groups}}},
      {"policy", d.allow ? json(d.policy) : json(nullptr)},
      {"reasons", d.reasons},
      {"policy_version", a.version_hash}};
  if (!d.allow) return out;
  out["needs_approval"] = d.needs_approval;
  out["approvals_required"] = d.approvals_required;
  out["approvers"] = {{"groups", approvers.groups}, {"users", approvers.users}};
  out["max_duration"] = FormatDuration(d.max_duration);
  out["approval_timeout"] =
      d.needs_approval ? DurationOrNull(d.approval_timeout) : json(nullptr);
  out["second_factor_required"] = d.second_factor_required;
  out["approver_second_factor_required"] = d.approver_second_factor_required;
  out["notify"] = d.notify;
  return out;
}

StatusOr<int> HistoryLimit(const HttpRequest& http) {
  auto text = http.Query("limit");
  if (!text || text->empty()) return kDefaultHistory;
  int v = 0;
  auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || p != text->data() + text->size() || v < 1 ||
      v > 50) {
    return InvalidArgumentError("limit must be a number from 1 to 50");
  }
  return v;
}

}  // namespace

HttpResponse ApiRoutes::RequestHistory(const Principal& who,
                                       const HttpRequest& http,
                                       const std::string& id) const {
  auto limit = HistoryLimit(http);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto items = deps_.requests.History(who, id, *limit);
  if (!items.ok()) return ErrorResponse(items.status());
  json out = json::array();
  for (const RequestView& v : *items) out.push_back(ToJson(v));
  return JsonResponse(200, {{"items", out}, {"next_cursor", nullptr}});
}

HttpResponse ApiRoutes::ExportAudit(const Principal& who,
                                    const HttpRequest& http) const {
  const std::string format = http.Query("format").value_or("jsonl");
  if (format != "jsonl" && format != "csv") {
    return ErrorResponse(InvalidArgumentError("format must be jsonl or csv"));
  }
  auto filter = ParseAuditFilter(http);
  if (!filter.ok()) return ErrorResponse(filter.status());
  const bool csv = format == "csv";
  HttpResponse r;
  r.content_type =
      csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8";
  r.headers["Content-Disposition"] =
      std::string("attachment; filename=") +
      (csv ? "jitd-audit.csv" : "jitd-audit.jsonl");
  r.headers["Cache-Control"] = "no-store";
  Principal principal = who;
  AuditFilter f = *filter;
  r.stream = [this, principal, f, csv](const StreamWriter& write) {
    if (csv && !write(CsvHeader())) return;
    int64_t cursor = 0;
    for (int round = 0; round < kMaxExportRounds; ++round) {
      auto page = deps_.audit.Read(principal, cursor, 1000, f);
      if (!page.ok()) return;  // an unfinished body: the client sees it cut
      std::string chunk;
      for (const AuditEvent& e : page->items)
        chunk += csv ? CsvRow(e) : AuditEventJson(e) + "\n";
      if (!chunk.empty() && !write(chunk)) return;
      if (!page->next_cursor) return;
      cursor = std::max(page->scanned_to, cursor + 1);
    }
  };
  return r;
}

HttpResponse ApiRoutes::ListPolicies() const {
  std::shared_ptr<const PolicySnapshot> snap = deps_.policies.Get();
  json entitlements = json::array();
  for (const Entitlement& e : snap->policies->entitlements()) {
    entitlements.push_back({{"name", e.name},
                            {"description", e.description},
                            {"connector", e.connector},
                            {"max_duration", FormatDuration(e.max_duration)}});
  }
  json policies = json::array();
  for (const PolicyInfo& p : snap->policies->Policies())
    policies.push_back(PolicyJson(p));
  return JsonResponse(200, {{"version", snap->policies->version_hash()},
                            {"entitlements", entitlements},
                            {"policies", policies}});
}

HttpResponse ApiRoutes::ExplainPolicy(const Principal& who,
                                      const HttpRequest& http) const {
  auto in = ParseExplainInput(http);
  if (!in.ok()) return ErrorResponse(in.status());
  PolicyExplainer explainer(deps_.policies, deps_.clock);
  auto answer = explainer.Explain(who, *in);
  if (!answer.ok()) return ErrorResponse(answer.status());
  return JsonResponse(200, ExplainJson(*answer));
}

}  // namespace jit
