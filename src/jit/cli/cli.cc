#include "jit/cli/cli.h"

#include <CLI/CLI.hpp>

#include "jit/cli/cli_context.h"

namespace jit {

// login_commands.cc: `jit login`, `jit logout`.
void AddLoginCommands(CLI::App& app, CliContext& ctx);

int RunCli(int argc, const char* const* argv, std::ostream& out,
           std::ostream& err, const CliEnv& env) {
  CliContext ctx(out, err, env);
  CLI::App app("jit: ask for, approve and inspect just-in-time privileges",
               "jit");
  app.require_subcommand(1);
  app.fallthrough();  // global flags also after the subcommand
  ctx.AddGlobalFlags(app);
  AddRequestCommands(app, ctx);
  AddGrantCommands(app, ctx);
  AddAuditCommands(app, ctx);
  AddPolicyCommands(app, ctx);
  AddReportCommands(app, ctx);
  AddLoginCommands(app, ctx);
  AddTokenCommands(app, ctx);
  AddMfaCommands(app, ctx);
  AddBreakglassCommands(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e, out, err);
    return code == 0 ? kExitOk : kExitUsage;
  }
  return ctx.RunChosen();
}

}  // namespace jit
