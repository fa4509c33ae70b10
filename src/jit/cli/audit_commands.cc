// jit audit tail, verify, export.

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>

#include "jit/cli/cli_context.h"
#include "jit/cli/terminal_text.h"

namespace jit {
namespace {

constexpr Duration kPollInterval = std::chrono::seconds(1);
constexpr int kPageLimit = 1000;
constexpr int kMaxPages = 1000000;

struct TailArgs {
  int count = 20;
  bool follow = false;
};

struct AuditGroup : CommandGroup {
  TailArgs tail;
  int64_t export_after = 0;
};

using EventSink = std::function<void(const Json& event)>;

// Calls `sink` for every event with seq > `after`, in order, paging with
// after/limit until a page comes back empty. Returns the last seq seen.
StatusOr<int64_t> ReadEvents(const ApiClient& api, int64_t after,
                             const EventSink& sink) {
  for (int page = 0; page < kMaxPages; ++page) {
    StatusOr<Json> body = api.Get(
        WithQuery("/v1/audit", {{"after", std::to_string(after)},
                                {"limit", std::to_string(kPageLimit)}}));
    if (!body.ok()) return body.status();
    const Json& items = JsonArray(*body, "items");
    if (items.empty()) return after;
    for (const Json& event : items) {
      const std::optional<int64_t> seq = JsonInt(event, "seq");
      if (!seq || *seq <= after) {
        return InternalError(
            "GET /v1/audit: events out of order or without seq");
      }
      after = *seq;
      sink(event);
    }
  }
  return InternalError("GET /v1/audit: too many pages");
}

std::string EventLine(const std::string& seq, const std::string& time,
                      const std::string& type, const std::string& actor,
                      const std::string& subject, const std::string& request,
                      const std::string& grant) {
  std::string line =
      fmt::format("{:>6}  {:<24}  {:<22}  {:<12}  {:<12}  {:<36}  {}", seq,
                  time, type, actor, subject, request, grant);
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

void PrintEvent(const CliContext& ctx, const Json& e) {
  if (ctx.json()) {
    WriteJson(ctx.out(), e, /*indent=*/-1);
    return;
  }
  auto field = [&e](std::string_view key) {
    return SanitizeForTerminal(JsonText(e, key));
  };
  ctx.out() << EventLine(field("seq"), field("time"), field("type"),
                         field("actor"), field("subject"), field("request_id"),
                         field("grant_id"))
            << '\n';
}

// The seq after which the last `count` events start: from the event count
// that /v1/audit/verify reports, or 0 (read everything) when it does not.
int64_t TailStart(const ApiClient& api, int count) {
  StatusOr<Json> verify = api.Get("/v1/audit/verify");
  if (!verify.ok()) return 0;
  const std::optional<int64_t> events = JsonInt(*verify, "events");
  if (!events) return 0;
  return std::max<int64_t>(0, *events - count);
}

bool StopRequested(const CliEnv& env) {
  return env.stop_requested && env.stop_requested();
}

// Prints events as they come: SSE from /v1/audit/stream, reconnecting after
// the last seq seen; polling /v1/audit once the stream is not available.
int Follow(const CliContext& ctx, const ApiClient& api, int64_t last_seq) {
  bool use_stream = true;
  while (!StopRequested(ctx.env())) {
    if (!use_stream) {
      StatusOr<int64_t> last = ReadEvents(
          api, last_seq, [&ctx](const Json& e) { PrintEvent(ctx, e); });
      if (!last.ok()) return ctx.Fail(last.status());
      last_seq = *last;
      ctx.env().sleep(kPollInterval);
      continue;
    }
    int received = 0;
    Status streamed = api.Stream(
        WithQuery("/v1/audit/stream", {{"after", std::to_string(last_seq)}}),
        [&](const std::string&, const std::string&, const std::string& data) {
          StatusOr<Json> event = ParseJson(data);
          if (!event.ok()) return true;  // keep-alives and other events
          const std::optional<int64_t> seq = JsonInt(*event, "seq");
          if (!seq || *seq <= last_seq) return true;
          last_seq = *seq;
          ++received;
          PrintEvent(ctx, *event);
          ctx.out().flush();
          return true;
        });
    if (!streamed.ok()) use_stream = false;
    if (streamed.ok() && received == 0) ctx.env().sleep(kPollInterval);
  }
  return kExitOk;
}

int RunTail(const CliContext& ctx, const ApiClient& api, const TailArgs& args) {
  if (args.count < 0) {
    return ctx.UsageError(InvalidArgumentError("-n must not be negative"));
  }
  std::deque<Json> last;
  StatusOr<int64_t> last_seq =
      ReadEvents(api, TailStart(api, args.count), [&](const Json& e) {
        last.push_back(e);
        if (last.size() > static_cast<size_t>(args.count)) last.pop_front();
      });
  if (!last_seq.ok()) return ctx.Fail(last_seq.status());
  if (!ctx.json()) {
    ctx.out() << EventLine("SEQ", "TIME", "TYPE", "ACTOR", "SUBJECT", "REQUEST",
                           "GRANT")
              << '\n';
  }
  for (const Json& e : last) PrintEvent(ctx, e);
  if (!args.follow) return kExitOk;
  ctx.out().flush();
  return Follow(ctx, api, *last_seq);
}

int RunVerify(const CliContext& ctx, const ApiClient& api) {
  StatusOr<Json> verify = api.Get("/v1/audit/verify");
  if (!verify.ok()) return ctx.Fail(verify.status());
  const bool ok = JsonBool(*verify, "ok");
  if (ctx.json()) {
    ctx.PrintJson(*verify);
  } else if (ok) {
    ctx.out() << SanitizeForTerminal(fmt::format("ok: {} events, head {}",
                                                 JsonText(*verify, "events"),
                                                 JsonText(*verify, "head")))
              << '\n';
  } else {
    ctx.out() << SanitizeForTerminal(fmt::format(
                     "BROKEN at seq {}: {}", JsonText(*verify, "first_bad_seq"),
                     JsonText(*verify, "reason")))
              << '\n';
  }
  return ok ? kExitOk : kExitFailure;
}

int RunExport(const CliContext& ctx, const ApiClient& api, int64_t after) {
  StatusOr<int64_t> last = ReadEvents(api, after, [&ctx](const Json& e) {
    WriteJson(ctx.out(), e, /*indent=*/-1);
  });
  if (!last.ok()) return ctx.Fail(last.status());
  return kExitOk;
}

}  // namespace

void AddAuditCommands(CLI::App& app, CliContext& ctx) {
  AuditGroup& group = ctx.Keep(std::make_unique<AuditGroup>());
  CLI::App* audit = app.add_subcommand("audit", "read and check the audit log");
  audit->require_subcommand(1);

  CLI::App* tail = audit->add_subcommand("tail", "the last events");
  tail->add_option("-n", group.tail.count, "how many (20)");
  tail->add_flag("-f,--follow", group.tail.follow, "keep printing new events");
  ctx.OnRunWithApi(tail, [&ctx, &args = group.tail](const ApiClient& api) {
    return RunTail(ctx, api, args);
  });

  CLI::App* verify = audit->add_subcommand(
      "verify", "check the hash chain; exit 0 intact, 1 broken");
  ctx.OnRunWithApi(
      verify, [&ctx](const ApiClient& api) { return RunVerify(ctx, api); });

  CLI::App* out = audit->add_subcommand("export", "all events as JSON Lines");
  out->add_option("--after", group.export_after, "start after this seq");
  ctx.OnRunWithApi(out,
                   [&ctx, &after = group.export_after](const ApiClient& api) {
                     return RunExport(ctx, api, after);
                   });
}

}  // namespace jit
