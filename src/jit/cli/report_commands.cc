// jit report: the auditors' summary of a period, as tables.

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <utility>

#include "jit/audit/checkpoint.h"
#include "jit/audit/export_verifier.h"
#include "jit/base/duration.h"
#include "jit/cli/cli_context.h"
#include "jit/cli/evidence_pack.h"
#include "jit/cli/json_fields.h"
#include "jit/cli/table.h"
#include "jit/cli/terminal_text.h"

namespace jit {
namespace {

struct ReportArgs {
  std::string from, to;
};

struct EvidenceArgs {
  std::string from, to, out;
};

struct ReportGroup : CommandGroup {
  ReportArgs args;
  EvidenceArgs evidence;
};

std::string Seconds(const Json& spread, const char* key) {
  const std::optional<int64_t> s = JsonInt(spread, key);
  return s ? FormatDuration(std::chrono::seconds(*s)) : "-";
}

// "850 ms" below a second, else a duration ("2h3m").
std::string Millis(const Json& spread, const char* key) {
  const int64_t ms = JsonInt(spread, key).value_or(0);
  if (ms < 1000) return std::to_string(ms) + " ms";
  return FormatDuration(std::chrono::seconds(ms / 1000));
}

void Section(const CliContext& ctx, const std::string& title) {
  ctx.out() << '\n' << title << '\n';
}

void PrintReport(const CliContext& ctx, const Json& r) {
  const Json& requests = r.contains("requests") ? r["requests"] : Json();
  auto count = [&requests](const char* state) {
    return std::to_string(JsonInt(requests, state).value_or(0));
  };
  const Json& approve = r.contains("seconds_to_approve")
                            ? r["seconds_to_approve"]
                            : Json::object();
  const Json& latency =
      r.contains("revoke_latency_ms") ? r["revoke_latency_ms"] : Json::object();
  RenderKeyValues(
      ctx.out(),
      {{"period", JsonText(r, "from") + " .. " + JsonText(r, "to")},
       {"requests",
        fmt::format("{} created, {} approved, {} denied, {} "
                    "refused by policy, {} timed out, {} cancelled",
                    count("created"), count("approved"), count("denied"),
                    count("rejected"), count("timed_out"), count("cancelled"))},
       {"grants",
        fmt::format("{}, {} held in all", JsonText(r, "grants"),
                    FormatDuration(std::chrono::seconds(
                        JsonInt(r, "grant_seconds_total").value_or(0))))},
       {"time to approve",
        fmt::format("p50 {}, p90 {}, max {} ({} approved)",
                    Seconds(approve, "p50"), Seconds(approve, "p90"),
                    Seconds(approve, "max"), JsonText(approve, "count"))},
       {"revoke latency",
        fmt::format("p50 {}, p90 {}, max {}", Millis(latency, "p50"),
                    Millis(latency, "p90"), Millis(latency, "max"))},
       {"emergency uses", JsonText(r, "emergency_uses")},
       {"revoke failures", JsonText(r, "revoke_failures")}});

  Section(ctx, "By entitlement");
  Table ents({"ENTITLEMENT", "REQUESTS", "GRANTS", "REFUSED", "EMERGENCY",
              "HELD", "LONGEST", "LAST PURPOSE"});
  ents.SetMaxWidth(7, 60);
  for (const Json& row : JsonArray(r, "by_entitlement")) {
    const Json& purposes = JsonArray(row, "recent_purposes");
    ents.AddRow({JsonText(row, "entitlement"), JsonText(row, "requests"),
                 JsonText(row, "grants"), JsonText(row, "rejected"),
                 JsonText(row, "emergency"), Seconds(row, "held_seconds_total"),
                 Seconds(row, "held_seconds_max"),
                 purposes.empty() ? "" : purposes.back().get<std::string>()});
  }
  ents.Render(ctx.out());

  Section(ctx, "By user");
  Table users({"SUBJECT", "REQUESTS", "GRANTS", "EMERGENCY", "HELD"});
  for (const Json& row : JsonArray(r, "by_user")) {
    users.AddRow({JsonText(row, "subject"), JsonText(row, "requests"),
                  JsonText(row, "grants"), JsonText(row, "emergency"),
                  Seconds(row, "held_seconds_total")});
  }
  users.Render(ctx.out());

  Section(ctx, "By approver");
  Table approvers({"APPROVER", "APPROVED", "DENIED", "TIME TO DECIDE (P50)"});
  for (const Json& row : JsonArray(r, "by_approver")) {
    approvers.AddRow(
        {JsonText(row, "approver"), JsonText(row, "approvals"),
         JsonText(row, "denials"),
         Seconds(row.contains("seconds_to_decide") ? row["seconds_to_decide"]
                                                   : Json::object(),
                 "p50")});
  }
  approvers.Render(ctx.out());

  Section(ctx, "Refused by policy");
  Table denied({"COUNT", "REASON"});
  for (const Json& row : JsonArray(r, "denied"))
    denied.AddRow({JsonText(row, "count"), JsonText(row, "reason")});
  denied.Render(ctx.out());

  Section(ctx, "Emergency uses");
  Table emergencies({"TIME", "SUBJECT", "ENTITLEMENT", "TICKET", "WHY"});
  emergencies.SetMaxWidth(4, 60);
  for (const Json& row : JsonArray(r, "emergencies")) {
    emergencies.AddRow({JsonText(row, "time"), JsonText(row, "subject"),
                        JsonText(row, "entitlement"), JsonText(row, "ticket"),
                        JsonText(row, "justification")});
  }
  emergencies.Render(ctx.out());

  Section(ctx, "Standing privileges found by discovery");
  Table standing({"CONNECTOR", "ACCOUNT", "PRIVILEGE", "HELD SINCE",
                  "FIRST SEEN", "LAST SEEN", "LAST ACTION"});
  for (const Json& row : JsonArray(r, "standing_privileges")) {
    standing.AddRow({JsonText(row, "connector"), JsonText(row, "target_user"),
                     JsonText(row, "privilege"), JsonText(row, "since"),
                     JsonText(row, "first_seen"), JsonText(row, "last_seen"),
                     JsonText(row, "last_action")});
  }
  standing.Render(ctx.out());
}

int RunReport(const CliContext& ctx, const ApiClient& api,
              const ReportArgs& args) {
  for (const std::string* t : {&args.from, &args.to}) {
    if (t->empty()) continue;
    if (StatusOr<SystemTime> parsed = ParseTime(*t); !parsed.ok())
      return ctx.UsageError(parsed.status());
  }
  StatusOr<Json> r = api.Get(
      WithQuery("/v1/reports/summary", {{"from", args.from}, {"to", args.to}}));
  if (!r.ok()) return ctx.Fail(r.status());
  if (ctx.json()) {
    ctx.PrintJson(*r);
  } else {
    PrintReport(ctx, *r);
  }
  return kExitOk;
}

Status WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return UnavailableError("cannot write " + path.string());
  return OkStatus();
}

// Writes the evidence pack of a period into args.out: the signed export,
// its signatures, the key, the report and a page that presents them; the
// export is verified here, as an auditor would, before the page says so.
int RunEvidence(const CliContext& ctx, const ApiClient& api,
                const EvidenceArgs& args) {
  if (args.out.empty())
    return ctx.UsageError(InvalidArgumentError("--out DIR is required"));
  const SystemTime now = ctx.env().clock.Now();
  std::string from = args.from, to = args.to;
  if (to.empty()) to = FormatTime(now);
  if (from.empty()) from = FormatTime(now - std::chrono::hours(24 * 30));
  for (const std::string* t : {&from, &to}) {
    if (StatusOr<SystemTime> parsed = ParseTime(*t); !parsed.ok())
      return ctx.UsageError(parsed.status());
  }
  const std::filesystem::path dir(args.out);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return ctx.Fail(
        UnavailableError("cannot create " + args.out + ": " + ec.message()));
  }
  StatusOr<std::string> pem = api.GetText("/v1/audit/pubkey");
  if (!pem.ok()) return ctx.Fail(pem.status());
  StatusOr<CheckpointKey> key = CheckpointKey::FromPem(*pem);
  if (!key.ok()) return ctx.Fail(key.status());
  if (Status s = WriteFile(dir / "audit-pubkey.pem", *pem); !s.ok())
    return ctx.Fail(s);
  {
    std::ofstream out(dir / "audit.jsonl", std::ios::binary | std::ios::trunc);
    Status written = WriteSignedExport(api, from, to, out);
    out.close();
    if (!written.ok()) return ctx.Fail(written);
    if (!out) return ctx.Fail(UnavailableError("cannot write audit.jsonl"));
  }
  StatusOr<Json> report =
      api.Get(WithQuery("/v1/reports/summary", {{"from", from}, {"to", to}}));
  if (!report.ok()) return ctx.Fail(report.status());

