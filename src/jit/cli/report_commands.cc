// jit report: the auditors' summary of a period, as tables.

#include <fmt/format.h>

#include <memory>
#include <string>

#include "jit/base/duration.h"
#include "jit/cli/cli_context.h"
#include "jit/cli/json_fields.h"
#include "jit/cli/table.h"

namespace jit {
namespace {

struct ReportArgs {
  std::string from, to;
};

struct ReportGroup : CommandGroup {
  ReportArgs args;
};

std::string Seconds(const Json& spread, const char* key) {
  const std::optional<int64_t> s = JsonInt(spread, key);
  return s ? FormatDuration(std::chrono::seconds(*s)) : "-";
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
        fmt::format("p50 {} ms, p90 {} ms, max {} ms", JsonText(latency, "p50"),
                    JsonText(latency, "p90"), JsonText(latency, "max"))},
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
}

}  // namespace jit
