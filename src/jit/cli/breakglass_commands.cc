// jit breakglass issue, ls, revoke (one-time emergency codes) and jit review
// ls, signoff (the after-the-fact review of each use).

#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "jit/base/duration.h"
#include "jit/cli/cli_context.h"
#include "jit/cli/table.h"
#include "jit/cli/terminal_text.h"
#include "jit/cli/time_text.h"

namespace jit {
namespace {

struct IssueArgs {
  int count = 10;
  std::string ttl = "365d";
  std::vector<std::string> groups;
  std::string note;
};

struct SignOffArgs {
  std::string id;
  std::string comment;
};

struct BreakglassGroup : CommandGroup {
  IssueArgs issue;
  std::string revoke_id;
  bool all_reviews = false;
  SignOffArgs signoff;
};

int RunIssue(const CliContext& ctx, const ApiClient& api,
             const IssueArgs& args) {
  StatusOr<Duration> ttl = ParseDuration(args.ttl);
  if (!ttl.ok()) return ctx.UsageError(ttl.status().WithContext("--ttl"));
  Json groups = Json::array();
  for (const std::string& g : args.groups) groups.push_back(g);
  Json body = {
      {"count", args.count}, {"ttl", FormatDuration(*ttl)}, {"groups", groups}};
  if (!args.note.empty()) body["note"] = args.note;
  StatusOr<Json> issued = api.Post("/v1/breakglass/codes", body);
  if (!issued.ok()) return ctx.Fail(issued.status());
  if (ctx.json()) {
    ctx.PrintJson(*issued);
    return kExitOk;
  }
  // Codes alone on stdout, one per line, for printing and sealing.
  std::string expires;
  for (const Json& c : JsonArray(*issued, "items")) {
    ctx.out() << SanitizeForTerminal(JsonText(c, "code")) << '\n';
    expires = JsonText(c, "expires_at");
  }
  ctx.err() << SanitizeForTerminal(fmt::format(
                   "{} one-time break-glass codes, valid until {}; they are "
                   "shown only now: print them, seal them in the safe, and "
                   "keep no copy",
                   JsonArray(*issued, "items").size(), expires))
            << '\n';
  return kExitOk;
}

int RunListCodes(const CliContext& ctx, const ApiClient& api) {
  StatusOr<Json> list = FetchList(api, "/v1/breakglass/codes", {}, Pages::kAll);
  if (!list.ok()) return ctx.Fail(list.status());
  if (ctx.json()) {
    ctx.PrintJson(*list);
    return kExitOk;
  }
  Table table({"ID", "STATE", "CREATED_BY", "CREATED", "EXPIRES", "USED_BY",
               "REQUEST", "NOTE"});
  SystemTime now = ctx.env().clock.Now();
  for (const Json& c : JsonArray(*list, "items")) {
    std::string state = JsonText(c, "state");
    table.AddRow({JsonText(c, "id"), state, JsonText(c, "created_by"),
                  JsonText(c, "created_at"),
                  TimeWithRelative(JsonText(c, "expires_at"), now),
                  state == "used" ? JsonText(c, "ended_by") : "",
                  JsonText(c, "request_id"), JsonText(c, "note")});
  }
  table.Render(ctx.out());
  return kExitOk;
}

int RunRevoke(const CliContext& ctx, const ApiClient& api,
              const std::string& id) {
  StatusOr<Json> revoked =
      api.Post(fmt::format("/v1/breakglass/codes/{}/revoke", UrlEncode(id)),
               Json::object());
  if (!revoked.ok()) return ctx.Fail(revoked.status());
  if (ctx.json()) {
    ctx.PrintJson(*revoked);
    return kExitOk;
  }
  ctx.out() << SanitizeForTerminal(
                   fmt::format("{}: revoked", JsonText(*revoked, "id")))
            << '\n';
  return kExitOk;
}

int RunListReviews(const CliContext& ctx, const ApiClient& api, bool all) {
  StatusOr<Json> list = FetchList(
      api, "/v1/reviews", {{"state", all ? "all" : "open"}}, Pages::kAll);
  if (!list.ok()) return ctx.Fail(list.status());
  if (ctx.json()) {
    ctx.PrintJson(*list);
    return kExitOk;
  }
  Table table({"REQUEST", "STATE", "USED_BY", "CODE", "OPENED", "SIGNED_OFF_BY",
               "COMMENT"});
  for (const Json& r : JsonArray(*list, "items")) {
    table.AddRow({JsonText(r, "request_id"), JsonText(r, "state"),
                  JsonText(r, "subject"), JsonText(r, "code_id"),
                  JsonText(r, "opened_at"), JsonText(r, "signed_off_by"),
                  JsonText(r, "comment")});
  }
  table.Render(ctx.out());
  return kExitOk;
}

int RunSignOff(const CliContext& ctx, const ApiClient& api,
               const SignOffArgs& args) {
  StatusOr<Json> done =
      api.Post(fmt::format("/v1/reviews/{}/signoff", UrlEncode(args.id)),
               {{"comment", args.comment}});
  if (!done.ok()) return ctx.Fail(done.status());
  if (ctx.json()) {
    ctx.PrintJson(*done);
    return kExitOk;
  }
  ctx.out() << SanitizeForTerminal(fmt::format(
                   "{}: review signed off by {}", JsonText(*done, "request_id"),
                   JsonText(*done, "signed_off_by")))
            << '\n';
  return kExitOk;
}

}  // namespace

void AddBreakglassCommands(CLI::App& app, CliContext& ctx) {
  BreakglassGroup& group = ctx.Keep(std::make_unique<BreakglassGroup>());
  CLI::App* bg = app.add_subcommand(
      "breakglass", "one-time emergency codes for when the IdP is down");
  bg->require_subcommand(1);

  CLI::App* issue =
      bg->add_subcommand("issue", "issue codes; prints them once (admin)");
  issue->add_option("--count", group.issue.count, "how many (10)")
      ->check(CLI::Range(1, 100));
  issue->add_option("--ttl", group.issue.ttl,
                    "how long they stay valid (365d)");
  issue
      ->add_option("--groups", group.issue.groups,
                   "groups a code vouches for when jitd does not know "
                   "its user")
      ->delimiter(',');
  issue->add_option("--note", group.issue.note, "e.g. where they are kept");
  ctx.OnRunWithApi(issue, [&ctx, &group](const ApiClient& api) {
    return RunIssue(ctx, api, group.issue);
  });

  CLI::App* ls = bg->add_subcommand("ls", "list codes (admin, auditor)");
  ctx.OnRunWithApi(
      ls, [&ctx](const ApiClient& api) { return RunListCodes(ctx, api); });

  CLI::App* revoke = bg->add_subcommand("revoke", "void an unused code");
  revoke->add_option("ID", group.revoke_id, "code id (bgc_...)")->required();
  ctx.OnRunWithApi(revoke, [&ctx, &group](const ApiClient& api) {
    return RunRevoke(ctx, api, group.revoke_id);
  });

  CLI::App* review = app.add_subcommand(
      "review", "after-the-fact reviews of break-glass use (auditor, admin)");
  review->require_subcommand(1);
  CLI::App* rls = review->add_subcommand("ls", "open reviews");
  rls->add_flag("--all", group.all_reviews, "signed off ones too");
  ctx.OnRunWithApi(rls, [&ctx, &group](const ApiClient& api) {
    return RunListReviews(ctx, api, group.all_reviews);
  });
  CLI::App* signoff = review->add_subcommand(
      "signoff", "close a review; never by the person who used the code");
  signoff->add_option("REQUEST", group.signoff.id, "request id")->required();
  signoff->add_option("--comment", group.signoff.comment, "what you checked")
      ->required();
  ctx.OnRunWithApi(signoff, [&ctx, &group](const ApiClient& api) {
    return RunSignOff(ctx, api, group.signoff);
  });
}

}  // namespace jit
