// jit token create, ls, revoke: machine identities (admin only).

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

struct CreateArgs {
  std::string name;
  std::vector<std::string> groups;
  std::string ttl = "30d";
  std::string note;
};

struct TokenGroup : CommandGroup {
  CreateArgs create;
  std::string revoke_name;
};

int RunCreate(const CliContext& ctx, const ApiClient& api,
              const CreateArgs& args) {
  StatusOr<Duration> ttl = ParseDuration(args.ttl);
  if (!ttl.ok()) return ctx.UsageError(ttl.status().WithContext("--ttl"));
  Json groups = Json::array();
  for (const std::string& g : args.groups) groups.push_back(g);
  Json body = {
      {"name", args.name}, {"groups", groups}, {"ttl", FormatDuration(*ttl)}};
  if (!args.note.empty()) body["note"] = args.note;
  StatusOr<Json> created = api.Post("/v1/tokens", body);
  if (!created.ok()) return ctx.Fail(created.status());
  if (ctx.json()) {
    ctx.PrintJson(*created);
    return kExitOk;
  }
  // The token goes alone on stdout, so `$(jit token create ...)` captures
  // it; the rest is for the person at the terminal.
  ctx.out() << JsonText(*created, "token") << '\n';
  ctx.err() << SanitizeForTerminal(fmt::format(
                   "machine token {} created, expires {}; it is shown only "
                   "now: store it in your CI's secret store",
                   JsonText(*created, "name"),
                   JsonText(*created, "expires_at")))
            << '\n';
  return kExitOk;
}

std::string Joined(const Json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const Json& item : list) {
    if (!item.is_string()) continue;
    if (!out.empty()) out += ",";
    out += item.get<std::string>();
  }
  return out;
}

int RunList(const CliContext& ctx, const ApiClient& api) {
  StatusOr<Json> list = FetchList(api, "/v1/tokens", {}, Pages::kAll);
  if (!list.ok()) return ctx.Fail(list.status());
  if (ctx.json()) {
    ctx.PrintJson(*list);
    return kExitOk;
  }
  Table table({"NAME", "GROUPS", "CREATED_BY", "CREATED", "EXPIRES", "STATE"});
  SystemTime now = ctx.env().clock.Now();
  for (const Json& t : JsonArray(*list, "items")) {
    std::string state = "active";
    StatusOr<SystemTime> expires = ParseTime(JsonText(t, "expires_at"));
    if (JsonBool(t, "revoked")) {
      state = "revoked " + JsonText(t, "revoked_at") + " by " +
              JsonText(t, "revoked_by");
    } else if (expires.ok() && *expires <= now) {
      state = "expired";
    }
    table.AddRow({JsonText(t, "name"), Joined(t.value("groups", Json())),
                  JsonText(t, "created_by"), JsonText(t, "created_at"),
                  TimeWithRelative(JsonText(t, "expires_at"), now), state});
  }
  table.Render(ctx.out());
  return kExitOk;
}

int RunRevoke(const CliContext& ctx, const ApiClient& api,
              const std::string& name) {
  StatusOr<Json> revoked = api.Post(
      fmt::format("/v1/tokens/{}/revoke", UrlEncode(name)), Json::object());
  if (!revoked.ok()) return ctx.Fail(revoked.status());
  if (ctx.json()) {
    ctx.PrintJson(*revoked);
    return kExitOk;
  }
  ctx.out() << SanitizeForTerminal(
                   fmt::format("{}: revoked", JsonText(*revoked, "name")))
            << '\n';
  return kExitOk;
}

}  // namespace

void AddTokenCommands(CLI::App& app, CliContext& ctx) {
  TokenGroup& group = ctx.Keep(std::make_unique<TokenGroup>());
  CLI::App* token =
      app.add_subcommand("token", "machine tokens for CI jobs and agents");
  token->require_subcommand(1);

  CLI::App* create =
      token->add_subcommand("create", "issue a token; prints it once");
  create->add_option("--name", group.create.name, "e.g. ci-deploy")->required();
  create->add_option("--groups", group.create.groups, "e.g. ci")
      ->delimiter(',');
  create->add_option("--ttl", group.create.ttl, "lifetime, e.g. 30d (30d)");
  create->add_option("--note", group.create.note, "what it is for");
  ctx.OnRunWithApi(create, [&ctx, &group](const ApiClient& api) {
    return RunCreate(ctx, api, group.create);
  });

  CLI::App* ls = token->add_subcommand("ls", "list machine tokens");
  ctx.OnRunWithApi(ls,
                   [&ctx](const ApiClient& api) { return RunList(ctx, api); });

  CLI::App* revoke =
      token->add_subcommand("revoke", "revoke a token; next use fails");
  revoke->add_option("NAME", group.revoke_name, "token name")->required();
  ctx.OnRunWithApi(revoke, [&ctx, &group](const ApiClient& api) {
    return RunRevoke(ctx, api, group.revoke_name);
  });
}

}  // namespace jit
