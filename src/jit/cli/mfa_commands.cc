// jit mfa enroll, confirm, status, reset: TOTP as a second factor.

#include <fmt/format.h>

#include <memory>
#include <string>

#include "jit/cli/cli_context.h"
#include "jit/cli/qr_text.h"
#include "jit/cli/terminal_text.h"

namespace jit {
namespace {

struct EnrollArgs {
  std::string current_code;  // replaces a confirmed seed
  std::string confirm_code;  // confirms without asking
};

struct MfaGroup : CommandGroup {
  EnrollArgs enroll;
  std::string confirm_code;
  std::string reset_name;
};

int Confirm(const CliContext& ctx, const ApiClient& api,
            const std::string& code) {
  StatusOr<Json> confirmed =
      api.Post("/v1/mfa/totp/confirm", Json{{"code", code}});
  if (!confirmed.ok()) return ctx.Fail(confirmed.status());
  if (ctx.json()) {
    ctx.PrintJson(*confirmed);
    return kExitOk;
  }
  ctx.out() << "TOTP confirmed: policies that require a second factor now "
               "take a code from this app (jit request --mfa-code)\n";
  return kExitOk;
}

void ShowEnrollment(const CliContext& ctx, const Json& enrolled) {
  const std::string uri = JsonText(enrolled, "otpauth_uri");
  StatusOr<std::vector<std::vector<bool>>> modules = QrModules(uri);
  if (modules.ok()) {
    ctx.out() << "Scan this with your authenticator app:\n\n"
              << QrTerminalText(*modules) << '\n';
  }
  // Server text is sanitized; the QR code above is drawn here, not sent.
  ctx.out() << SanitizeForTerminal(
                   fmt::format("or add it by hand: {}\nsecret: {}\n"
                               "confirm by {} or enroll again",
                               uri, JsonText(enrolled, "secret"),
                               JsonText(enrolled, "confirm_by")))
            << '\n';
}

int RunEnroll(const CliContext& ctx, const ApiClient& api,
              const EnrollArgs& args) {
  Json body = Json::object();
  if (!args.current_code.empty()) body["code"] = args.current_code;
  StatusOr<Json> enrolled = api.Post("/v1/mfa/totp", body);
  if (!enrolled.ok()) return ctx.Fail(enrolled.status());
  if (ctx.json()) {
    ctx.PrintJson(*enrolled);
    if (args.confirm_code.empty()) return kExitOk;
    return Confirm(ctx, api, args.confirm_code);
  }
  ShowEnrollment(ctx, *enrolled);
  std::string code = args.confirm_code;
  if (code.empty() && ctx.env().read_line) {
    code = ctx.env().read_line("code shown by the app: ").value_or("");
  }
  if (code.empty()) {
    ctx.out() << "not confirmed yet: run `jit mfa confirm CODE`\n";
    return kExitOk;
  }
  return Confirm(ctx, api, code);
}

int RunStatus(const CliContext& ctx, const ApiClient& api) {
  StatusOr<Json> status = api.Get("/v1/mfa");
  if (!status.ok()) return ctx.Fail(status.status());
  if (ctx.json()) {
    ctx.PrintJson(*status);
    return kExitOk;
  }
  const Json totp = status->value("totp", Json::object());
  std::string line =
      JsonBool(totp, "active")
          ? "TOTP: active since " + JsonText(totp, "active_since")
          : "TOTP: not enrolled";
  if (JsonBool(totp, "pending")) line += " (an enrollment awaits its code)";
  ctx.out() << SanitizeForTerminal(line) << '\n';
  return kExitOk;
}

int RunReset(const CliContext& ctx, const ApiClient& api,
             const std::string& name) {
  StatusOr<Json> reset = api.Post(
      fmt::format("/v1/mfa/totp/{}/reset", UrlEncode(name)), Json::object());
  if (!reset.ok()) return ctx.Fail(reset.status());
  if (ctx.json()) {
    ctx.PrintJson(*reset);
    return kExitOk;
  }
  ctx.out() << SanitizeForTerminal(
                   fmt::format("{}: TOTP removed; they can enroll again", name))
            << '\n';
  return kExitOk;
}

}  // namespace

void AddMfaCommands(CLI::App& app, CliContext& ctx) {
  MfaGroup& group = ctx.Keep(std::make_unique<MfaGroup>());
  CLI::App* mfa = app.add_subcommand("mfa", "second factor (TOTP) for step-up");
  mfa->require_subcommand(1);

  CLI::App* enroll = mfa->add_subcommand(
      "enroll", "make a TOTP seed: shows a QR code, then asks for a code");
  enroll->add_option("--current-code", group.enroll.current_code,
                     "a code of your confirmed seed, to replace it");
  enroll->add_option("--confirm-code", group.enroll.confirm_code,
                     "confirm with this code instead of asking");
  ctx.OnRunWithApi(enroll, [&ctx, &group](const ApiClient& api) {
    return RunEnroll(ctx, api, group.enroll);
  });

  CLI::App* confirm =
      mfa->add_subcommand("confirm", "activate an enrolled seed with a code");
  confirm->add_option("CODE", group.confirm_code, "6 digits")->required();
  ctx.OnRunWithApi(confirm, [&ctx, &group](const ApiClient& api) {
    return Confirm(ctx, api, group.confirm_code);
  });

  CLI::App* status = mfa->add_subcommand("status", "is a TOTP seed active");
  ctx.OnRunWithApi(
      status, [&ctx](const ApiClient& api) { return RunStatus(ctx, api); });

  CLI::App* reset =
      mfa->add_subcommand("reset", "remove a subject's TOTP (admin)");
  reset->add_option("NAME", group.reset_name, "subject")->required();
  ctx.OnRunWithApi(reset, [&ctx, &group](const ApiClient& api) {
    return RunReset(ctx, api, group.reset_name);
  });
}

}  // namespace jit
