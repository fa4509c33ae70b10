// jit request, ls, show, approve, deny, cancel.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>

#include "jit/base/duration.h"
#include "jit/cli/cli_context.h"
#include "jit/cli/table.h"
#include "jit/cli/terminal_text.h"
#include "jit/cli/time_text.h"

namespace jit {
namespace {

constexpr Duration kPollInterval = std::chrono::seconds(1);
constexpr size_t kJustificationWidth = 40;

struct RequestArgs {
  std::string entitlement;
  std::string duration;
  std::string reason;
  std::string ticket;
  std::string start_at;
  bool emergency = false;
  bool wait = false;
  std::string wait_timeout = "10m";
  std::string mfa_code;
  std::string code;  // break-glass code: activates at once, no token needed
  std::string as;    // who uses the code
};

struct ListArgs {
  std::string state;
  std::string subject;
  bool all = false;
};

struct DecideArgs {
  std::string id;
  std::string comment;
  std::string mfa_code;
};

struct RequestGroup : CommandGroup {
  RequestArgs request;
  ListArgs list;
  std::string show_id;
  DecideArgs approve;
  DecideArgs deny;
  std::string cancel_id;
};

std::string RequestPath(const std::string& id) {
  return "/v1/requests/" + UrlEncode(id);
}

StatusOr<Json> BuildRequestBody(const RequestArgs& args) {
  StatusOr<Duration> duration = ParseDuration(args.duration);
  if (!duration.ok()) return duration.status().WithContext("--for");
  Json body = {{"entitlement", args.entitlement},
               {"duration", FormatDuration(*duration)},
               {"justification", args.reason}};
  if (!args.ticket.empty()) body["ticket"] = args.ticket;
  if (!args.start_at.empty()) {
    StatusOr<SystemTime> start = ParseTime(args.start_at);
    if (!start.ok()) return start.status().WithContext("--start-at");
    body["start_at"] = FormatTime(*start);
  }
  if (args.emergency) body["emergency"] = true;
  if (!args.mfa_code.empty()) body["mfa_code"] = args.mfa_code;
  return body;
}

// "req_1: active (grant grt_2)" for humans.
std::string StateLine(const Json& request) {
  std::string line = fmt::format("{}: {}", JsonText(request, "id"),
                                 JsonText(request, "state"));
  const std::string grant = JsonText(request, "grant_id");
  if (!grant.empty()) line += fmt::format(" (grant {})", grant);
  return SanitizeForTerminal(line);
}

bool IsWaitingState(const std::string& state) {
  return state == "pending" || state == "approved";
}

// Polls the request until it leaves pending/approved, at most `timeout`
// (counted on the monotonic clock, and in polls as a second bound).
int WaitForRequest(const CliContext& ctx, const ApiClient& api, Json request,
                   Duration timeout) {
  const Clock& clock = ctx.env().clock;
  const MonoTime deadline = clock.MonotonicNow() + timeout;
  const int64_t max_polls = timeout / kPollInterval + 1;
  std::string state = JsonText(request, "state");
  for (int64_t poll = 0; IsWaitingState(state) && poll < max_polls &&
                         clock.MonotonicNow() < deadline;
       ++poll) {
    ctx.env().sleep(kPollInterval);
    StatusOr<Json> now = api.Get(RequestPath(JsonText(request, "id")));
    if (!now.ok()) return ctx.Fail(now.status());
    request = std::move(now).value();
    if (JsonText(request, "state") == state) continue;
    state = JsonText(request, "state");
    if (!ctx.json()) ctx.out() << StateLine(request) << '\n';
  }
  if (ctx.json()) ctx.PrintJson(request);
  if (state == "active") return kExitOk;
  if (IsWaitingState(state)) {
    ctx.err() << SanitizeForTerminal(fmt::format(
                     "error: gave up waiting after {}; {} is still {}",
                     FormatDuration(timeout), JsonText(request, "id"), state))
              << '\n';
  }
  return kExitFailure;
}

// The server wants a second factor that was not given: a refusal that
// says so (policy or approver step-up).
bool NeedsSecondFactor(const Status& s) {
  if (s.reason() == "mfa_required") return true;
  if (s.reason() != "policy_denied") return false;
  return std::any_of(
      s.details().begin(), s.details().end(), [](const std::string& r) {
        return r.find("requires a second factor") != std::string::npos;
      });
}

// Posts `body`; when the answer asks for a second factor and none was
// given, asks at the terminal for a TOTP code and posts once more with it.
StatusOr<Json> PostAskingForCode(const CliContext& ctx, const ApiClient& api,
                                 const std::string& path, Json body) {
  StatusOr<Json> answer = api.Post(path, body);
  if (answer.ok() || !NeedsSecondFactor(answer.status()) ||
      body.contains("mfa_code") || !ctx.env().read_line) {
    return answer;
  }
  std::optional<std::string> code =
      ctx.env().read_line("a second factor is required; TOTP code: ");
  if (!code || code->empty()) return answer;
  body["mfa_code"] = *code;
  return api.Post(path, body);
}

// jit request ENT --emergency --code XXXX: the code authenticates, so this
// works with the identity provider down and no token at hand.
int RunBreakglass(const CliContext& ctx, const ApiClient& api,
                  const RequestArgs& args) {
  if (!args.emergency) {
    return ctx.UsageError(
        InvalidArgumentError("--code is for emergencies: add --emergency"));
  }
  if (!args.start_at.empty() || args.wait || !args.mfa_code.empty()) {
    return ctx.UsageError(InvalidArgumentError(
        "--code activates at once: no --start-at, --wait or --mfa-code"));
  }
  std::string as = args.as;
  if (as.empty()) as = ctx.env().get_env("USER").value_or("");
  if (as.empty()) {
    return ctx.UsageError(
        InvalidArgumentError("say who uses the code with --as NAME"));
  }
  StatusOr<Json> body = BuildRequestBody(args);
  if (!body.ok()) return ctx.UsageError(body.status());
  body->erase("emergency");
  (*body)["code"] = args.code;
  (*body)["subject"] = as;
  StatusOr<Json> created = api.Post("/v1/breakglass/activate", *body);
  if (!created.ok()) return ctx.Fail(created.status());
  if (ctx.json()) {
    ctx.PrintJson(*created);
  } else {
    ctx.out() << StateLine(*created) << '\n';
    ctx.err() << SanitizeForTerminal(fmt::format(
                     "break-glass used as {}: audited, sent to the emergency "
                     "notifiers, and open for review until someone else "
                     "signs it off",
                     as))
              << '\n';
  }
  return JsonText(*created, "state") == "active" ? kExitOk : kExitFailure;
}

int RunRequest(const CliContext& ctx, const ApiClient& api,
               const RequestArgs& args) {
  StatusOr<Json> body = BuildRequestBody(args);
  if (!body.ok()) return ctx.UsageError(body.status());
  StatusOr<Duration> timeout = ParseDuration(args.wait_timeout);
  if (!timeout.ok())
    return ctx.UsageError(timeout.status().WithContext("--wait-timeout"));
  StatusOr<Json> created = PostAskingForCode(ctx, api, "/v1/requests", *body);
  if (!created.ok()) return ctx.Fail(created.status());
  if (!args.wait) {
    if (ctx.json()) {
      ctx.PrintJson(*created);
    } else {
      ctx.out() << StateLine(*created) << '\n';
    }
    return kExitOk;
  }
  if (!ctx.json()) ctx.out() << StateLine(*created) << '\n';
  return WaitForRequest(ctx, api, std::move(created).value(), *timeout);
}

void PrintRequestTable(const CliContext& ctx, const Json& items) {
  Table table({"ID", "SUBJECT", "ENTITLEMENT", "DURATION", "STATE", "CREATED",
               "JUSTIFICATION"});
  table.SetMaxWidth(6, kJustificationWidth);
  for (const Json& r : items) {
    table.AddRow({JsonText(r, "id"), JsonText(r, "subject"),
                  JsonText(r, "entitlement"), JsonText(r, "duration"),
                  JsonText(r, "state"), JsonText(r, "created_at"),
                  JsonText(r, "justification")});
  }
  table.Render(ctx.out());
}

int RunList(const CliContext& ctx, const ApiClient& api, const ListArgs& args) {
  StatusOr<Json> list = FetchList(
      api, "/v1/requests", {{"state", args.state}, {"subject", args.subject}},
      args.all ? Pages::kAll : Pages::kFirst);
  if (!list.ok()) return ctx.Fail(list.status());
  if (ctx.json()) {
    ctx.PrintJson(*list);
  } else {
    PrintRequestTable(ctx, JsonArray(*list, "items"));
  }
  return kExitOk;
}

void PrintApprovals(const CliContext& ctx, const Json& approvals) {
  if (approvals.empty()) return;
  ctx.out() << '\n';
  Table table({"APPROVER", "DECISION", "AT", "COMMENT"});
  for (const Json& a : approvals) {
    table.AddRow({JsonText(a, "approver"), JsonText(a, "decision"),
                  JsonText(a, "at"), JsonText(a, "comment")});
  }
  table.Render(ctx.out());
}

void PrintRequestDetails(const CliContext& ctx, const Json& r) {
  const Json& approvals = JsonArray(r, "approvals");
  RenderKeyValues(
      ctx.out(),
      {{"id", JsonText(r, "id")},
       {"subject", JsonText(r, "subject")},
       {"entitlement", JsonText(r, "entitlement")},
       {"duration", JsonText(r, "duration")},
       {"state", JsonText(r, "state")},
       {"justification", JsonText(r, "justification")},
       {"ticket", JsonText(r, "ticket")},
       {"emergency", JsonBool(r, "emergency") ? "yes" : "no"},
       {"start at", JsonText(r, "start_at")},
       {"policy", JsonText(r, "policy")},
       {"approvals", fmt::format("{} of {} required", approvals.size(),
                                 JsonText(r, "approvals_required"))},
       {"approval deadline", TimeWithRelative(JsonText(r, "approval_deadline"),
                                              ctx.env().clock.Now())},
       {"extends", JsonText(r, "extends")},
       {"grant", JsonText(r, "grant_id")},
       {"created", JsonText(r, "created_at")},
       {"updated", JsonText(r, "updated_at")}});
  PrintApprovals(ctx, approvals);
}

int RunShow(const CliContext& ctx, const ApiClient& api,
            const std::string& id) {
  StatusOr<Json> request = api.Get(RequestPath(id));
  if (!request.ok()) return ctx.Fail(request.status());
  if (ctx.json()) {
    ctx.PrintJson(*request);
  } else {
    PrintRequestDetails(ctx, *request);
  }
  return kExitOk;
}

// POST /v1/requests/{id}/{verb} and print the request it answers.
int RunDecision(const CliContext& ctx, const ApiClient& api,
                const std::string& id, const std::string& verb,
                const std::string& comment, const std::string& mfa_code = "") {
  Json body = Json::object();
  if (!comment.empty()) body["comment"] = comment;
  if (!mfa_code.empty()) body["mfa_code"] = mfa_code;
  StatusOr<Json> request =
      PostAskingForCode(ctx, api, RequestPath(id) + "/" + verb, body);
  if (!request.ok()) return ctx.Fail(request.status());
  if (ctx.json()) {
    ctx.PrintJson(*request);
  } else {
    ctx.out() << StateLine(*request) << '\n';
  }
  return kExitOk;
}

void AddRequest(CLI::App& app, CliContext& ctx, RequestArgs& args) {
  CLI::App* cmd = app.add_subcommand("request", "ask for an entitlement");
  cmd->add_option("ENTITLEMENT", args.entitlement, "what to ask for")
      ->required();
  cmd->add_option("--for", args.duration, "how long, e.g. 30m or 1h30m")
      ->required();
  cmd->add_option("--reason", args.reason, "the task it is for")->required();
  cmd->add_option("--ticket", args.ticket, "change or incident ticket");
  cmd->add_flag("--emergency", args.emergency, "break-glass request");
  cmd->add_option("--code", args.code,
                  "one-time break-glass code: activates at once without "
                  "approval or token (with --emergency)");
  cmd->add_option("--as", args.as,
                  "who uses the break-glass code (default: $USER)");
  cmd->add_option("--start-at", args.start_at, "RFC 3339 start time");
  cmd->add_option("--mfa-code", args.mfa_code,
                  "TOTP code, for policies that require a second factor "
                  "(asked for at the terminal when needed)");
  CLI::Option* wait =
      cmd->add_flag("--wait", args.wait, "wait until active or refused");
  cmd->add_option("--wait-timeout", args.wait_timeout, "give up after (10m)")
      ->needs(wait);
  ctx.OnRun(cmd, [&ctx, &args]() {
    if (!args.code.empty()) {
      return ctx.RunWithApi(
          [&](const ApiClient& api) { return RunBreakglass(ctx, api, args); },
          /*with_token=*/false);
    }
    return ctx.RunWithApi(
        [&](const ApiClient& api) { return RunRequest(ctx, api, args); });
  });
}

void AddList(CLI::App& app, CliContext& ctx, ListArgs& args) {
  CLI::App* cmd = app.add_subcommand("ls", "list requests");
  cmd->add_option("--state", args.state, "only requests in this state");
  cmd->add_option("--subject", args.subject, "only requests of this subject");
  cmd->add_flag("--all", args.all, "follow every page");
  ctx.OnRunWithApi(cmd, [&ctx, &args](const ApiClient& api) {
    return RunList(ctx, api, args);
  });
}

void AddShow(CLI::App& app, CliContext& ctx, std::string& id) {
  CLI::App* cmd = app.add_subcommand("show", "one request with its approvals");
  cmd->add_option("ID", id, "request id")->required();
  ctx.OnRunWithApi(
      cmd, [&ctx, &id](const ApiClient& api) { return RunShow(ctx, api, id); });
}

void AddDecisions(CLI::App& app, CliContext& ctx, RequestGroup& group) {
  CLI::App* approve = app.add_subcommand("approve", "approve a request");
  approve->add_option("ID", group.approve.id, "request id")->required();
  approve->add_option("--comment", group.approve.comment,
                      "note for the record");
  approve->add_option("--mfa-code", group.approve.mfa_code,
                      "TOTP code, where approvers must show a second factor");
  ctx.OnRunWithApi(approve,
                   [&ctx, &args = group.approve](const ApiClient& api) {
                     return RunDecision(ctx, api, args.id, "approve",
                                        args.comment, args.mfa_code);
                   });
  CLI::App* deny = app.add_subcommand("deny", "deny a request");
  deny->add_option("ID", group.deny.id, "request id")->required();
  deny->add_option("--reason", group.deny.comment, "why")->required();
  deny->add_option("--mfa-code", group.deny.mfa_code,
                   "TOTP code, where approvers must show a second factor");
  ctx.OnRunWithApi(deny, [&ctx, &args = group.deny](const ApiClient& api) {
    return RunDecision(ctx, api, args.id, "deny", args.comment, args.mfa_code);
  });
  CLI::App* cancel = app.add_subcommand("cancel", "withdraw your request");
  cancel->add_option("ID", group.cancel_id, "request id")->required();
  ctx.OnRunWithApi(cancel, [&ctx, &id = group.cancel_id](const ApiClient& api) {
    return RunDecision(ctx, api, id, "cancel", "");
  });
}

}  // namespace

void AddRequestCommands(CLI::App& app, CliContext& ctx) {
  RequestGroup& group = ctx.Keep(std::make_unique<RequestGroup>());
  AddRequest(app, ctx, group.request);
  AddList(app, ctx, group.list);
  AddShow(app, ctx, group.show_id);
  AddDecisions(app, ctx, group);
}

}  // namespace jit
