// jit grants, revoke, done, extend, check, ssh-cert, ssh, entitlements.

#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "jit/base/duration.h"
#include "jit/cli/cli_context.h"
#include "jit/cli/table.h"
#include "jit/cli/terminal_text.h"
#include "jit/cli/time_text.h"

namespace jit {
namespace {

constexpr char kTaskDoneReason[] = "task done";
constexpr char kDefaultRevokeReason[] = "revoked with jit revoke";

struct GrantsArgs {
  std::string subject;
  bool active = false;
};

struct RevokeArgs {
  std::string id;
  std::string reason = kDefaultRevokeReason;
};

struct ExtendArgs {
  std::string id;
  std::string duration;
  std::string reason;
};

struct CheckArgs {
  std::string subject;
  std::string entitlement;
};

struct SshCertArgs {
  std::string id;
  std::string public_key_path;
  std::string source_address;  // CIDR list for the certificate; empty: none
};

struct SshArgs {
  std::string entitlement;
  std::string public_key_path;
  std::string source_address;
};

struct GrantGroup : CommandGroup {
  GrantsArgs grants;
  RevokeArgs revoke;
  std::string done_id;
  ExtendArgs extend;
  CheckArgs check;
  SshCertArgs ssh_cert;
  SshArgs ssh;
};

std::string GrantPath(const std::string& id, const std::string& verb) {
  return fmt::format("/v1/grants/{}/{}", UrlEncode(id), verb);
}

// Prints the answer as JSON or through `human`, then returns kExitOk.
template <typename HumanPrinter>
int PrintAnswer(const CliContext& ctx, const Json& answer, HumanPrinter human) {
  if (ctx.json()) {
    ctx.PrintJson(answer);
  } else {
    human(answer);
  }
  return kExitOk;
}

int RunGrants(const CliContext& ctx, const ApiClient& api,
              const GrantsArgs& args) {
  StatusOr<Json> list = FetchList(
      api, "/v1/grants",
      {{"subject", args.subject}, {"active", args.active ? "true" : ""}},
      Pages::kFirst);
  if (!list.ok()) return ctx.Fail(list.status());
  return PrintAnswer(ctx, *list, [&ctx](const Json& body) {
    Table table(
        {"ID", "SUBJECT", "ENTITLEMENT", "STATE", "EXPIRES", "ENDED_REASON"});
    for (const Json& g : JsonArray(body, "items")) {
      // "in 5m" only while the grant is in force: an ended grant's
      // remaining time would mislead. "3m ago" is always true.
      std::string expires = JsonText(g, "expires_at");
      StatusOr<SystemTime> at = ParseTime(expires);
      bool in_force = JsonText(g, "state") == "active";
      bool past = at.ok() && *at <= ctx.env().clock.Now();
      table.AddRow({JsonText(g, "id"), JsonText(g, "subject"),
                    JsonText(g, "entitlement"), JsonText(g, "state"),
                    in_force || past
                        ? TimeWithRelative(expires, ctx.env().clock.Now())
                        : expires,
                    JsonText(g, "ended_reason")});
    }
    table.Render(ctx.out());
  });
}

int RunRevoke(const CliContext& ctx, const ApiClient& api,
              const std::string& id, const std::string& reason) {
  StatusOr<Json> grant =
      api.Post(GrantPath(id, "revoke"), {{"reason", reason}});
  if (!grant.ok()) return ctx.Fail(grant.status());
  return PrintAnswer(ctx, *grant, [&ctx](const Json& g) {
    std::string line =
        fmt::format("{}: {}", JsonText(g, "id"), JsonText(g, "state"));
    const std::string ended = JsonText(g, "ended_reason");
    if (!ended.empty()) line += fmt::format(" ({})", ended);
    ctx.out() << SanitizeForTerminal(line) << '\n';
  });
}

int RunExtend(const CliContext& ctx, const ApiClient& api,
              const ExtendArgs& args) {
  StatusOr<Duration> duration = ParseDuration(args.duration);
  if (!duration.ok())
    return ctx.UsageError(duration.status().WithContext("--for"));
  StatusOr<Json> request = api.Post(GrantPath(args.id, "extend"),
                                    {{"duration", FormatDuration(*duration)},
                                     {"justification", args.reason}});
  if (!request.ok()) return ctx.Fail(request.status());
  return PrintAnswer(ctx, *request, [&ctx](const Json& r) {
    ctx.out() << SanitizeForTerminal(
                     fmt::format("{}: {} (extends {})", JsonText(r, "id"),
                                 JsonText(r, "state"), JsonText(r, "extends")))
              << '\n';
  });
}

int RunCheck(const CliContext& ctx, const ApiClient& api,
             const CheckArgs& args) {
  StatusOr<Json> answer =
      api.Post("/v1/check",
               {{"subject", args.subject}, {"entitlement", args.entitlement}});
  if (!answer.ok()) return ctx.Fail(answer.status());
  const bool allowed = JsonBool(*answer, "allowed");
  PrintAnswer(ctx, *answer, [&ctx, allowed](const Json& a) {
    if (!allowed) {
      ctx.out() << "denied\n";
      return;
    }
    ctx.out() << SanitizeForTerminal(fmt::format(
                     "allowed (grant {}, expires {})", JsonText(a, "grant_id"),
                     TimeWithRelative(JsonText(a, "expires_at"),
                                      ctx.env().clock.Now())))
              << '\n';
  });
  return allowed ? kExitOk : kExitFailure;
}

Status WriteTextFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  if (!text.empty() && text.back() != '\n') out << '\n';
  out.close();
  if (!out) return UnavailableError(fmt::format("cannot write {}", path));
  return OkStatus();
}

// "id_ed25519.pub" -> "id_ed25519-cert.pub", as ssh(1) looks for it.
std::string CertificatePath(const std::string& public_key_path) {
  constexpr std::string_view kPub = ".pub";
  std::string base = public_key_path;
  if (base.size() > kPub.size() && base.ends_with(kPub)) {
    base.resize(base.size() - kPub.size());
  }
  return base + "-cert.pub";
}

int RunSshCert(const CliContext& ctx, const ApiClient& api,
               const SshCertArgs& args) {
  StatusOr<std::string> key = ReadTextFile(args.public_key_path);
  if (!key.ok()) return ctx.UsageError(key.status());
  Json body = {{"public_key", *key}};
  if (!args.source_address.empty()) {
    body["source_address"] = args.source_address;
  }
  StatusOr<Json> answer = api.Post(GrantPath(args.id, "ssh-cert"), body);
  if (!answer.ok()) return ctx.Fail(answer.status());
  const std::string certificate = JsonText(*answer, "certificate");
  if (certificate.empty()) {
    return ctx.Fail(InternalError("the server answered without a certificate"));
  }
  const std::string path = CertificatePath(args.public_key_path);
  if (Status written = WriteTextFile(path, certificate); !written.ok()) {
    return ctx.Fail(written);
  }
  return PrintAnswer(ctx, *answer, [&ctx, &path](const Json&) {
    ctx.out() << "wrote " << SanitizeForTerminal(path) << '\n';
  });
}

// `jit ssh ENTITLEMENT`: the certificate for the caller's own active grant
// of ENTITLEMENT (the one that lasts longest), for ~/.ssh/id_ed25519.pub
// unless --public-key names another key. An admin or auditor sees everyone's
// grants, so the list is narrowed to the caller's subject.
int RunSsh(const CliContext& ctx, const ApiClient& api, const SshArgs& args) {
  StatusOr<Json> me = api.Get("/v1/whoami");
  if (!me.ok()) return ctx.Fail(me.status());
  const std::string subject = JsonText(*me, "subject");
  if (subject.empty()) {
    return ctx.Fail(InternalError("the server did not say who you are"));
  }
  StatusOr<Json> list =
      FetchList(api, "/v1/grants", {{"active", "true"}, {"subject", subject}},
                Pages::kAll);
  if (!list.ok()) return ctx.Fail(list.status());
  std::string grant_id;
  std::string latest;
  for (const Json& g : JsonArray(*list, "items")) {
    if (JsonText(g, "subject") != subject ||
        JsonText(g, "entitlement") != args.entitlement ||
        JsonText(g, "state") != "active") {
      continue;
    }
    // RFC 3339 UTC with a fixed shape: text order is time order.
    if (grant_id.empty() || JsonText(g, "expires_at") > latest) {
      grant_id = JsonText(g, "id");
      latest = JsonText(g, "expires_at");
    }
  }
  if (grant_id.empty()) {
    return ctx.Fail(NotFoundError(
        "you hold no active grant of " + args.entitlement +
        "; ask with: jit request " + args.entitlement + " --for … --reason …"));
  }
  SshCertArgs cert{grant_id, args.public_key_path, args.source_address};
  if (cert.public_key_path.empty()) {
    if (ctx.env().home_dir.empty()) {
      return ctx.UsageError(
          InvalidArgumentError("no home directory: give --public-key FILE"));
    }
    cert.public_key_path = ctx.env().home_dir + "/.ssh/id_ed25519.pub";
  }
  return RunSshCert(ctx, api, cert);
}

std::string ApprovalText(const Json& e) {
  if (JsonBool(e, "auto_approve")) return "auto";
  return fmt::format("{} approver(s)", JsonText(e, "approvals_required"));
}

std::string EmergencyText(const Json& e) {
  if (!JsonBool(e, "emergency_allowed")) return "no";
  const std::string max = JsonText(e, "emergency_max_duration");
  return max.empty() ? "yes" : fmt::format("yes (max {})", max);
}

int RunEntitlements(const CliContext& ctx, const ApiClient& api) {
  StatusOr<Json> list = FetchList(api, "/v1/entitlements", {}, Pages::kFirst);
  if (!list.ok()) return ctx.Fail(list.status());
  return PrintAnswer(ctx, *list, [&ctx](const Json& body) {
    Table table({"ENTITLEMENT", "MAX_DURATION", "APPROVAL", "EMERGENCY",
                 "DESCRIPTION"});
    for (const Json& e : JsonArray(body, "items")) {
      std::string name = JsonText(e, "entitlement");
      if (name.empty()) name = JsonText(e, "name");
      table.AddRow({name, JsonText(e, "max_duration"), ApprovalText(e),
                    EmergencyText(e), JsonText(e, "description")});
    }
    table.Render(ctx.out());
  });
}

void AddGrantList(CLI::App& app, CliContext& ctx, GrantsArgs& args) {
  CLI::App* cmd = app.add_subcommand("grants", "list grants");
  cmd->add_option("--subject", args.subject, "only grants of this subject");
  cmd->add_flag("--active", args.active, "only grants in force");
  ctx.OnRunWithApi(cmd, [&ctx, &args](const ApiClient& api) {
    return RunGrants(ctx, api, args);
  });
}

void AddRevokes(CLI::App& app, CliContext& ctx, GrantGroup& group) {
  CLI::App* revoke = app.add_subcommand("revoke", "end a grant now");
  revoke->add_option("GRANT_ID", group.revoke.id, "grant id")->required();
  revoke->add_option("--reason", group.revoke.reason, "why");
  ctx.OnRunWithApi(revoke, [&ctx, &args = group.revoke](const ApiClient& api) {
    return RunRevoke(ctx, api, args.id, args.reason);
  });
  CLI::App* done =
      app.add_subcommand("done", "end your grant: the task is finished");
  done->add_option("GRANT_ID", group.done_id, "grant id")->required();
  ctx.OnRunWithApi(done, [&ctx, &id = group.done_id](const ApiClient& api) {
    return RunRevoke(ctx, api, id, kTaskDoneReason);
  });
}

void AddExtend(CLI::App& app, CliContext& ctx, ExtendArgs& args) {
  CLI::App* cmd = app.add_subcommand("extend", "ask for more time on a grant");
  cmd->add_option("GRANT_ID", args.id, "grant id")->required();
  cmd->add_option("--for", args.duration, "how much longer, e.g. 15m")
      ->required();
  cmd->add_option("--reason", args.reason, "why")->required();
  ctx.OnRunWithApi(cmd, [&ctx, &args](const ApiClient& api) {
    return RunExtend(ctx, api, args);
  });
}

void AddCheck(CLI::App& app, CliContext& ctx, CheckArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "check", "is SUBJECT allowed ENTITLEMENT now? exit 0 yes, 1 no");
  cmd->add_option("SUBJECT", args.subject, "who")->required();
  cmd->add_option("ENTITLEMENT", args.entitlement, "what")->required();
  ctx.OnRunWithApi(cmd, [&ctx, &args](const ApiClient& api) {
    return RunCheck(ctx, api, args);
  });
}

