#include "jit/cli/evidence_pack.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <utility>

#include "jit/base/duration.h"
#include "jit/base/html.h"

namespace jit {
namespace {

struct Control {
  const char* id;
  const char* asks;
  std::vector<const char*> types;  // events that answer it
};

// The controls auditors cite and the events in the log that answer them.
const std::vector<Control>& Controls() {
  static const std::vector<Control> kControls = {
      {"SOC 2 CC6.1",
       "Logical access is granted under defined rules: which policy allowed "
       "each elevation, in which version of the policy file.",
       {"policy.loaded", "request.created", "request.rejected"}},
      {"SOC 2 CC6.2",
       "Access is authorised before it is given: who approved, when, and "
       "that activation followed the approval.",
       {"request.approved", "request.denied", "grant.activated"}},
      {"SOC 2 CC6.3",
       "Access is removed when no longer needed: grants ended on time, "
       "sessions in the target ended, failed removals retried.",
       {"grant.expired", "grant.revoked", "grant.sessions_killed",
        "grant.revoke_failed"}},
      {"PCI DSS 7.2",
       "Least privilege and need to know: every elevation names a purpose "
       "(justification, ticket) and lasts a bounded time.",
       {"request.created", "grant.activated", "grant.extended"}},
      {"PCI DSS 10.2",
       "Audit logs record privileged actions: what was done under each "
       "grant in the target, and emergency access.",
       {"grant.activity", "grant.credential_issued", "emergency.used"}},
      {"HIPAA 164.312(b)",
       "Audit controls: the record is complete and unaltered, proven by "
       "the hash chain and signed checkpoints checked below.",
       {"audit.checkpoint"}},
      {"SOX ITGC",
       "Changes to access are approved by someone other than the "
       "requester; standing access is reviewed.",
       {"request.approved", "drift.found"}},
      {"GDPR art. 32",
       "Security of processing: break-glass use is recorded and reviewed, "
       "and standing privileges are found.",
       {"emergency.used", "drift.found", "audit.checkpoint"}},
  };
  return kControls;
}

// `object[key]` when it is text; "" for anything else (the log may be
// tampered: no field is trusted to have its type).
std::string Str(const Json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t Int(const Json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it != object.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

const Json& Member(const Json& object, const char* key) {
  static const Json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(key);
  return it == object.end() ? kNull : *it;
}

// "10:00:00" of "2026-10-01T10:00:00.000Z"; the text itself if shorter.
std::string TimeOfDay(const std::string& time) {
  return time.size() >= 19 ? time.substr(11, 8) : time;
}

std::string Esc(const Json& value) {
  if (value.is_string()) return HtmlEscape(value.get<std::string>());
  if (value.is_null()) return "";
  return HtmlEscape(value.dump());
}

std::string Field(const Json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "";
  return Esc(object[key]);
}

// A horizontal bar chart of `bars` (label, value) as inline SVG.
std::string BarChart(const std::string& title,
                     const std::vector<std::pair<std::string, int64_t>>& bars) {
  constexpr int kRow = 22, kLabel = 170, kWidth = 560;
  int64_t max = 1;
  for (const auto& [label, v] : bars) max = std::max(max, v);
  const int height = static_cast<int>(bars.size()) * kRow + 30;
  std::string svg = fmt::format(
      "<figure><svg role=\"img\" aria-label=\"{0}\" width=\"{1}\" "
      "height=\"{2}\" viewBox=\"0 0 {1} {2}\">",
      HtmlEscape(title), kWidth, height);
  int y = 8;
  for (const auto& [label, v] : bars) {
    const int w = static_cast<int>((kWidth - kLabel - 60) * v / max);
    svg += fmt::format(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" class=\"l\">{}</text>"
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\" class=\"b\"/>"
        "<text x=\"{}\" y=\"{}\" class=\"v\">{}</text>",
        kLabel - 8, y + 12, HtmlEscape(label.substr(0, 28)), kLabel, y,
        std::max(w, 1), kLabel + w + 6, y + 12, v);
    y += kRow;
  }
  if (bars.empty()) {
    svg += "<text x=\"10\" y=\"20\" class=\"l\">nothing in this period</text>";
  }
  svg += fmt::format("</svg><figcaption>{}</figcaption></figure>",
                     HtmlEscape(title));
  return svg;
}

// Events per day of `types`, as a column chart.
std::string DailyChart(const std::vector<Json>& events) {
  std::map<std::string, int64_t> per_day;
  for (const Json& e : events) {
    const std::string type = Str(e, "type");
    if (type != "request.created") continue;
    per_day[Str(e, "time").substr(0, 10)]++;
  }
  constexpr int kHeight = 140, kCol = 18;
  int64_t max = 1;
  for (const auto& [day, n] : per_day) max = std::max(max, n);
  const int width = std::max<int>(static_cast<int>(per_day.size()) * kCol, 200);
  std::string svg = fmt::format(
      "<figure><svg role=\"img\" aria-label=\"requests per day\" "
      "width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\">",
      width + 20, kHeight + 30);
  int x = 10;
  for (const auto& [day, n] : per_day) {
    const int h = static_cast<int>((kHeight - 10) * n / max);
    svg += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"b\">"
        "<title>{}: {}</title></rect>",
        x, kHeight - h, kCol - 4, std::max(h, 1), HtmlEscape(day), n);
    x += kCol;
  }
  if (!per_day.empty()) {
    svg += fmt::format(
        "<text x=\"10\" y=\"{0}\" class=\"l\">{1}</text>"
        "<text x=\"{2}\" y=\"{0}\" text-anchor=\"end\" class=\"l\">{3}</text>",
        kHeight + 20, HtmlEscape(per_day.begin()->first), x,
        HtmlEscape(per_day.rbegin()->first));
  }
  svg += "</svg><figcaption>Requests per day (UTC)</figcaption></figure>";
  return svg;
}

std::vector<std::pair<std::string, int64_t>> Bars(const Json& rows,
                                                  const char* label,
                                                  const char* value) {
  std::vector<std::pair<std::string, int64_t>> out;
  if (!rows.is_array()) return out;
  for (const Json& row : rows) {
    if (out.size() == 15) break;
    out.emplace_back(Str(row, label), Int(row, value));
  }
  return out;
}

// One row per grant: what the request said, who approved, how it ended.
std::string GrantsTable(const std::vector<Json>& events) {
  struct Row {
    std::string request, subject, entitlement, why, ticket, approvers, start,
        end, how;
  };
  std::map<std::string, Row> by_request;
  std::vector<std::string> order;
  for (const Json& e : events) {
    const std::string rid = Str(e, "request_id");
    if (rid.empty()) continue;
    const std::string type = Str(e, "type");
    const Json data = Member(e, "data");
    if (!by_request.count(rid)) order.push_back(rid);
    Row& r = by_request[rid];
    r.request = rid;
    if (type == "request.created") {
      r.subject = Str(e, "subject");
      r.entitlement = Str(data, "entitlement");
      r.why = Str(data, "justification");
      r.ticket = Str(data, "ticket");
    } else if (type == "request.approved") {
      std::string who =
          Str(e, "actor") == "policy" ? "auto (policy)" : Str(e, "actor");
      r.approvers += (r.approvers.empty() ? "" : ", ") + who + " " +
                     TimeOfDay(Str(e, "time"));
    } else if (type == "grant.activated") {
      r.start = Str(data, "starts_at").empty() ? Str(e, "time")
                                               : Str(data, "starts_at");
    } else if (type == "grant.expired" || type == "grant.revoked") {
      r.end = Str(e, "time");
      r.how = Str(data, "ended_reason");
    }
  }
  std::string html =
      "<table><thead><tr><th>Request</th><th>Who</th><th>Entitlement</th>"
      "<th>Why</th><th>Ticket</th><th>Approved by</th><th>Began</th>"
      "<th>Ended</th><th>How</th></tr></thead><tbody>";
  int shown = 0;
  for (const std::string& rid : order) {
    const Row& r = by_request[rid];
    if (r.start.empty()) continue;  // never became a grant
    if (++shown > 500) break;
    html += fmt::format(
        "<tr><td class=\"m\">{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        HtmlEscape(r.request.substr(0, 12)), HtmlEscape(r.subject),
        HtmlEscape(r.entitlement), HtmlEscape(r.why), HtmlEscape(r.ticket),
        HtmlEscape(r.approvers), HtmlEscape(r.start), HtmlEscape(r.end),
        HtmlEscape(r.how.empty() ? "still active" : r.how));
  }
  html += "</tbody></table>";
  if (shown == 0) html = "<p>No grants in this period.</p>";
  return html;
}

constexpr const char* kStyle = R"(
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#1d2330;padding:0 1rem}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:1px solid #d5dae3;padding-bottom:.2rem}
.meta{color:#5b6475}.ok{background:#e3f6e8;border:1px solid #63b37a}.bad{background:#fde7e7;border:1px solid #d04a4a}
.verdict{padding:.8rem 1rem;border-radius:6px;margin:1rem 0}.cards{display:flex;flex-wrap:wrap;gap:.8rem}
.card{border:1px solid #d5dae3;border-radius:6px;padding:.6rem .9rem;min-width:140px}.card b{display:block;font-size:1.4rem}
table{border-collapse:collapse;width:100%;font-size:12.5px}th,td{border-bottom:1px solid #e5e8ee;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#f3f5f8}.m{font-family:ui-monospace,monospace}figure{margin:1rem 0}figcaption{color:#5b6475;font-size:12px}
svg .b{fill:#3f6fd8}svg .l,svg .v{font-size:11px;fill:#1d2330}.charts{display:flex;flex-wrap:wrap;gap:2rem}
)";

}  // namespace

std::string EvidenceHtml(const EvidenceInput& in) {
  const Json& r = in.report;
  std::map<std::string, std::vector<int64_t>> seqs_by_type;
  for (const Json& e : in.events)
    seqs_by_type[Str(e, "type")].push_back(Int(e, "seq"));

  std::string html = fmt::format(
      "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src "
      "'none'; style-src 'unsafe-inline'\">"
      "<title>jitd evidence {} to {}</title><style>{}</style></head><body>",
      HtmlEscape(in.from), HtmlEscape(in.to), kStyle);
  html += fmt::format(
      "<h1>Privileged access evidence</h1><p class=\"meta\">Period {} to {} "
      "(UTC) &middot; generated {} from {} &middot; signing key {}</p>",
      HtmlEscape(in.from), HtmlEscape(in.to), HtmlEscape(in.generated_at),
      HtmlEscape(in.server), HtmlEscape(in.key_id));
  const ExportVerdict& v = in.verdict;
  if (v.ok) {
    html += fmt::format(
        "<div class=\"verdict ok\"><b>Audit record verified.</b> {} events "
        "(seq {} to {}) form an unbroken hash chain between a signed start "
        "and a signed end; {} signed checkpoints inside it hold. The file "
        "audit.jsonl beside this page can be checked again with "
        "<code>jit audit verify --offline audit.jsonl --pubkey "
        "audit-pubkey.pem</code>.</div>",
        v.events, v.first_seq, v.last_seq, v.checkpoints);
  } else {
    html += fmt::format(
        "<div class=\"verdict bad\"><b>Audit record NOT verified</b> at seq "
        "{} (line {}): {}</div>",
        v.first_bad_seq ? std::to_string(*v.first_bad_seq) : "-", v.bad_line,
        HtmlEscape(v.reason));
  }
  auto card = [](const std::string& label, const std::string& value) {
    return fmt::format("<div class=\"card\"><b>{}</b>{}</div>",
                       HtmlEscape(value), HtmlEscape(label));
  };
  const Json approve = Member(r, "seconds_to_approve");
  const Json latency = Member(r, "revoke_latency_ms");
  html += "<div class=\"cards\">";
  html += card("grants", std::to_string(Int(r, "grants")));
  html += card("refused by policy",
               std::to_string(Int(Member(r, "requests"), "rejected")));
  html += card("emergency uses", std::to_string(Int(r, "emergency_uses")));
  const int64_t to_approve = Int(approve, "p50");
  html +=
      card("median time to approve",
           to_approve < 1 ? "under 1s"
                          : FormatDuration(std::chrono::seconds(to_approve)));
  const int64_t slowest = Int(latency, "max");
  html += card("slowest revoke",
               slowest < 1000
                   ? std::to_string(slowest) + " ms"
                   : FormatDuration(std::chrono::seconds(slowest / 1000)));
  html += card("standing privileges found",
               std::to_string(Member(r, "standing_privileges").size()));
  html += "</div>";

  html += "<h2>Activity</h2><div class=\"charts\">";
  html += DailyChart(in.events);
  html += BarChart("Grants per entitlement",
                   Bars(Member(r, "by_entitlement"), "entitlement", "grants"));
  html += BarChart("Requests per person",
                   Bars(Member(r, "by_user"), "subject", "requests"));
  html += BarChart("Decisions per approver",
                   Bars(Member(r, "by_approver"), "approver", "decisions"));
  html += "</div>";

  html +=
      "<h2>Controls</h2><table><thead><tr><th>Control</th><th>What it "
      "asks and how the record answers</th><th>Events (count, first "
      "seqs)</th></tr></thead><tbody>";
  for (const Control& c : Controls()) {
    std::string cells;
    for (const char* type : c.types) {
      const auto it = seqs_by_type.find(type);
      const size_t n = it == seqs_by_type.end() ? 0 : it->second.size();
      std::string firsts;
      for (size_t i = 0; i < std::min<size_t>(n, 5); ++i)
        firsts += (i ? ", " : "") + std::to_string(it->second[i]);
      cells += fmt::format("<div><span class=\"m\">{}</span>: {}{}</div>", type,
                           n, n ? " (seq " + firsts + ")" : "");
    }
    html += fmt::format("<tr><td><b>{}</b></td><td>{}</td><td>{}</td></tr>",
                        c.id, c.asks, cells);
  }
  html += "</tbody></table>";

  html += "<h2>Grants in the period</h2>" + GrantsTable(in.events);

  html +=
      "<h2>Refused by policy</h2><table><thead><tr><th>Count</th>"
      "<th>Reason</th></tr></thead><tbody>";
  for (const Json& row : Member(r, "denied"))
    html += fmt::format("<tr><td>{}</td><td>{}</td></tr>", Field(row, "count"),
                        Field(row, "reason"));
  html += "</tbody></table>";

  html +=
      "<h2>Emergency uses</h2><table><thead><tr><th>Time</th><th>Who"
      "</th><th>Entitlement</th><th>Ticket</th><th>Why</th></tr></thead>"
      "<tbody>";
  for (const Json& row : Member(r, "emergencies"))
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        Field(row, "time"), Field(row, "subject"), Field(row, "entitlement"),
        Field(row, "ticket"), Field(row, "justification"));
  html += "</tbody></table>";

  html +=
      "<h2>Standing privileges found by discovery</h2><table><thead><tr>"
      "<th>Connector</th><th>Account</th><th>Privilege</th><th>Held since"
      "</th><th>First seen</th><th>Last action</th></tr></thead><tbody>";
  for (const Json& row : Member(r, "standing_privileges"))
    html += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}"
        "</td></tr>",
        Field(row, "connector"), Field(row, "target_user"),
        Field(row, "privilege"), Field(row, "since"), Field(row, "first_seen"),
        Field(row, "last_action"));
  html += "</tbody></table>";
  html +=
      "<h2>Files in this pack</h2><ul><li><code>audit.jsonl</code>: the "
      "signed export of the period</li><li><code>checkpoints.jsonl"
      "</code>: its signed start, end and the checkpoints inside it</li>"
      "<li><code>audit-pubkey.pem</code>: the key they are checked with"
      "</li><li><code>report.json</code>: the figures above</li></ul>";
  html += "</body></html>\n";
  return html;
}

}  // namespace jit