  EvidenceInput in;
  in.from = from;
  in.to = to;
  in.generated_at = FormatTime(now);
  in.server = api.server();
  in.report = *report;
  in.key_id = key->key_id();
  ExportVerifier verifier(*key);
  std::string signatures;
  std::ifstream exported(dir / "audit.jsonl", std::ios::binary);
  for (std::string line; std::getline(exported, line);) {
    verifier.AddLine(line);
    Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object()) continue;
    if (j.contains("seq")) in.events.push_back(j);
    if (!j.contains("seq") || JsonText(j, "type") == "audit.checkpoint")
      signatures += line + "\n";
  }
  in.verdict = verifier.Finish();
  for (const auto& [name, text] :
       {std::pair<const char*, std::string>{"checkpoints.jsonl", signatures},
        {"report.json", report->dump(2) + "\n"},
        {"index.html", EvidenceHtml(in)}}) {
    if (Status s = WriteFile(dir / name, text); !s.ok()) return ctx.Fail(s);
  }
  ctx.out() << SanitizeForTerminal(fmt::format(
                   "wrote {}: {} events {}, index.html, audit.jsonl, "
                   "checkpoints.jsonl, audit-pubkey.pem, report.json",
                   args.out, in.verdict.events,
                   in.verdict.ok ? "verified"
                                 : "NOT VERIFIED: " + in.verdict.reason))
            << '\n';
  return in.verdict.ok ? kExitOk : kExitFailure;
}

}  // namespace

void AddReportCommands(CLI::App& app, CliContext& ctx) {
  ReportGroup& group = ctx.Keep(std::make_unique<ReportGroup>());
  CLI::App* report = app.add_subcommand(
      "report", "what happened in a period: use, approvals, refusals");
  report->add_option("--from", group.args.from,
                     "start (RFC 3339), default: 30 days ago");
  report->add_option("--to", group.args.to, "end (RFC 3339), default: now");
  ctx.OnRunWithApi(report, [&ctx, &args = group.args](const ApiClient& api) {
    return RunReport(ctx, api, args);
  });
  CLI::App* evidence = report->add_subcommand(
      "evidence",
      "an evidence pack for auditors: HTML page, verified export, signatures");
  evidence->add_option("--from", group.evidence.from,
                       "start (RFC 3339), default: 30 days ago");
  evidence->add_option("--to", group.evidence.to,
                       "end (RFC 3339), default: now");
  evidence->add_option("--out", group.evidence.out, "directory to write")
      ->required();
  ctx.OnRunWithApi(evidence,
                   [&ctx, &args = group.evidence](const ApiClient& api) {
                     return RunEvidence(ctx, api, args);
                   });
}

}  // namespace jit