void AddSshCert(CLI::App& app, CliContext& ctx, SshCertArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "ssh-cert", "get an SSH certificate for a grant; writes KEY-cert.pub");
  cmd->add_option("GRANT_ID", args.id, "grant id")->required();
  cmd->add_option("--public-key", args.public_key_path,
                  "e.g. ~/.ssh/id_ed25519.pub")
      ->required();
  cmd->add_option("--source-address", args.source_address,
                  "addresses the certificate may be used from (CIDR list)");
  ctx.OnRunWithApi(cmd, [&ctx, &args](const ApiClient& api) {
    return RunSshCert(ctx, api, args);
  });
}

void AddSsh(CLI::App& app, CliContext& ctx, SshArgs& args) {
  CLI::App* cmd = app.add_subcommand(
      "ssh",
      "get an SSH certificate for your active grant of ENTITLEMENT; writes "
      "KEY-cert.pub");
  cmd->add_option("ENTITLEMENT", args.entitlement, "entitlement")->required();
  cmd->add_option("--public-key", args.public_key_path,
                  "default ~/.ssh/id_ed25519.pub");
  cmd->add_option("--source-address", args.source_address,
                  "addresses the certificate may be used from (CIDR list)");
  ctx.OnRunWithApi(cmd, [&ctx, &args](const ApiClient& api) {
    return RunSsh(ctx, api, args);
  });
}

}  // namespace

void AddGrantCommands(CLI::App& app, CliContext& ctx) {
  GrantGroup& group = ctx.Keep(std::make_unique<GrantGroup>());
  AddGrantList(app, ctx, group.grants);
  AddRevokes(app, ctx, group);
  AddExtend(app, ctx, group.extend);
  AddCheck(app, ctx, group.check);
  AddSshCert(app, ctx, group.ssh_cert);
  AddSsh(app, ctx, group.ssh);
  CLI::App* entitlements =
      app.add_subcommand("entitlements", "what you may request, with limits");
  ctx.OnRunWithApi(entitlements, [&ctx](const ApiClient& api) {
    return RunEntitlements(ctx, api);
  });
}

}  // namespace jit
