// jit login, jit logout: single sign-on with the company's OpenID provider
// (docs/identity.md "jit login"). The token goes to ~/.config/jit/login.json
// (mode 0600) and is never printed.

#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "jit/base/duration.h"
#include "jit/base/status_macros.h"
#include "jit/cli/cli_context.h"
#include "jit/cli/oidc_login.h"
#include "jit/cli/terminal_text.h"

extern char** environ;

namespace jit {
namespace {

struct LoginArgs {
  std::string issuer;
  std::string client_id;
  std::string ca_file;
  std::string scope = "openid";
  std::string resource;
  std::string timeout = "5m";
  bool device = false;
  bool no_browser = false;
};

struct LoginGroup : CommandGroup {
  LoginArgs login;
};

// Starts `xdg-open URL` in the background when it is on PATH; false when it
// is not (the URL is printed either way).
bool OpenBrowser(const std::string& url) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  std::string program = "xdg-open";
  std::string arg = url;
  char* argv[] = {program.data(), arg.data(), nullptr};
  pid_t pid = -1;
  const int rc =
      posix_spawnp(&pid, "xdg-open", &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0;
}

// Flags win; what is missing comes from the previous login, if any.
StatusOr<LoginSettings> Settings(const CliContext& ctx, const LoginArgs& a) {
  LoginSettings s{a.issuer, a.client_id, a.ca_file, a.scope, a.resource};
  if (!ctx.env().home_dir.empty() &&
      (s.issuer.empty() || s.client_id.empty())) {
    StatusOr<std::optional<StoredLogin>> previous =
        LoadLogin(LoginFilePath(ctx.env().home_dir));
    if (previous.ok() && *previous) {
      const LoginSettings& p = (*previous)->settings;
      if (s.issuer.empty()) s.issuer = p.issuer;
      if (s.client_id.empty()) s.client_id = p.client_id;
      if (s.ca_file.empty()) s.ca_file = p.ca_file;
      if (s.resource.empty()) s.resource = p.resource;
    }
  }
  if (s.issuer.empty() || s.client_id.empty())
    return InvalidArgumentError(
        "jit login needs --issuer URL and --client-id ID (remembered after "
        "the first login)");
  return s;
}

StatusOr<TokenSet> BrowserLogin(const CliContext& ctx, const LoginArgs& args,
                                const LoginSettings& settings,
                                const OidcEndpoints& endpoints) {
  StatusOr<Duration> limit = ParseDuration(args.timeout);
  if (!limit.ok()) return limit.status().WithContext("--timeout");
  JIT_ASSIGN_OR_RETURN(Pkce pkce, NewPkce());
  JIT_ASSIGN_OR_RETURN(std::string state, RandomUrlSafeToken());
  JIT_ASSIGN_OR_RETURN(std::unique_ptr<LoopbackReceiver> receiver,
                       LoopbackReceiver::Listen());
  const std::string url = AuthorizationUrl(
      endpoints, settings, receiver->redirect_uri(), state, pkce.challenge);
  const bool opened = !args.no_browser && OpenBrowser(url);
  ctx.out() << (opened ? "Your browser was opened; if not, open this URL:\n"
                       : "Open this URL in your browser to log in:\n")
            << "  " << SanitizeForTerminal(url) << '\n'
            << "Waiting for the login (at most " << FormatDuration(*limit)
            << ")...\n"
            << std::flush;
  JIT_ASSIGN_OR_RETURN(std::string code, receiver->WaitForCode(state, *limit));
  return ExchangeCode(settings, endpoints, code, receiver->redirect_uri(),
                      pkce.verifier, ctx.env().clock.Now());
}

StatusOr<TokenSet> DeviceLogin(const CliContext& ctx,
                               const LoginSettings& settings,
                               const OidcEndpoints& endpoints) {
  JIT_ASSIGN_OR_RETURN(DeviceAuthorization device,
                       StartDeviceAuthorization(settings, endpoints));
  const std::string& uri = device.verification_uri_complete.empty()
                               ? device.verification_uri
                               : device.verification_uri_complete;
  ctx.out() << "On any device, open:\n  " << SanitizeForTerminal(uri) << '\n'
            << "and confirm the code " << SanitizeForTerminal(device.user_code)
            << '\n'
            << "Waiting for the confirmation (at most "
            << FormatDuration(device.expires_in) << ")...\n"
            << std::flush;
  return PollDeviceToken(settings, endpoints, device, ctx.env());
}

int RunLogin(const CliContext& ctx, const LoginArgs& args) {
  if (ctx.env().home_dir.empty())
    return ctx.UsageError(
        InvalidArgumentError("no home directory to keep the login in"));
  StatusOr<LoginSettings> settings = Settings(ctx, args);
  if (!settings.ok()) return ctx.UsageError(settings.status());
  StatusOr<OidcEndpoints> endpoints = Discover(*settings);
  if (!endpoints.ok()) return ctx.Fail(endpoints.status());
  StatusOr<TokenSet> tokens =
      args.device ? DeviceLogin(ctx, *settings, *endpoints)
                  : BrowserLogin(ctx, args, *settings, *endpoints);
  if (!tokens.ok()) return ctx.Fail(tokens.status());
  const std::filesystem::path path = LoginFilePath(ctx.env().home_dir);
  Status saved = SaveLogin(
      path,
      StoredLogin{*settings, endpoints->token_endpoint, std::move(*tokens)});
  if (!saved.ok()) return ctx.Fail(saved);
  ctx.out() << "Logged in to " << SanitizeForTerminal(settings->issuer)
            << "; the token is kept in " << SanitizeForTerminal(path.string())
            << '\n';
  return kExitOk;
}

int RunLogout(const CliContext& ctx) {
  if (ctx.env().home_dir.empty()) return kExitOk;
  const std::filesystem::path path = LoginFilePath(ctx.env().home_dir);
  std::error_code ec;
  const bool removed = std::filesystem::remove(path, ec);
  if (ec)
    return ctx.Fail(UnavailableError("cannot remove " + path.string() + ": " +
                                     ec.message()));
  ctx.out() << (removed ? "Logged out.\n" : "Not logged in.\n");
  return kExitOk;
}

}  // namespace

void AddLoginCommands(CLI::App& app, CliContext& ctx) {
  LoginGroup& group = ctx.Keep(std::make_unique<LoginGroup>());
  LoginArgs& a = group.login;
  CLI::App* login = app.add_subcommand(
      "login", "log in with the OpenID provider (authorization code + PKCE)");
  login->add_option("--issuer", a.issuer, "OpenID provider issuer URL");
  login->add_option("--client-id", a.client_id,
                    "the public client registered for jit");
  login->add_option("--ca-file", a.ca_file,
                    "PEM CA file for the provider (default: system store)");
  login->add_option("--scope", a.scope, "scopes to ask for")
      ->capture_default_str();
  login->add_option("--resource", a.resource,
                    "resource indicator (RFC 8707) naming jitd at the IdP");
  login->add_option("--timeout", a.timeout, "how long to wait for the browser")
      ->capture_default_str();
  login->add_flag("--device", a.device,
                  "device code flow: confirm on another device");
  login->add_flag("--no-browser", a.no_browser,
                  "only print the URL, do not start a browser");
  ctx.OnRun(login, [&ctx, &a] { return RunLogin(ctx, a); });

  CLI::App* logout =
      app.add_subcommand("logout", "forget the token of `jit login`");
  ctx.OnRun(logout, [&ctx] { return RunLogout(ctx); });
}

}  // namespace jit
